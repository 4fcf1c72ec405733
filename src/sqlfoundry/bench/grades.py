"""Spider hardness remembered across evaluations.

Reading a gold query's hardness means importing sqlglot and parsing the query,
which costs more than running it; the same gold file is scored again and again
(every model, every checkpoint). Grades are kept in one small JSON file in the
cache folder, under a name that changes with the grading code and the sqlglot
release, so a change to either starts afresh. A file that cannot be read or
written is ignored: grades are then parsed, as without a cache.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path

# Past this many grades the file starts afresh, so it never grows without bound.
MAX_GRADES = 200_000
_SOURCES = ("sql/hardness.py", "sql/parse.py")


try:  # hashlib's own BLAKE2, without loading OpenSSL's bindings as hashlib does
    from _blake2 import blake2b
except ImportError:  # another Python implementation
    from hashlib import blake2b


def _key(sql: str) -> str:
    return blake2b(sql.encode("utf-8"), digest_size=12).hexdigest()


def _version() -> str:
    """A digest of the grading code and of sqlglot's version file (read, not imported)."""
    digest = blake2b(digest_size=8)
    package = Path(__file__).resolve().parents[1]
    for name in _SOURCES:
        digest.update((package / name).read_bytes())
    spec = find_spec("sqlglot")
    if spec and spec.origin:
        for name in ("_version.py", "__init__.py"):
            version = Path(spec.origin).with_name(name)
            if version.is_file():
                digest.update(version.read_bytes())
                break
    return digest.hexdigest()


class GradeCache:
    """Hardness by gold SQL text, in ``<folder>/hardness-<version>.json``."""

    def __init__(self, folder: Path) -> None:
        try:
            self.path: Path | None = folder / f"hardness-{_version()}.json"
        except OSError:
            self.path = None
        self._grades: dict[str, str | None] = {}
        self._new = 0
        if self.path is not None:
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    self._grades = loaded

    def known(self, sqls: Sequence[str]) -> dict[str, str | None]:
        """The remembered grades of ``sqls`` (those never graded are left out)."""
        found = {}
        for sql in sqls:
            key = _key(sql)
            if key in self._grades:
                found[sql] = self._grades[key]
        return found

    def remember(self, grades: Mapping[str, str | None]) -> None:
        """Keep ``grades`` (SQL -> hardness) and write the file when any is new."""
        if len(self._grades) + len(grades) > MAX_GRADES:
            self._grades = {}
        for sql, grade in grades.items():
            key = _key(sql)
            if key not in self._grades:
                self._grades[key] = grade
                self._new += 1
        if not self._new or self.path is None:
            return
        from sqlfoundry.core.io import atomic_write_text

        with contextlib.suppress(OSError):
            atomic_write_text(self.path, json.dumps(self._grades, separators=(",", ":")))
            self._new = 0
