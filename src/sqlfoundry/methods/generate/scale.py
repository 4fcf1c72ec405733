"""``sample_scaler``: run a generator ``n`` times and keep every answer as a candidate.

Each repetition runs the contained stages on the records with its own sampling
seed and ``temperature`` (:data:`~sqlfoundry.methods.calls.SAMPLING`), so a
multi-call generator such as the ``din_sql`` preset is sampled whole. The
repetitions run at once. A record's ``candidates`` are the repetitions'
``pred_sql`` in order, ``pred_sql`` the first of them; usage is summed and
errors are kept. For a one-call generator, its own ``n`` parameter asks for the
samples in one request instead (cheaper).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.calls import SAMPLING, Sampling, add_usage, usage_delta
from sqlfoundry.methods.compose import CompositeParams, SequenceOperator, run_in_order


class SampleScalerParams(CompositeParams):
    """
    Attributes:
        stages: the generator's stages (a preset's stage list, or one generator).
        n: repetitions, i.e. candidates per question.
        temperature: sampling temperature of every LLM call inside.
    """

    n: int = Field(5, ge=1, le=64)
    temperature: float = Field(0.8, ge=0.0, le=2.0)


@register
class SampleScaler(SequenceOperator):
    """Writes ``candidates`` (and ``pred_sql``): ``n`` runs of the contained stages."""

    name = "sample_scaler"
    kind = "scale"
    method = "sample"
    outputs = ("pred_sql", "candidates")
    Params = SampleScalerParams

    def written_outputs(self) -> set[str]:
        """The fields the scaled generator writes: its own and ``pred_sql`` / ``candidates``."""
        return super().written_outputs() | {"pred_sql", "candidates"}

    async def process(self, batch: Sequence[Sample], ctx: Any) -> StepOutput:
        self.check_context(ctx)
        base = getattr(ctx, "seed", 0) * 1000

        async def repetition(i: int) -> list[Sample]:
            SAMPLING.set(Sampling(temperature=self.params.temperature, seed=base + i))
            return await run_in_order(self.children, batch, ctx)

        runs = await asyncio.gather(*(repetition(i) for i in range(self.params.n)))
        by_id = [{s.id: s for s in run} for run in runs]
        return StepOutput(samples=[self._combine(s, [r[s.id] for r in by_id if s.id in r])
                                   for s in batch])  # fmt: skip

    @staticmethod
    def _combine(base: Sample, runs: list[Sample]) -> Sample:
        out = (runs[0] if runs else base).model_copy(deep=True)
        found = [r.pred_sql for r in runs if r.pred_sql]
        out.candidates = [*base.candidates, *found]
        out.pred_sql = found[0] if found else base.pred_sql
        before = base.meta.get("usage") or {}
        usage: dict[str, dict] = {}
        add_usage(usage, before)
        errors: list[dict] = list(base.meta.get("errors") or [])
        start = len(errors)
        for run in runs:
            add_usage(usage, usage_delta(before, run.meta.get("usage") or {}))
            errors.extend((run.meta.get("errors") or [])[start:])
        if usage:
            out.meta["usage"] = usage
        if errors:
            out.meta["errors"] = errors
        return out
