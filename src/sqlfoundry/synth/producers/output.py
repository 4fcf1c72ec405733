"""Pair files: writing pairs (JSONL that ``refine --input`` and ``eval --gold`` read, or CSV)
and reading them back; rejects beside them.

The JSONL record is :meth:`ExtractedPair.to_record`: ``id``, ``db_id``,
``question``, ``SQL``, ``evidence``, ``success``, ``context``, ``meta``. The CSV
has one row per pair: those fields, ``context`` joined with `` | ``, and the
``source`` and ``error`` of ``meta``. Both are written atomically.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text, is_stdio, read_jsonl
from sqlfoundry.synth.producers.pair import ExtractedPair

CSV_COLUMNS = (
    "id",
    "db_id",
    "question",
    "SQL",
    "evidence",
    "success",
    "context",
    "source",
    "error",
)


def write_pairs(path: str | Path, pairs: Iterable[ExtractedPair]) -> int:
    """Write pairs as ``.jsonl`` (or ``.json`` lines) or ``.csv``, by suffix, or JSON lines
    on standard output for ``-``; returns the count."""
    path = Path(path)
    suffix = path.suffix.lower()
    if is_stdio(path) or suffix in (".jsonl", ".json", ".ndjson"):
        return atomic_write_jsonl(path, (p.to_record() for p in pairs))
    if suffix != ".csv":
        raise ConfigError(f"{path}: write pairs to a .jsonl or .csv file")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for pair in pairs:
        writer.writerow([pair.id or pair.key(), pair.db_id or "", pair.question, pair.sql,
                         pair.evidence or "", "true" if pair.success else "false",
                         " | ".join(pair.context), pair.meta.get("source") or "",
                         pair.meta.get("error") or ""])  # fmt: skip
        count += 1
    atomic_write_text(path, buffer.getvalue())
    return count


def rejects_path(out: str | Path) -> Path:
    """Where the rejects of a run writing ``out`` go: ``pairs.jsonl`` -> ``pairs.rejects.jsonl``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.rejects.jsonl")


def write_rejects(path: str | Path, rejects: Sequence[dict[str, Any]]) -> int:
    """Write ``rejects`` to ``path`` as JSON lines (atomically); returns how many."""
    return atomic_write_jsonl(path, rejects)


def read_pairs_file(path: str | Path) -> tuple[list[ExtractedPair], list[dict[str, Any]]]:
    """Pairs from a JSONL/JSON file (this module's records, or any ``db_id``/``question``/``SQL``
    records), and one problem (``source``, ``reason``) per line that is not a pair.

    Raises:
        InputError: the file cannot be read at all.
    """
    pairs: list[ExtractedPair] = []
    problems: list[dict[str, Any]] = []
    for line in read_jsonl(path):
        source = f"{line.file}:{line.line}"
        if line.error is not None or line.data is None:
            problems.append(
                {"source": source, "reason": line.error.message if line.error else "empty"}
            )
            continue
        try:
            pair = ExtractedPair.from_record(line.data)
        except (ValueError, TypeError) as err:
            problems.append({"source": source, "reason": str(err).splitlines()[0]})
            continue
        pair.meta.setdefault("source", source)
        pairs.append(pair)
    return pairs, problems
