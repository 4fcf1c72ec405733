"""A MinHash LSH index over a database's text values, for CHESS-style value retrieval.

The values are the distinct short texts of every text column
(:meth:`sqlfoundry.methods.retrieval.values.ValueIndex.build`: at most 60
characters, 5,000 per column). Each is shingled into character 3-grams of its
normalised form and MinHashed (``datasketch``); an LSH over the signatures
finds, for a keyword, the values sharing many 3-grams with it, which are then
ranked by edit similarity (``difflib``). So "Kenia" still finds 'Kenya' and
"new york" finds 'New York City'.

Built once per database and cached on disk (``$SQLFOUNDRY_CACHE_DIR/values``):
the values as JSON and their MinHash signatures as a numpy array, keyed by the
database's file and modification time; loading rebuilds the LSH from the
signatures without hashing again.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import MissingDependencyError
from sqlfoundry.core.io import atomic_path, atomic_write_text
from sqlfoundry.methods.retrieval.pairs import database_fingerprint, default_cache_dir
from sqlfoundry.methods.retrieval.values import ValueIndex, normalise

log = logging.getLogger(__name__)

NUM_PERM = 64
SCHEME = "affine32"
SHINGLE = 3
INDEX_FORMAT = 1
INSTALL_HINT = "pip install 'sqlfoundry[methods]'"


def require_datasketch() -> Any:
    """The ``datasketch`` module, or a :class:`MissingDependencyError` with the install hint."""
    try:
        import datasketch
    except ImportError:
        raise MissingDependencyError(
            "value retrieval needs the datasketch package", hint=INSTALL_HINT
        ) from None
    return datasketch


@functools.cache
def _permutations() -> Any:
    return require_datasketch().MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME).permutations


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """Character n-grams of the normalised text (the whole text when shorter)."""
    key = f" {normalise(text)} "
    if len(key) <= size:
        return {key}
    return {key[i : i + size] for i in range(len(key) - size + 1)}


@dataclass(frozen=True)
class ValueHit:
    """A database value found for a keyword."""

    table: str
    column: str
    value: str
    keyword: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The hit as plain data (score rounded to 4 places)."""
        return {"table": self.table, "column": self.column, "value": self.value,
                "keyword": self.keyword, "score": round(self.score, 4)}  # fmt: skip


class ValueLSH:
    """The LSH over one database's values; :meth:`search` is thread-safe once built."""

    def __init__(self, rows: list[list[str]], signatures: Any, threshold: float = 0.3) -> None:
        ds = require_datasketch()
        self.rows = rows
        self.signatures = signatures
        self.lsh = ds.MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        with self.lsh.insertion_session() as session:
            for i, values in enumerate(signatures):
                session.insert(i, ds.LeanMinHash(seed=1, hashvalues=values, scheme=SCHEME))

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def signature(text: str) -> Any:
        """The MinHash signature of ``text``'s character shingles."""
        ds = require_datasketch()
        # Drawing the permutations is most of a MinHash's cost: draw them once.
        minhash = ds.MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME, permutations=_permutations())
        minhash.update_batch([s.encode() for s in shingles(text)])
        return minhash.hashvalues

    @classmethod
    def from_rows(cls, rows: list[list[str]]) -> ValueLSH:
        """An index over ``(table, column, value)`` rows, signing every value."""
        import numpy as np

        signatures = np.array([cls.signature(r[2]) for r in rows], dtype=np.uint64)
        return cls(rows, signatures.reshape(len(rows), NUM_PERM))

    def search(self, keyword: str, *, min_score: float = 0.6, limit: int = 5) -> list[ValueHit]:
        """Values like ``keyword``, best first; ``score`` is the edit similarity (0..1)."""
        if not keyword.strip() or not self.rows:
            return []
        ds = require_datasketch()
        query = ds.LeanMinHash(seed=1, hashvalues=self.signature(keyword), scheme=SCHEME)
        target = normalise(keyword)
        hits = []
        for index in self.lsh.query(query):
            table, column, value = self.rows[index]
            score = difflib.SequenceMatcher(None, target, normalise(value)).ratio()
            if normalise(value) in target.split(" ") or target in normalise(value).split(" "):
                score = max(score, 0.8)  # a whole word of the other: "Boston" in "Boston Marathon"
            if score >= min_score:
                hits.append(ValueHit(table, column, value, keyword, score))
        hits.sort(key=lambda h: (-h.score, h.table, h.column, h.value))
        return hits[:limit]


class ValueIndexes:
    """One :class:`ValueLSH` per database, built on first use and cached on disk."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self._built: dict[tuple[int, str], ValueLSH] = {}
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        """Where the indexes are cached: ``cache_dir`` or the default cache folder."""
        return self.cache_dir or default_cache_dir(folder="values")

    def get(self, databases: Any, db_id: str) -> ValueLSH:
        """The index of ``db_id`` (blocking: call from a worker thread)."""
        key = (id(databases), db_id)
        with self._lock:
            found = self._built.get(key)
            if found is None:
                found = self._built[key] = self._load_or_build(databases, db_id)
        return found

    def _load_or_build(self, databases: Any, db_id: str) -> ValueLSH:
        payload = {"database": database_fingerprint(databases, db_id), "format": INDEX_FORMAT,
                   "num_perm": NUM_PERM, "shingle": SHINGLE, "scheme": SCHEME}  # fmt: skip
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]
        stem = self.folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', db_id)[:80]}-{digest}"
        loaded = _load(stem)
        if loaded is not None:
            return loaded
        schema = databases.schema(db_id, sample_values=5)
        with databases.open(db_id) as database:
            rows = ValueIndex.build(database, schema).to_rows()
        index = ValueLSH.from_rows(rows)
        try:
            _save(stem, index)
        except OSError as err:  # an unwritable cache costs the next start, not this one
            log.warning("%s: cannot write the value index cache %s: %s", db_id, stem, err)
        return index


def _save(stem: Path, index: ValueLSH) -> None:
    import numpy as np

    with atomic_path(stem.with_suffix(".npy")) as tmp, tmp.open("wb") as fh:
        np.save(fh, index.signatures)
    atomic_write_text(stem.with_suffix(".json"), json.dumps(index.rows, ensure_ascii=False))


def _load(stem: Path) -> ValueLSH | None:
    import numpy as np

    rows_path, sig_path = stem.with_suffix(".json"), stem.with_suffix(".npy")
    if not (rows_path.is_file() and sig_path.is_file()):
        return None
    try:
        rows = json.loads(rows_path.read_text(encoding="utf-8"))
        signatures = np.load(sig_path)
        if len(rows) != len(signatures):
            raise ValueError("values and signatures differ in number")
        return ValueLSH(rows, signatures.reshape(len(rows), NUM_PERM))
    except (OSError, ValueError) as err:
        log.warning("%s: unreadable value index cache, building again: %s", stem, err)
        return None
