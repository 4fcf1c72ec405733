"""Progress inside a batch: a step of one long batch still moves, in order, to the end."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.core import progress
from sqlfoundry.core.operator import Operator, StepOutput
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.sample import Sample


class _Counting(Operator):
    """Reports after each record, some of them from a worker thread."""

    name = "counting"
    inputs = ("db_id",)
    outputs = ()

    async def process(self, batch: Sequence[Sample], ctx: Any) -> StepOutput:
        for i in range(len(batch)):
            if i % 2:
                await asyncio.to_thread(progress.report, i + 1, len(batch))
            else:
                progress.report(i + 1, len(batch))
            await asyncio.sleep(0)
        return StepOutput(samples=list(batch))


def seeds(n: int) -> list[Sample]:
    return [Sample(id=f"s{i}", db_id=f"d{i}") for i in range(n)]


def test_one_batch_reports_its_share_as_it_goes(tmp_path: Path):
    seen: list[tuple[str, float, int]] = []
    Pipeline([_Counting()], batch_size=10).run(
        seeds(4), tmp_path, progress=lambda *a: seen.append(a)
    )
    assert seen == [("counting", 0, 1), ("counting", 0.25, 1), ("counting", 0.5, 1), ("counting", 0.75, 1),
                    ("counting", 1.0, 1), ("counting", 1, 1)]  # fmt: skip


def test_concurrent_batches_add_up_and_never_go_back(tmp_path: Path):
    seen: list[float] = []
    pipeline = Pipeline([_Counting()], batch_size=2, concurrent_batches=3)
    pipeline.run(seeds(6), tmp_path, progress=lambda op, done, total: seen.append(done))
    assert seen == sorted(seen) and seen[0] == 0 and seen[-1] == 3 and len(seen) == 10
    assert any(d != int(d) for d in seen)  # fractions between whole batches


def test_report_outside_a_run_does_nothing():
    progress.report(1, 2)  # no hook: no error, no effect


def test_resumed_batches_still_count(tmp_path: Path):
    Pipeline([_Counting()], batch_size=2).run(seeds(4), tmp_path)
    seen: list[float] = []
    Pipeline([_Counting()], batch_size=2).run(seeds(4), tmp_path,
                                               progress=lambda op, d, t: seen.append(d))  # fmt: skip
    assert seen == [0, 1, 2]  # read from the checkpoints, no partial reports
