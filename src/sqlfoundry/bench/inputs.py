"""Reading gold and prediction files into aligned evaluation items.

Alignment is by position and never shifts: an empty prediction line stays an
(empty) prediction for its gold item, a prediction file that runs out gives
explicit missing predictions, and a line that cannot be read is a wrong
prediction that names its file:line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import InputError
from sqlfoundry.core.io import (
    input_name,
    is_jsonl_path,
    is_stdio,
    read_records,
    read_text,
    sql_of,
)

_PRED_KEYS = ("pred_sql", "predicted_sql", "prediction", "pred", "SQL", "sql", "query")
_BIRD_SEPARATOR = "\t----- bird -----\t"


@dataclass
class Prediction:
    sql: str | None
    error: str | None = None
    candidates: list[str] = field(default_factory=list)
    tables: set[str] | None = None
    columns: set[tuple[str, str]] | None = None


@dataclass
class GoldEntry:
    db_id: str
    sql: str
    where: str
    difficulty: str | None = None
    question: str | None = None
    alternatives: list[str] = field(default_factory=list)
    hardness: str | None = None  # when already known (a loaded benchmark); else computed

    @classmethod
    def from_sample(cls, sample: Any) -> GoldEntry:
        """The gold of a loaded benchmark's ``Sample``."""
        return cls(db_id=sample.db_id, sql=sample.sql or "",
                   where=sample.meta.get("source", sample.id), difficulty=sample.difficulty,
                   question=sample.question, hardness=sample.hardness,
                   alternatives=sample.meta.get("gold_alternatives") or [])  # fmt: skip


def read_gold_file(path: str | Path) -> list[GoldEntry]:
    """A Spider gold file (``SQL<TAB>db_id``) or JSON/JSONL with db_id and SQL/query.

    Raises:
        InputError: for any unreadable gold line; a scorer cannot guess a gold query.
    """
    entries = []
    for line in read_records(path):
        if line.error is not None:
            raise line.error
        data = line.data or {}
        sql, db_id = sql_of(data), data.get("db_id")
        if not isinstance(sql, str) or not isinstance(db_id, str):
            raise InputError("gold record needs 'db_id' and 'SQL' (or 'query')",
                             file=line.file, line=line.line)  # fmt: skip
        entries.append(
            GoldEntry(db_id=db_id, sql=sql.strip(), where=f"{line.file}:{line.line}",
                      difficulty=data.get("difficulty"), question=data.get("question"))
        )  # fmt: skip
    return entries


def _links(record: dict[str, Any]) -> tuple[set[str] | None, set[tuple[str, str]] | None]:
    links = record.get("schema_links") if isinstance(record.get("schema_links"), dict) else record
    tables = links.get("pred_tables", links.get("tables"))
    columns = links.get("pred_columns", links.get("columns"))
    table_set = {str(t).lower() for t in tables} if isinstance(tables, list) else None
    column_set = None
    if isinstance(columns, list):
        column_set = set()
        for col in columns:
            table, _, name = str(col).lower().rpartition(".")
            column_set.add((table, name))
    return table_set, column_set


def _from_record(record: dict[str, Any], where: str) -> Prediction:
    sql = next((record[k] for k in _PRED_KEYS if isinstance(record.get(k), str)), None)
    candidates = record.get("candidates") or []
    if isinstance(record.get("pred_sql"), list):  # several samples under one key
        candidates, sql = record["pred_sql"], (record["pred_sql"] or [None])[0]
    if sql is None and not candidates:
        return Prediction(None, error=f"{where}: record has no prediction (pred_sql)")
    tables, columns = _links(record)
    return Prediction(
        sql=sql if sql is not None else "",
        candidates=[_candidate_sql(c) for c in candidates],
        tables=tables,
        columns=columns,
    )


def _candidate_sql(candidate: Any) -> str:
    """A candidate is its SQL, or an object with ``sql`` (and a reward, visits...: the search's)."""
    if isinstance(candidate, dict):
        candidate = candidate.get("sql")
    return candidate if isinstance(candidate, str) else ""


def predictions_of(values: Iterable[Any]) -> list[Prediction]:
    """Predictions already in memory, one per gold item, in order.

    Each value is a SQL string, None (a missing prediction), a dict as a JSONL
    prediction line (``pred_sql``, ``candidates``, ``pred_tables``...), or any
    object with ``to_json_dict()`` giving such a dict (a ``Sample``).
    """
    out = []
    for number, value in enumerate(values, start=1):
        where = f"prediction {number}"
        if value is None:
            out.append(Prediction(None, error=f"{where}: no prediction"))
        elif isinstance(value, str):
            out.append(Prediction(value))
        elif isinstance(value, dict):
            out.append(_from_record(value, where))
        elif callable(getattr(value, "to_json_dict", None)):
            record = value.to_json_dict()
            error = (record.get("meta") or {}).get("error")
            if record.get("pred_sql") is None and not record.get("candidates") and error:
                out.append(Prediction(None, error=f"{where}: {error}"))  # why the method gave none
            else:
                out.append(_from_record(record, where))
        else:
            out.append(
                Prediction(
                    None, error=f"{where}: not SQL text or a record ({type(value).__name__})"
                )
            )
    return out


def read_predictions(path: str | Path) -> list[Prediction]:
    """One Prediction per entry, in file order.

    Formats: plain text (one SQL per line, newlines inside a SQL written as
    spaces; an empty line is an empty prediction; a tab ends the SQL, so
    Spider's ``SQL<TAB>db_id`` lines work, as in the official scorers),
    JSONL (``pred_sql``, and optionally ``candidates`` as SQL strings or objects
    with ``sql``, ``pred_tables``, ``pred_columns``), or BIRD's JSON object
    ``{"0": "SQL\\t----- bird -----\\tdb_id", ...}``.
    """
    path = Path(path)
    name = input_name(path)
    if not is_stdio(path) and not path.is_file():
        raise InputError("no such file", file=name)
    text = read_text(path)
    starts_object = text.lstrip().startswith("{")
    if is_stdio(path):  # no suffix to go by: BIRD when the whole text is one object
        bird, jsonl = starts_object and _one_object(text), starts_object
    else:
        bird, jsonl = path.suffix.lower() == ".json" and starts_object, is_jsonl_path(path)
    if bird:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"invalid JSON: {err.msg}", file=name, line=err.lineno) from err
        out = []
        for key in sorted(data, key=lambda k: int(k) if str(k).isdigit() else 0):
            value = data[key]
            sql = value.split(_BIRD_SEPARATOR)[0].strip() if isinstance(value, str) else ""
            out.append(Prediction(sql))
        return out
    if jsonl:
        out = []
        for number, raw in enumerate(text.splitlines(), start=1):
            where = f"{name}:{number}"
            if not raw.strip():
                out.append(Prediction("", error=None))
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as err:
                out.append(Prediction(None, error=f"{where}: invalid JSON: {err.msg}"))
                continue
            if not isinstance(record, dict):
                out.append(Prediction(None, error=f"{where}: line is not a JSON object"))
                continue
            out.append(_from_record(record, where))
        return out
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line; it is not an entry
    # As the official scorers read a line: strip it, then keep what comes before a tab.
    return [Prediction(line.strip().split("\t", 1)[0]) for line in lines]


def _one_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False
