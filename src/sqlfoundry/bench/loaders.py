"""Loaders for the public Text-to-SQL benchmarks, each giving a list of Samples.

Every loader reads the files of the official release as published; a file
that is missing raises an InputError naming it, and a malformed item names its
file and position.
"""

from __future__ import annotations

import csv
import json
from itertools import combinations, product
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import InputError
from sqlfoundry.core.io import read_records, sql_of
from sqlfoundry.core.sample import Sample


def _json(path: Path) -> Any:
    if not path.is_file():
        raise InputError("benchmark file not found", file=str(path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err.msg}", file=str(path), line=err.lineno) from err


def _sample(
    prefix: str, i: int, path: Path, item: dict[str, Any], question_key: str = "question", **extra
) -> Sample:
    sql = sql_of(item)
    db_id = item.get("db_id")
    if not isinstance(sql, str) or not isinstance(db_id, str):
        raise InputError(f"item {i} needs 'db_id' and 'query' or 'SQL'", file=str(path), line=i + 1)
    return Sample(
        id=f"{prefix}-{i}",
        db_id=db_id,
        question=item.get(question_key),
        sql=sql.strip(),
        evidence=item.get("evidence") or None,
        difficulty=item.get("difficulty"),
        meta={"source": f"{path}#{i}", **extra},
    )


def spider_json(path: Path, prefix: str, question_key: str = "question") -> list[Sample]:
    """Spider-format JSON: a list of ``{db_id, question, query}``."""
    items = _json(path)
    return [_sample(prefix, i, path, item, question_key) for i, item in enumerate(items)]


def spider_gold(path: Path, prefix: str) -> list[Sample]:
    """A Spider gold file (``SQL<TAB>db_id``): SQL without questions."""
    samples = []
    for i, line in enumerate(read_records(path)):
        if line.error is not None:
            raise line.error
        samples.append(
            Sample(id=f"{prefix}-{i}", db_id=line.data["db_id"], sql=line.data["SQL"],
                   meta={"source": f"{line.file}:{line.line}"})
        )  # fmt: skip
    return samples


def bird_minidev(path: Path, prefix: str) -> list[Sample]:
    """BIRD mini-dev's ``mini_dev_sqlite.json``: question, evidence, SQL and difficulty per item."""
    items = _json(path)
    samples = [_sample(prefix, i, path, item) for i, item in enumerate(items)]
    for sample, item in zip(samples, items, strict=True):
        if "question_id" in item:
            sample.meta["question_id"] = item["question_id"]
    return samples


def kaggledbqa(folder: Path, prefix: str) -> list[Sample]:
    """KaggleDBQA: ``examples/<db>.json`` for every database present."""
    samples: list[Sample] = []
    for path in sorted((folder / "examples").glob("*.json")):
        if path.stem.endswith(("_test", "_fewshot")):
            continue
        for item in _json(path):
            samples.append(_sample(prefix, len(samples), path, item))
    return samples


def geoquery(path: Path, prefix: str, split: str | None = None) -> list[Sample]:
    """GeoQuery from text2sql-data: each sentence with its variables filled into ``sql[0]``.

    Args:
        split: keep only sentences of this question split (train / dev / test).
    """
    samples = []
    for i, entry in enumerate(_json(path)):
        template = entry["sql"][0]
        for sentence in entry["sentences"]:
            if split and sentence.get("question-split") != split:
                continue
            question, sql = sentence["text"], template
            # The placeholders are plain names (state_name0) inside the text
            # and the SQL's string literals; longer names first so city_name10
            # is not clobbered by city_name1.
            for name in sorted(sentence["variables"], key=len, reverse=True):
                value = sentence["variables"][name]
                question = question.replace(name, value)
                sql = sql.replace(name, value)
            samples.append(
                Sample(
                    id=f"{prefix}-{len(samples)}",
                    db_id="geography",
                    question=question,
                    sql=sql.strip().rstrip(";").strip(),
                    meta={"source": f"{path}#{i}", "split": sentence.get("question-split")},
                )
            )
    return samples


def expand_column_templates(sql: str) -> list[str]:
    """sql-eval's ``{a, b}`` notation: any non-empty subset of the listed columns is accepted.

    Subsets come in sql-eval's order (all single columns, then pairs, ...), and
    an empty ``{}`` (as in ``GROUP BY {}``) repeats the columns chosen for the
    braces before it, as sql-eval's ``get_all_minimal_queries`` fills it.
    """
    parts: list[str] = []
    groups: list[list[str] | None] = []  # None: an empty {} that repeats the previous choice
    rest = sql
    while "{" in rest and "}" in rest.split("{", 1)[1]:
        head, tail = rest.split("{", 1)
        inner, rest = tail.split("}", 1)
        parts.append(head)
        cols = [c.strip() for c in inner.split(",") if c.strip()]
        groups.append(
            [", ".join(c) for n in range(1, len(cols) + 1) for c in combinations(cols, n)]
            if cols
            else None
        )
    parts.append(rest)
    choices = [g for g in groups if g is not None]
    if not groups or not choices:
        return [sql]
    out = []
    for choice in product(*choices):
        picked = iter(choice)
        text, previous = parts[0], ""
        for group, part in zip(groups, parts[1:], strict=True):
            if group is not None:
                previous = next(picked)
            text += previous + part
        out.append(text)
    return out


def defog(path: Path, prefix: str) -> list[Sample]:
    """Defog sql-eval questions (CSV); the databases live on a PostgreSQL server.

    ``query`` may list several gold alternatives separated by ``;`` and use the
    ``{a, b}`` column notation; every expansion is kept in ``meta["gold_alternatives"]``.
    """
    if not path.is_file():
        raise InputError("benchmark file not found", file=str(path))
    samples = []
    with path.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            alternatives = [q.strip() for q in row["query"].split(";") if q.strip()]
            expanded = [e for q in alternatives for e in expand_column_templates(q)]
            samples.append(
                Sample(
                    id=f"{prefix}-{i}",
                    db_id=row["db_name"],
                    question=row["question"],
                    sql=expanded[0] if expanded else "",
                    evidence=row.get("instructions") or None,
                    difficulty=row.get("query_category") or None,
                    meta={"source": f"{path}:{i + 2}", "gold_alternatives": expanded},
                )
            )
    return samples


def custom(path: Path, prefix: str = "custom") -> list[Sample]:
    """Any JSON / JSONL list (or Spider gold file) with ``db_id``, ``question``, ``SQL``/``query``."""
    samples = []
    for i, line in enumerate(read_records(path)):
        if line.error is not None:
            raise line.error
        samples.append(_sample(prefix, i, Path(line.file), line.data))
        samples[-1].meta["source"] = f"{line.file}:{line.line}"
    return samples
