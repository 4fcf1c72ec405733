"""SQLExecutionFilter: keep only records whose SQL runs, read-only, on its database.

Every record's SQL goes to the run's SafeExecutor in one batch (identical
``(SQL, db_id)`` pairs run once). A record is dropped, with one of these
reasons, when its query

* is missing, or its ``db_id`` is: ``missing field: SQL`` / ``missing field: db_id``;
* names a database the run does not have: ``unknown database: <db_id>``;
* is refused by the read-only guard: ``not a read-only query: <why>``;
* fails: ``execution failed: <error>``; runs past the executor's timeout:
  ``execution timed out``;
* and, when asked for, returns no rows (``empty result``), only NULLs
  (``all values are NULL``) or more than ``max_rows`` rows
  (``too many rows: more than <max_rows>``).

A kept record gets ``meta["execution"]``: the row count, the column names, the
time the query took and a preview of its first rows, so later steps (and
people reading the data) see what the SQL returns without running it again.

The timeout and the executor's row cap are the run's (``[synth] timeout``),
not parameters here, so every step that runs SQL agrees on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample, copy_data
from sqlfoundry.db.base import ExecResult, json_value
from sqlfoundry.synth.base import changed_copy, stamp

# Distinct queries of a batch whose results are held at once.
_RESULTS_HELD = 32


class ExecutionFilterParams(Params):
    """
    Attributes:
        drop_empty: drop queries that return no rows (an empty answer teaches little
            and cannot tell a right query from a wrong one).
        drop_all_null: drop queries whose rows hold only NULLs.
        max_rows: drop queries returning more than this many rows (None: no limit).
            Rows are fetched up to the executor's row cap, so keep this below it.
        preview_rows: how many leading rows ``meta["execution"]["preview"]`` keeps.
    """

    drop_empty: bool = False
    drop_all_null: bool = False
    max_rows: int | None = Field(None, ge=1)
    preview_rows: int = Field(3, ge=0)


@register
class SQLExecutionFilter(Operator):
    """Drops records whose SQL does not run read-only on its database; see the module doc."""

    name = "sql_execution_filter"
    inputs = ("sql", "db_id")
    outputs = ("meta",)  # meta["execution"]
    Params = ExecutionFilterParams

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        runnable: list[Sample] = []
        for sample in batch:
            reason = self._input_problem(sample, ctx)
            if reason:
                out.rejects.append(self.reject(sample, reason))
            else:
                runnable.append(sample)

        jobs = list(dict.fromkeys((s.sql, s.db_id) for s in runnable))
        # Of each result only its verdict and summary are kept, and the results are held a
        # slice of the batch at a time: a batch of big results was a worker's peak memory.
        verdicts: dict[tuple[str, str], tuple[str | None, dict[str, Any] | None]] = {}
        for first in range(0, len(jobs), _RESULTS_HELD):
            part = jobs[first : first + _RESULTS_HELD]
            for job, result in zip(part, await ctx.execute(part), strict=True):
                reason = self.result_problem(result)
                verdicts[job] = (reason, None if reason else self.summary(result))
        for sample in runnable:
            reason, summary = verdicts[(sample.sql, sample.db_id)]
            if reason:
                out.rejects.append(self.reject(sample, reason))
                continue
            kept = changed_copy(sample)
            kept.meta["execution"] = copy_data(summary)
            out.samples.append(stamp(kept, self.name, "offline"))
        return out

    @staticmethod
    def _input_problem(sample: Sample, ctx: RunContext) -> str | None:
        if not sample.sql or not sample.sql.strip():
            return "missing field: SQL"
        if not sample.db_id:
            return "missing field: db_id"
        if not ctx.has_database(sample.db_id):
            return f"unknown database: {sample.db_id}"
        return None

    def result_problem(self, result: ExecResult) -> str | None:
        """The reject reason for one execution result, or None to keep the record."""
        if result.status == "timeout":
            return "execution timed out"
        if result.status == "rejected":
            return f"not a read-only query: {result.error}"
        if not result.ok:
            if result.error_type == "DatabaseNotFoundError":
                return f"unknown database: {result.db_id}"
            return f"execution failed: {result.error}"
        p = self.params
        if p.drop_empty and not result.rows:
            return "empty result"
        if p.drop_all_null and result.rows and all(v is None for r in result.rows for v in r):
            return "all values are NULL"
        if p.max_rows is not None and _more_rows_than(result, p.max_rows):
            return f"too many rows: more than {p.max_rows}"
        return None

    def summary(self, result: ExecResult) -> dict[str, Any]:
        # No timings here: the same seed must give byte-identical data.
        """What a record's ``meta["execution"]`` keeps of a result: row count, columns and a preview."""
        info: dict[str, Any] = {
            "row_count": len(result.rows),
            "columns": list(result.columns),
            "preview": [
                [json_value(v) for v in row] for row in result.rows[: self.params.preview_rows]
            ],
        }
        if result.truncated:
            # row_count is the executor's row cap; the query returns more.
            info["truncated"] = True
        return info


def _more_rows_than(result: ExecResult, limit: int) -> bool:
    # A truncated result has more rows than it holds, so holding ``limit`` is enough.
    held = len(result.rows)
    return held > limit or (result.truncated and held >= limit)
