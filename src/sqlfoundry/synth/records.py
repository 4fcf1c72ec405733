"""The synthesis record formats: pairs read in, records written out.

Input pairs (refinement mode) are JSON or JSONL with ``db_id``, ``question``
and ``SQL`` (``sql`` or ``query`` are accepted); ``evidence`` is kept, and any
other field rides along in ``meta["input"]``. A line that is not JSON is an
input reject with its file:line; the rest of the file is read.

The output record (one line of ``RUN_DIR/data.jsonl``) follows the field names
of DataFlow's and OmniSQL's data: ``SQL``, ``cot_reasoning``,
``sql_component_difficulty``, ``sql_execution_difficulty``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.core.io import read_jsonl, sql_of
from sqlfoundry.core.operator import Operator, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample

_SQL_KEYS = ("SQL", "sql", "query")
_KNOWN = {"db_id", "question", "evidence", "id", *_SQL_KEYS}


def read_pairs(path: str | Path) -> tuple[list[Sample], list[dict[str, Any]]]:
    """Read question/SQL pairs.

    Returns:
        The samples (in file order; ``meta["source"]`` is ``file:line``), and one
        input reject per line that could not be read (``operator: "input"``).
        Missing fields are checked later by :class:`InputCheck`, so those
        records reach ``rejects.jsonl`` with the reason too.
    """
    samples: list[Sample] = []
    problems: list[dict[str, Any]] = []
    for number, line in enumerate(read_jsonl(path), start=1):
        source = f"{line.file}:{line.line}"
        if line.error is not None or not isinstance(line.data, dict):
            message = line.error.message if line.error else "not a JSON object"
            problems.append({"operator": "input", "reason": f"unreadable line: {message}",
                             "source": source})  # fmt: skip
            continue
        samples.append(pair_sample(line.data, number, source))
    return samples, problems


def pairs_from_records(
    records: Iterable[Mapping[str, Any] | Sample],
) -> tuple[list[Sample], list[dict[str, Any]]]:
    """:func:`read_pairs` for records already in memory (dicts in the same format, or Samples).

    ``meta["source"]`` is ``record:N`` (1-based); an item that is neither a
    mapping nor a Sample is an input reject.
    """
    samples: list[Sample] = []
    problems: list[dict[str, Any]] = []
    for number, item in enumerate(records, start=1):
        source = f"record:{number}"
        if isinstance(item, Sample):
            sample = item.model_copy(deep=True)
            sample.meta.setdefault("source", source)
            samples.append(sample)
        elif isinstance(item, Mapping):
            samples.append(pair_sample(item, number, source))
        else:
            problems.append({"operator": "input", "source": source,
                             "reason": f"unreadable record: not a mapping ({type(item).__name__})"})  # fmt: skip
    return samples, problems


def pair_sample(data: Mapping[str, Any], number: int, source: str) -> Sample:
    """One input pair as a Sample; fields other than the known ones go to ``meta["input"]``."""
    extra = {k: v for k, v in data.items() if k not in _KNOWN}
    meta: dict[str, Any] = {"source": source}
    if extra:
        meta["input"] = extra
    return Sample(
        id=str(data.get("id") or f"pair-{number:06d}"),
        db_id=str(data.get("db_id") or ""),
        question=data.get("question") if isinstance(data.get("question"), str) else None,
        sql=sql_of(dict(data)),
        evidence=data.get("evidence") if isinstance(data.get("evidence"), str) else None,
        meta=meta,
    )


def database_seeds(db_ids: Sequence[str]) -> list[Sample]:
    """One seed record per database: the input of synthesis mode."""
    return [Sample(id=db_id, db_id=db_id) for db_id in db_ids]


def output_record(sample: Sample) -> dict[str, Any]:
    """A finished sample in the synthesis output format."""
    out: dict[str, Any] = {
        "id": sample.id,
        "db_id": sample.db_id,
        "question": sample.question,
        "SQL": sample.sql,
    }
    if sample.evidence:
        out["evidence"] = sample.evidence
    out.update(
        prompt=sample.prompt,
        cot_reasoning=sample.cot,
        sql_component_difficulty=sample.component_difficulty,
        sql_execution_difficulty=sample.execution_difficulty,
        meta=sample.meta,
    )
    return out


@register
class InputCheck(Operator):
    """Rejects input pairs that cannot be refined: missing fields, unknown
    databases, SQL that is not a single read-only query."""

    name = "input_check"
    inputs = ("db_id", "question", "sql")
    outputs = ()

    async def process(self, batch: Sequence[Sample], ctx: Any) -> StepOutput:
        from sqlfoundry.core.errors import SqlfoundryError
        from sqlfoundry.sql.guard import check_read_only

        out = StepOutput()
        for sample in batch:
            missing = [f for f in ("db_id", "question", "sql") if not getattr(sample, f)]
            if missing:
                names = ", ".join("SQL" if f == "sql" else f for f in missing)
                out.rejects.append(self.reject(sample, f"missing field: {names}"))
                continue
            if not ctx.has_database(sample.db_id):
                out.rejects.append(self.reject(sample, f"unknown database: {sample.db_id}"))
                continue
            dialect = ctx.schema(sample.db_id, sample_values=0).dialect
            try:
                check_read_only(sample.sql, dialect)
            except SqlfoundryError as err:
                out.rejects.append(self.reject(sample, f"not a read-only query: {err.message}"))
                continue
            out.samples.append(sample)
        return out
