"""``execution_match``: EX as a pipeline operator, so evaluation can run on any executor.

``sqlfoundry eval`` judges in this process by default (the fast path: one pass, each
distinct query run once). With ``--executor ray`` or ``--run-dir`` the items go through
a one-step pipeline of this operator instead: checkpointed (a rerun resumes) and spread
over the executor's actors. Each record is one item: ``sql`` the gold, ``pred_sql`` the
prediction; the verdict lands in ``meta["verdict"]``, the same verdict either way.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from sqlfoundry.bench.execution import EvalItem, ItemVerdict, evaluate_execution
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample


class MatchParams(Params):
    """
    Attributes:
        mode: result comparison (``spider``, ``bird``, ``strict``).
        dialect: the queries' SQL dialect.
        squrve: also judge by Squrve's looser match (``ex_squrve``).
    """

    mode: Literal["spider", "bird", "strict"] = "spider"
    dialect: str = "sqlite"
    squrve: bool = False


def item_sample(item: EvalItem) -> Sample:
    """An evaluation item as a record (its index is its id, so the order is kept)."""
    return Sample(id=f"{item.index:08d}", db_id=item.db_id, sql=item.gold, pred_sql=item.pred,
                  candidates=list(item.candidates), hardness=item.hardness,
                  difficulty=item.difficulty,
                  meta={"index": item.index, "gold_alternatives": list(item.gold_alternatives),
                        "item": item.meta, "no_prediction": item.pred is None})  # fmt: skip


def sample_item(sample: Sample) -> EvalItem:
    """The evaluation item a record holds (see :func:`item_sample`)."""
    meta = sample.meta
    return EvalItem(index=meta["index"], db_id=sample.db_id, gold=sample.sql or "",
                    pred=None if meta.get("no_prediction") else sample.pred_sql,
                    hardness=sample.hardness, difficulty=sample.difficulty,
                    candidates=list(sample.candidates),
                    gold_alternatives=list(meta.get("gold_alternatives") or ()),
                    meta=dict(meta.get("item") or {}))  # fmt: skip


def verdict_of(sample: Sample) -> ItemVerdict:
    """The verdict :class:`ExecutionMatch` wrote on ``sample``."""
    return ItemVerdict(**sample.meta["verdict"])


@register
class ExecutionMatch(Operator):
    """Judges each record's ``pred_sql`` against its gold ``sql`` by execution."""

    name = "execution_match"
    inputs = ("db_id", "sql", "pred_sql")
    outputs = ("meta.verdict",)
    Params = MatchParams

    async def process(self, batch: Sequence[Sample], ctx: Any) -> StepOutput:
        items = [sample_item(s) for s in batch]
        params = self.params

        def judge() -> list[ItemVerdict]:
            with ctx._exec_lock:  # the executor's pool serves one caller at a time
                return evaluate_execution(items, ctx.executor, mode=params.mode,
                                          dialect=params.dialect, squrve=params.squrve)  # fmt: skip

        verdicts = await asyncio.to_thread(judge)
        out = StepOutput()
        for sample, verdict in zip(batch, verdicts, strict=True):
            judged = sample.model_copy(deep=True)
            judged.meta["verdict"] = dataclasses.asdict(verdict)
            out.samples.append(judged)
        return out


def load_operators() -> None:
    """Registers ``execution_match`` (this module's import does)."""
