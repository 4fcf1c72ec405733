"""``din_sql_corrector``: DIN-SQL's self-correction (template ``din_sql_correct``).

The model reviews the generated query against the schema's tables, columns and
keys and returns it fixed, or unchanged when it has no bug. It does not run the
query (``execution_refiner`` does). Squrve's ``DINSQLOptimizer``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.templates import render_prompt
from sqlfoundry.methods.calls import ask, sql_of
from sqlfoundry.methods.schema_view import SchemaTexts
from sqlfoundry.methods.stage import Stage
from sqlfoundry.synth.prompt_generator import dialect_name


class CorrectorParams(Params):
    """
    Attributes:
        examples: example values per column in the DDL.
    """

    examples: int = Field(3, ge=0, le=10)


@register
class DinSqlCorrector(Stage):
    """Overwrites ``pred_sql`` with DIN-SQL's self-corrected version of it."""

    name = "din_sql_corrector"
    kind = "optimize"
    method = "din_sql"
    inputs = ("question", "db_id", "pred_sql")
    uses = ("evidence", "schema_subset")
    outputs = ("pred_sql", "meta.corrected")
    merge = {"pred_sql": "overwrite"}
    needs = frozenset({"llm", "databases"})
    Params = CorrectorParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.texts = SchemaTexts(self.params.examples)

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        messages = render_prompt(
            "din_sql_correct", dialect=dialect_name(self.texts.schema(ctx, sample).dialect),
            schema=self.texts.text(ctx, sample), question=sample.question,
            evidence=sample.evidence, sql=sample.pred_sql,
        )  # fmt: skip
        (text,) = await ask(ctx, sample, self.name, messages)
        fixed = sql_of(text, "corrected SQL")
        sample.meta["corrected"] = fixed.strip() != (sample.pred_sql or "").strip()
        sample.pred_sql = fixed
