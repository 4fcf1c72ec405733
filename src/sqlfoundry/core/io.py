"""Reading record files line by line, and writing files atomically.

Readers never stop at a bad line: they yield an InputError naming file:line in
its place, so callers can count it, report it, and keep every other record.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import InputError


@dataclass(slots=True)
class Line:
    """One input record with where it came from; ``error`` is set instead of ``data`` when bad."""

    file: str
    line: int
    data: dict[str, Any] | None = None
    error: InputError | None = None


def is_jsonl_path(path: str | Path) -> bool:
    """Whether ``path`` is read as JSON lines (``.jsonl``, ``.ndjson`` or ``.json``)."""
    return Path(path).suffix.lower() in (".jsonl", ".json", ".ndjson")


def read_jsonl(path: str | Path) -> Iterator[Line]:
    """Yield one Line per non-blank line of a JSONL file (or a JSON list file)."""
    path = Path(path)
    name = str(path)
    text = read_text(path)
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            yield Line(
                name,
                err.lineno,
                error=InputError(f"invalid JSON: {err.msg}", file=name, line=err.lineno),
            )
            return
        for i, item in enumerate(items, start=1):
            if isinstance(item, dict):
                yield Line(name, i, data=item)
            else:
                yield Line(
                    name, i, error=InputError("item is not a JSON object", file=name, line=i)
                )
        return
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as err:
            yield Line(
                name, number, error=InputError(f"invalid JSON: {err.msg}", file=name, line=number)
            )
            continue
        if not isinstance(item, dict):
            yield Line(
                name, number, error=InputError("line is not a JSON object", file=name, line=number)
            )
            continue
        yield Line(name, number, data=item)


def read_gold(path: str | Path) -> Iterator[Line]:
    """Yield ``{"SQL", "db_id"}`` per line of a Spider gold file (``SQL<TAB>db_id``).

    Blank lines are skipped, as the official scorers do.
    """
    path = Path(path)
    name = str(path)
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        sql, tab, db_id = raw.rpartition("\t")
        if not tab or not sql.strip() or not db_id.strip():
            yield Line(
                name, number, error=InputError("expected 'SQL<TAB>db_id'", file=name, line=number)
            )
            continue
        yield Line(name, number, data={"SQL": sql.strip(), "db_id": db_id.strip()})


def read_records(path: str | Path) -> Iterator[Line]:
    """JSONL / JSON by suffix, otherwise a Spider gold file."""
    return read_jsonl(path) if is_jsonl_path(path) else read_gold(path)


def sql_of(record: dict[str, Any]) -> str | None:
    """The SQL of a record, under any of the names the common formats use."""
    for key in ("SQL", "sql", "query"):
        value = record.get(key)
        if isinstance(value, str):
            return value
    return None


def read_text(path: str | Path) -> str:
    """A UTF-8 text file; InputError naming the file when it is missing or unreadable."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read file: {err}", file=str(path)) from err


def _umask() -> int:
    # Linux tells it without changing it (os.umask would, for every thread).
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    _atomic_write(path, [text])


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file next to ``path`` to write; renamed over ``path`` when the
    block ends without error, removed otherwise. For writers that want a file name
    (pyarrow, ...); text goes through :func:`atomic_write_text`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file private; give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _atomic_write(path: str | Path, chunks: Iterable[str]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line, atomically; returns the number of lines.

    Lines are streamed to the temporary file, so a large run is never held as text.
    """
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        for record in records:
            count += 1
            yield json.dumps(record, ensure_ascii=False) + "\n"

    _atomic_write(path, lines())
    return count
