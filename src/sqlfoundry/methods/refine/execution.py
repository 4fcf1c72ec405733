"""``execution_refiner``: repair queries from what the database says when they run.

A query is run (read-only, through the run's executor). When it fails, or
returns no row and ``fix_empty`` is on, the model gets the question, the schema,
the query and that feedback (the database's error message, or "no rows") and
writes a corrected query, which is run again: up to ``max_rounds`` repairs. A
repair identical to the query it was meant to fix ends the loop. The template
decides the voice: ``sql_refinement`` (generic), ``mac_sql_refine`` (MAC-SQL's
Refiner), ``chess_revise`` (CHESS's revision).

``scope = "pred"`` repairs ``pred_sql``; ``scope = "candidates"`` repairs every
candidate that fails (CHESS revises its failing candidates) and ``pred_sql``
follows its candidate. ``meta["refine"]`` says what happened to each query.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.templates import load_template
from sqlfoundry.methods.calls import ask, sql_of
from sqlfoundry.methods.schema_view import SchemaTexts
from sqlfoundry.methods.stage import Stage
from sqlfoundry.synth.prompt_generator import dialect_name

EMPTY = "The query ran without error but returned no rows."


class RefinerParams(Params):
    """
    Attributes:
        template: ``sql_refinement``, ``mac_sql_refine`` or ``chess_revise`` (or any packaged
            template with dialect, schema, question, evidence, sql, feedback).
        max_rounds: repairs per query at most.
        fix_empty: an empty result counts as a failure to repair.
        scope: ``pred`` (the predicted SQL) or ``candidates`` (each failing candidate).
        examples: example values per column in the schema text.
    """

    template: str = "sql_refinement"
    max_rounds: int = Field(3, ge=1, le=10)
    fix_empty: bool = True
    scope: Literal["pred", "candidates"] = "pred"
    examples: int = Field(3, ge=0, le=10)


def feedback_of(result: Any) -> str | None:
    """What to tell the model about a run, or None when the query needs no repair."""
    if result.ok:
        return None if result.rows else EMPTY
    return f"The database refused or failed the query ({result.status}): {result.error}"


@register
class ExecutionRefiner(Stage):
    """Repairs failing queries from their execution feedback (see the module doc)."""

    name = "execution_refiner"
    kind = "optimize"
    method = "refine"
    inputs = ("question", "db_id")
    uses = ("pred_sql", "candidates", "evidence", "schema_subset")
    outputs = ("pred_sql", "candidates", "meta.refine")
    merge = {"pred_sql": "overwrite", "candidates": "overwrite"}
    needs = frozenset({"llm", "executor", "databases"})
    Params = RefinerParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.template = load_template(self.params.template)
        self.texts = SchemaTexts(self.params.examples)

    def required(self) -> tuple[str, ...]:
        return (*self.inputs, "pred_sql" if self.params.scope == "pred" else "candidates")

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        if self.params.scope == "pred":
            sample.pred_sql, report = await self.repair(sample, ctx, sample.pred_sql)
            sample.meta["refine"] = [report]
            return
        reports, fixed = [], []
        for sql in sample.candidates:
            new, report = await self.repair(sample, ctx, sql)
            fixed.append(new)
            reports.append(report)
        if sample.pred_sql in sample.candidates:
            sample.pred_sql = fixed[sample.candidates.index(sample.pred_sql)]
        sample.candidates = fixed
        sample.meta["refine"] = reports

    async def repair(self, sample: Sample, ctx: RunContext, sql: str) -> tuple[str, dict[str, Any]]:
        """The query after at most ``max_rounds`` repairs, and what happened."""
        rounds = 0
        history: list[str] = []
        while True:
            (result,) = await ctx.execute([(sql, sample.db_id)])
            feedback = feedback_of(result)
            if feedback == EMPTY and not self.params.fix_empty:
                feedback = None
            if feedback is None or rounds >= self.params.max_rounds:
                status = "ok" if feedback is None else ("empty" if feedback == EMPTY else "error")
                return sql, {"rounds": rounds, "status": status, "history": history}
            rounds += 1
            messages = self.template.render(**self._values(sample, ctx, sql, feedback))
            (text,) = await ask(ctx, sample, self.name, messages)
            new = sql_of(text, "repaired SQL")
            history.append(feedback)
            if new.strip() == sql.strip():
                return sql, {"rounds": rounds, "status": "unchanged", "history": history}
            sql = new

    def _values(self, sample: Sample, ctx: RunContext, sql: str, feedback: str) -> dict[str, Any]:
        values = {
            "dialect": dialect_name(self.texts.schema(ctx, sample).dialect),
            "schema": self.texts.text(ctx, sample),
            "question": sample.question,
            "evidence": sample.evidence,
            "sql": sql,
            "feedback": feedback,
        }
        return {k: v for k, v in values.items() if k in self.template.variables}
