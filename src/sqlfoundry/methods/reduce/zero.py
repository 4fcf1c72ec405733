"""``zero_reducer``: every table and column is kept (Squrve's ``ZeroReducer``)."""

from __future__ import annotations

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.schema_view import whole_subset
from sqlfoundry.methods.stage import Stage


@register
class ZeroReducer(Stage):
    """Writes ``schema_subset`` = the whole schema, so later stages and metrics see a subset."""

    name = "zero_reducer"
    kind = "reduce"
    method = "zero"
    inputs = ("db_id",)
    outputs = ("schema_subset",)
    needs = frozenset({"databases"})

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        sample.schema_subset = whole_subset(ctx.schema(sample.db_id, sample_values=0))
