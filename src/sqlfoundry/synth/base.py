"""What synthesis operators share: the engine switch and provenance stamps.

An operator with two engines subclasses :class:`EngineOperator` and implements
``process_offline`` and ``process_llm``. ``engine="auto"`` (the default) picks
the LLM engine when the run has an LLM and the offline engine otherwise; the
choice is part of the step's signature, so switching engines re-runs the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.sample import Sample

Engine = Literal["auto", "offline", "llm"]


class EngineParams(Params):
    engine: Engine = "auto"


class EngineOperator(Operator):
    """An operator with an offline engine (the default) and an LLM engine."""

    Params = EngineParams

    def engine(self, ctx: RunContext | None) -> str:
        """``offline`` or ``llm``: what ``engine="auto"`` means for this run."""
        chosen = self.params.engine
        if chosen == "auto":
            return "llm" if ctx is not None and ctx.llm is not None else "offline"
        return chosen

    def context_identity(self, ctx: Any) -> dict[str, Any]:
        engine = self.engine(ctx)
        out: dict[str, Any] = {"engine": engine}
        if engine == "llm" and ctx is not None and ctx.llm is not None:
            out["model"] = getattr(ctx.llm, "model", None)
        return out

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        if self.engine(ctx) == "llm":
            ctx.require_llm(self.name)
            return await self.process_llm(batch, ctx)
        return await self.process_offline(batch, ctx)

    async def process_offline(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        """Process ``batch`` with the offline engine (deterministic algorithms, no model)."""
        raise NotImplementedError(f"{self.name} has no offline engine")

    async def process_llm(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        """Process ``batch`` with the LLM engine (``ctx.llm``)."""
        raise NotImplementedError(f"{self.name} has no LLM engine")


def changed_copy(sample: Sample, update: dict[str, Any] | None = None) -> Sample:
    """A copy of ``sample`` for an operator to change: ``update`` set, with a ``meta`` and
    a ``meta["provenance"]`` list of its own, so that new ``meta`` entries and a
    :func:`stamp` leave ``sample`` as it was. Other nested values (a ``meta`` entry's
    dict, the candidates) are shared with ``sample``: they are replaced, never changed in
    place. A deep copy of every record's ``meta`` at every step cost as much as a step."""
    clone = sample.model_copy(update=update)
    meta = dict(sample.meta)
    provenance = meta.get("provenance")
    if type(provenance) is list:
        meta["provenance"] = list(provenance)
    clone.__dict__["meta"] = meta
    return clone


def stamp(sample: Sample, operator: str, engine: str, **info: Any) -> Sample:
    """Record in ``meta`` that ``operator`` worked on ``sample`` with ``engine``.

    ``meta["engine"]`` is the engine of the latest step; ``meta["provenance"]``
    lists every step, with whatever ``info`` the operator adds (seed SQL, style,
    parse failures...). Returns the sample, changed in place.
    """
    sample.meta["engine"] = engine
    sample.meta.setdefault("provenance", []).append(
        {"operator": operator, "engine": engine, **info}
    )
    return sample
