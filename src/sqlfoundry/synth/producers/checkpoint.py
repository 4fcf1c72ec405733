"""Resumable producers: each input's output, stored under the producer's config.

Layout, beside the pipeline's ``steps/`` in a run directory::

    RUN_DIR/producers/<producer>-<signature>/
        part-00000.jsonl      {"key": <input hash>, "pairs": [...], "rejects": [...]} per line
        part-00001.jsonl      (written atomically, every ``flush_every`` inputs)
        done                  present once the producer went through all its input

The signature hashes the producer's name, version, parameters and what of the
run changes its output (engine, model, seed); the key hashes one input (a
pair, a conversation, a persona and complexity). A re-run with the same config
reuses every stored input and computes only the others, so an interrupted run
resumes where its last part file ended; a changed config gets a folder of its own.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text

log = logging.getLogger(__name__)

FLUSH_EVERY = 32


class CheckpointStore:
    """Per-input results of one producer config in ``folder``.

    Args:
        folder: ``RUN_DIR/producers/<producer>-<signature>``.
        flush_every: inputs buffered before a part file is written.
    """

    def __init__(self, folder: str | Path, flush_every: int = FLUSH_EVERY) -> None:
        self.folder = Path(folder)
        self.flush_every = flush_every
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stored: dict[str, dict[str, Any]] = {}
        self._buffer: list[dict[str, Any]] = []
        self._parts = 0
        self.reused = 0
        for part in sorted(self.folder.glob("part-*.jsonl")):
            self._parts += 1
            self._load(part)

    def _load(self, part: Path) -> None:
        for number, line in enumerate(part.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                entry = json.loads(line)
                self._stored[str(entry["key"])] = entry
            except (ValueError, KeyError, TypeError) as err:
                log.warning("%s:%d: unreadable checkpoint entry, recomputed: %s", part, number, err)

    def __len__(self) -> int:
        return len(self._stored)

    @property
    def done(self) -> bool:
        """The producer finished this config once."""
        return (self.folder / "done").exists()

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored ``{"pairs", "rejects"}`` of one input, or None."""
        entry = self._stored.get(key)
        if entry is not None:
            self.reused += 1
        return entry

    def put(self, key: str, pairs: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> None:
        """Store the pairs and rejects made for ``key``; written out every ``flush_every`` entries."""
        entry = {"key": key, "pairs": pairs, "rejects": rejects}
        self._stored[key] = entry
        self._buffer.append(entry)
        if len(self._buffer) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the buffered inputs as the next part file."""
        if not self._buffer:
            return
        atomic_write_jsonl(self.folder / f"part-{self._parts:05d}.jsonl", self._buffer)
        self._parts += 1
        self._buffer = []

    def finish(self) -> None:
        """Flush, and mark the config as gone through completely."""
        self.flush()
        atomic_write_text(self.folder / "done", "")
