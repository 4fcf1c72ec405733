"""Running a record's candidates and grouping them by result, for the selectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.db.base import json_value


@dataclass
class CandidateRun:
    """One candidate's execution: ``ok``, its rows and how long it took."""

    index: int
    sql: str
    ok: bool
    rows: list[tuple]
    elapsed_ms: float
    error: str | None = None
    result: Any = None

    @property
    def valid(self) -> bool:
        """Ran and returned at least one non-NULL value (Alpha-SQL's valid result)."""
        return self.ok and any(any(v is not None for v in row) for row in self.rows)

    def key(self) -> frozenset:
        """What identical results share: the set of rows (order and duplicates ignored)."""
        return frozenset(tuple(json_value(v) if isinstance(v, (bytes, bytearray, memoryview)) else v
                               for v in row) for row in self.rows)  # fmt: skip


async def run_candidates(
    ctx: RunContext, db_id: str, candidates: Sequence[str]
) -> list[CandidateRun]:
    """Execute each distinct candidate once; one run per candidate, in order."""
    distinct = list(dict.fromkeys(c for c in candidates if c and c.strip()))
    results = dict(
        zip(distinct, await ctx.execute([(sql, db_id) for sql in distinct]), strict=True)
    )
    runs = []
    for i, sql in enumerate(candidates):
        result = results.get(sql)
        if result is None:
            runs.append(CandidateRun(i, sql or "", False, [], 0.0, "empty candidate"))
        else:
            runs.append(CandidateRun(i, sql, result.ok, list(result.rows), result.elapsed_ms,
                                     result.error, result))  # fmt: skip
    return runs


def groups_of(runs: Sequence[CandidateRun]) -> list[list[CandidateRun]]:
    """Runs that executed, grouped by identical result, groups in order of first member."""
    groups: dict[frozenset, list[CandidateRun]] = {}
    for run in runs:
        if run.ok:
            groups.setdefault(run.key(), []).append(run)
    return list(groups.values())


def preview(run: CandidateRun, rows: int = 5) -> str:
    """The first rows of a run as text lines, for prompts that show results."""
    if not run.ok:
        return f"error: {run.error}"
    if not run.rows:
        return "no rows"
    columns = run.result.columns if run.result is not None else []
    lines = [" | ".join(columns)] if columns else []
    lines += [" | ".join(str(json_value(v)) for v in row) for row in run.rows[:rows]]
    if len(run.rows) > rows:
        lines.append(f"... {len(run.rows) - rows} more rows")
    return "\n".join(lines)


def keep_first(sample: Any, rule: str) -> None:
    """No candidate ran: keep the first, say so on the record (StageError, kind database)."""
    from sqlfoundry.methods.stage import StageError

    sample.pred_sql = sample.candidates[0]
    sample.meta["selection"] = {"rule": rule, "chosen": None}
    raise StageError("no candidate executed; kept the first", kind="database")
