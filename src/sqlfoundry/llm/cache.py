"""The persistent response cache shared by every run on the machine.

One SQLite file in WAL mode: readers never block, several processes can write
at once (SQLite serialises the short write transactions, ``busy_timeout`` waits
out the others), and a crash mid-write leaves no half-written entry.

An entry is keyed by a hash of the normalised request plus the sample index, so
the n samples of one prompt are n entries: asking for 5 samples where 3 are
cached sends a request for the other 2 only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError

log = logging.getLogger(__name__)

CACHE_FILE = "llm_responses.sqlite3"
# Part of every key: bump when the stored value's shape changes.
KEY_VERSION = 1
# Buffered writes are committed once this many rows wait, or this long after the last commit.
FLUSH_ROWS = 256
FLUSH_SECONDS = 1.0


def request_key(payload: Mapping[str, Any]) -> str:
    """A stable hash of a request: key order, whitespace and float repr do not matter."""
    text = json.dumps(
        {"v": KEY_VERSION, **payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Cached values (JSON-able dicts) by (key, sample index).

    Args:
        directory: the cache folder; created when writable.
        mode: ``on`` reads and writes, ``read-only`` never writes, ``off`` does nothing.
    """

    def __init__(self, directory: str | Path, mode: str = "on") -> None:
        if mode not in ("on", "read-only", "off"):
            raise ConfigError(f"unknown cache mode {mode!r}", hint="use on, read-only or off")
        self.mode = mode
        self.directory = Path(directory)
        self.path = self.directory / CACHE_FILE
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[str, int, str, float]] = []
        self._flushed_at = time.time()
        if mode == "off":
            return
        if mode == "read-only":
            if self.path.exists():
                self._conn = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, timeout=30, check_same_thread=False
                )
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT NOT NULL, idx INTEGER NOT NULL, value TEXT NOT NULL,"
                " created REAL NOT NULL, PRIMARY KEY (key, idx)) WITHOUT ROWID"
            )
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(
                f"cannot open the LLM cache at {self.path}: {err}",
                hint="pick another folder with --cache-dir or SQLFOUNDRY_CACHE_DIR, "
                "or switch the cache off",
            ) from err
        self._conn = conn

    @property
    def readable(self) -> bool:
        """Whether answers are looked up (the cache is open)."""
        return self._conn is not None

    @property
    def writable(self) -> bool:
        """Whether new answers are stored (open, and the mode is ``on``)."""
        return self._conn is not None and self.mode == "on"

    def get(self, key: str, indices: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The cached values among ``indices``; missing ones are absent from the result."""
        if self._conn is None:
            return {}
        wanted = list(indices)
        if not wanted:
            return {}
        out: dict[int, dict[str, Any]] = {}
        marks = ",".join("?" * len(wanted))
        try:
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT idx, value FROM responses WHERE key = ? AND idx IN ({marks})",
                    (key, *wanted),
                ).fetchall()
                # Written by this process but not flushed yet.
                rows += [(idx, value) for (k, idx, value, _) in self._pending if k == key]
        except sqlite3.Error as err:
            # A damaged or locked cache must not stop the run: treat it as a miss.
            log.warning("LLM cache read failed (%s); treating as a miss", err)
            return {}
        for idx, value in rows:
            if idx not in wanted:
                continue
            try:
                out[idx] = json.loads(value)
            except json.JSONDecodeError:
                continue
        return out

    def put(self, key: str, values: Mapping[int, Mapping[str, Any]]) -> None:
        """Store values by sample index; a no-op unless mode is ``on``.

        Writes are buffered and committed together (up to ``FLUSH_ROWS`` rows or
        ``FLUSH_SECONDS``), because one commit per answer costs more CPU than the
        HTTP request itself at a fast endpoint. ``flush()`` and ``close()`` commit
        the rest; a crash loses at most that buffer, which is only re-asked.
        """
        if not self.writable or not values:
            return
        now = time.time()
        with self._lock:
            self._pending.extend(
                (key, idx, json.dumps(value, ensure_ascii=False, separators=(",", ":")), now)
                for idx, value in values.items()
            )
            due = len(self._pending) >= FLUSH_ROWS or now - self._flushed_at >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        """Commit buffered writes in one transaction."""
        with self._lock:
            rows, self._pending = self._pending, []
            self._flushed_at = time.time()
            if not rows or self._conn is None:
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(
                        "INSERT OR REPLACE INTO responses (key, idx, value, created)"
                        " VALUES (?, ?, ?, ?)",
                        rows,
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                log.warning(
                    "LLM cache write failed (%s); %d answers used but not cached", err, len(rows)
                )

    def __len__(self) -> int:
        if self._conn is None:
            return 0
        self.flush()
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        """Close the cache database."""
        self.flush()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
