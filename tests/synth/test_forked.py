"""The record-by-record offline steps on two processes give what one process gives."""

from __future__ import annotations

import os

import pytest
from synth_testing import run

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.cpu import can_fork
from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.synth import forked
from sqlfoundry.synth.forked import across_processes, shares
from sqlfoundry.synth.sql_generator import SQLGenerator

DEMO = ("bookshop", "clinic", "airline")
STEPS = ("question_generator", "sql_consistency_filter", "prompt_generator", "cot_generator",
         "component_classifier")  # fmt: skip

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs fork")


def test_shares_are_contiguous_and_cover_the_batch():
    batch = list(range(10))
    assert shares(batch, 3) == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert shares(batch[:1], 4) == [[0]]


def _records(ctx: RunContext) -> list[Sample]:
    seeds = [Sample(id=f"seed-{d}", db_id=d) for d in DEMO]
    return run(SQLGenerator(num_per_db=40).process(seeds, ctx)).samples


def _steps(records: list[Sample], ctx: RunContext) -> list[StepOutput]:
    outs = []
    for name in STEPS:
        offline = name not in ("prompt_generator", "component_classifier")
        out = run(build(name, {"engine": "offline"} if offline else {}).process(records, ctx))
        outs.append(out)
        records = out.samples
    return outs


def _dump(outs: list[StepOutput]) -> list[tuple]:
    return [([s.to_json_dict() for s in o.samples],
             sorted((r.sample.id, r.operator, r.reason) for r in o.rejects)) for o in outs]  # fmt: skip


def test_two_processes_give_what_one_gives(demo_root, monkeypatch):
    manager = DatabaseManager(root=demo_root)
    with SafeExecutor(manager, workers=0, timeout=10) as executor:
        ctx = RunContext(databases=manager, executor=executor, seed=7)
        records = _records(ctx)
        assert len(records) == 120
        one = _steps(records, ctx)
    split = []
    real = forked.shares
    monkeypatch.setattr(forked, "shares", lambda batch, n: split.append(n) or real(batch, n))
    monkeypatch.setattr(forked, "MIN_SHARE", 16)
    with SafeExecutor(manager, workers=2, timeout=10) as executor:
        two = _steps(records, RunContext(databases=manager, executor=executor, seed=7))
    assert split == [2] * len(STEPS)  # every step forked once
    assert _dump(two) == _dump(one)
    assert all(o.samples for o in two)


def test_a_failed_share_is_worked_on_here(demo_ctx, monkeypatch):
    seen = []

    async def work(batch, ctx):
        if os.getpid() != parent:
            raise RuntimeError("boom")  # only in the child
        seen.extend(s.id for s in batch)
        return StepOutput(samples=list(batch))

    parent = os.getpid()
    batch = [Sample(id=str(i), db_id="bookshop") for i in range(8)]
    ctx = RunContext(databases=demo_ctx.databases, executor=SafeExecutor(
        demo_ctx.databases, workers=2, timeout=5), seed=1)  # fmt: skip
    try:
        out = run(across_processes(work, batch, ctx, min_share=2))
    finally:
        ctx.executor.close()
    assert [s.id for s in out.samples] == [str(i) for i in range(8)]
    assert seen == [str(i) for i in range(8)]
