"""Perturbed copies of a SQLite database, for telling equivalent queries from lucky ones.

Two queries that return the same rows on one database may still differ: they
can agree only because a table is empty, a value never occurs or a join never
fans out there. In the spirit of test-suite-sql-eval's distilled databases, a
rewrite is trusted only when it also agrees on copies of the database whose
data was changed while its constraints were kept:

* about a quarter of each table's rows removed, then the rows referencing a
  removed row removed too (declared foreign keys keep holding);
* in about a third of the remaining rows, non-key numbers moved and non-key
  text values swapped between rows; a nullable column set to NULL here and there.

Keys (primary, foreign and unique columns) are never changed, so a rewrite
that relies on them (``COUNT(*)`` vs ``COUNT(pk)``, IN vs a join on a key)
stays equivalent. Copies are made with SQLite's backup API into a private
temporary folder, once per database, and removed when the object is closed or
collected; the user's database is only read. Server databases (PostgreSQL,
MySQL) get no copies: a copy needs write access on the server, which sqlfoundry
never asks for, so their variants are checked on the database itself only.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlfoundry.db.base import DatabaseSpec, ExecResult

log = logging.getLogger(__name__)

REMOVE_SHARE = 0.25
CHANGE_SHARE = 0.33
NULL_SHARE = 0.1


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PerturbedCopies:
    """Perturbed copies of SQLite databases, made on first use and kept for the run.

    Args:
        copies: how many perturbed copies per database.
        seed: the random stream's seed (the same seed gives the same copies).
    """

    def __init__(self, copies: int = 2, seed: int = 0) -> None:
        self.copies = copies
        self.seed = seed
        self._dir: tempfile.TemporaryDirectory | None = None
        self._paths: dict[str, list[Path]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Remove the copies made so far (their temporary folder)."""
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self._paths.clear()

    def paths(self, spec: DatabaseSpec) -> list[Path]:
        """The copies of one database (built on first call); empty for a server database
        or a file that cannot be copied."""
        if spec.kind != "sqlite" or not spec.path:
            return []
        with self._lock:
            if spec.db_id not in self._paths:
                self._paths[spec.db_id] = self._build(spec)
            return self._paths[spec.db_id]

    def _build(self, spec: DatabaseSpec) -> list[Path]:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="sqlfoundry-perturbed-")
        out = []
        for k in range(self.copies):
            target = Path(self._dir.name) / f"{len(self._paths)}-{k}.sqlite"
            try:
                perturbed_copy(
                    Path(spec.path), target, random.Random(f"{self.seed}:{spec.db_id}:{k}")
                )
            except sqlite3.Error as err:
                log.warning("%s: no perturbed copy (%s); variants are checked on the original only",
                            spec.db_id, err)  # fmt: skip
                return []
            out.append(target)
        return out

    def run(self, spec: DatabaseSpec, sqls: list[str], timeout: float) -> list[list[ExecResult]]:
        """Every query on every copy: one list of results per copy, in query order."""
        from sqlfoundry.db.sqlite import SQLiteDatabase

        out = []
        for path in self.paths(spec):
            db = SQLiteDatabase(DatabaseSpec(db_id=spec.db_id, kind="sqlite", path=str(path)))
            try:
                out.append([db.execute(sql, timeout=timeout, max_rows=10_000) for sql in sqls])
            finally:
                db.close()
        return out


def perturbed_copy(source: Path, target: Path, rng: random.Random) -> None:
    """Copy ``source`` to ``target`` (read-only on the source) and perturb the copy."""
    src = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        src.close()
    try:
        dst.execute("PRAGMA foreign_keys = OFF")
        tables = _tables(dst)
        keys = _keys(dst, tables)
        for table in tables:
            _remove_rows(dst, table, rng)
        _cascade(dst, tables)
        for table in tables:
            _change_values(dst, table, keys.get(table, set()), rng)
        dst.commit()
    finally:
        dst.close()


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return [r[0] for r in rows]


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, bool, bool]]:
    """(name, declared type, not null, primary key) of each column."""
    rows = conn.execute(f"PRAGMA table_info({_ident(table)})").fetchall()
    return [(r[1], (r[2] or "").lower(), bool(r[3]), bool(r[5])) for r in rows]


def _foreign_keys(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, str | None]]:
    """(column, referenced table, referenced column or None for its primary key)."""
    rows = conn.execute(f"PRAGMA foreign_key_list({_ident(table)})").fetchall()
    return [(r[3], r[2], r[4]) for r in rows]


def _keys(conn: sqlite3.Connection, tables: list[str]) -> dict[str, set[str]]:
    """Columns never changed: primary keys, both ends of foreign keys, unique columns."""
    keys: dict[str, set[str]] = {t: set() for t in tables}
    lowered = {t.lower(): t for t in tables}
    for table in tables:
        for name, _, _, pk in _columns(conn, table):
            if pk:
                keys[table].add(name)
        for column, ref_table, ref_column in _foreign_keys(conn, table):
            keys[table].add(column)
            ref = lowered.get(ref_table.lower())
            if ref is not None:
                keys[ref].add(ref_column or next(
                    (n for n, _, _, pk in _columns(conn, ref) if pk), column))  # fmt: skip
        for index in conn.execute(f"PRAGMA index_list({_ident(table)})").fetchall():
            if index[2]:  # unique
                for info in conn.execute(f"PRAGMA index_info({_ident(index[1])})").fetchall():
                    keys[table].add(info[2])
    return keys


def _rowids(conn: sqlite3.Connection, table: str) -> list[int]:
    try:
        return [r[0] for r in conn.execute(f"SELECT rowid FROM {_ident(table)}")]
    except sqlite3.OperationalError:  # a WITHOUT ROWID table is left as it is
        return []


def _remove_rows(conn: sqlite3.Connection, table: str, rng: random.Random) -> None:
    rowids = _rowids(conn, table)
    if len(rowids) < 2:
        return
    doomed = rng.sample(rowids, int(len(rowids) * REMOVE_SHARE))
    conn.executemany(f"DELETE FROM {_ident(table)} WHERE rowid = ?", [(r,) for r in doomed])


def _cascade(conn: sqlite3.Connection, tables: list[str]) -> None:
    """Remove rows whose foreign key points at a removed row, until none does."""
    lowered = {t.lower(): t for t in tables}
    for _ in range(len(tables) + 1):
        removed = 0
        for table in tables:
            for column, ref_table, ref_column in _foreign_keys(conn, table):
                ref = lowered.get(ref_table.lower())
                if ref is None:
                    continue
                target = ref_column or next(
                    (n for n, _, _, pk in _columns(conn, ref) if pk), None
                )  # fmt: skip
                if target is None:
                    continue
                cursor = conn.execute(
                    f"DELETE FROM {_ident(table)} WHERE {_ident(column)} IS NOT NULL AND "
                    f"{_ident(column)} NOT IN (SELECT {_ident(target)} FROM {_ident(ref)} "
                    f"WHERE {_ident(target)} IS NOT NULL)"
                )
                removed += cursor.rowcount
        if not removed:
            return


def _change_values(
    conn: sqlite3.Connection, table: str, keys: set[str], rng: random.Random
) -> None:
    rowids = _rowids(conn, table)
    if not rowids:
        return
    for name, _, not_null, pk in _columns(conn, table):
        if pk or name in keys:
            continue
        values = {
            r[0]: r[1] for r in conn.execute(f"SELECT rowid, {_ident(name)} FROM {_ident(table)}")
        }
        chosen = rng.sample(rowids, max(1, int(len(rowids) * CHANGE_SHARE)))
        present = [v for v in values.values() if v is not None]
        updates: list[tuple[Any, int]] = []
        for rowid in chosen:
            value = values.get(rowid)
            if not not_null and rng.random() < NULL_SHARE:
                updates.append((None, rowid))
            elif isinstance(value, bool) or value is None:
                continue
            elif isinstance(value, int):
                updates.append((value + rng.choice((-2, -1, 1, 2, 3)), rowid))
            elif isinstance(value, float):
                updates.append((round(value * rng.uniform(0.8, 1.2), 2), rowid))
            elif isinstance(value, str) and present:
                updates.append((rng.choice(present), rowid))
        conn.executemany(
            f"UPDATE OR IGNORE {_ident(table)} SET {_ident(name)} = ? WHERE rowid = ?", updates
        )
