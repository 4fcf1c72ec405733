"""``first_valid_selector``: the first candidate that runs (and, by default, returns rows)."""

from __future__ import annotations

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.select.execution import keep_first, run_candidates
from sqlfoundry.methods.stage import Stage


class FirstValidParams(Params):
    """
    Attributes:
        allow_empty: a query that runs but returns no row counts as valid.
    """

    allow_empty: bool = False


@register
class FirstValidSelector(Stage):
    """Writes ``pred_sql``: the first candidate that executes (with rows unless ``allow_empty``)."""

    name = "first_valid_selector"
    kind = "select"
    method = "first_valid"
    inputs = ("db_id", "candidates")
    outputs = ("pred_sql", "meta.selection")
    merge = {"pred_sql": "overwrite"}
    needs = frozenset({"executor", "databases"})
    Params = FirstValidParams

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        runs = await run_candidates(ctx, sample.db_id, sample.candidates)
        ran = [r for r in runs if r.ok]
        chosen = next((r for r in ran if r.rows or self.params.allow_empty), None)
        chosen = chosen or (ran[0] if ran else None)
        if chosen is None:
            keep_first(sample, "first_valid")
        sample.pred_sql = chosen.sql
        sample.meta["selection"] = {"rule": "first_valid", "chosen": chosen.index}
