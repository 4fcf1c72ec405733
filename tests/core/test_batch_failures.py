"""Passing LLM failures are counted for the batch that made the request, not for the
other batches in flight at the same time (the steps of a run go at once)."""

from __future__ import annotations

import asyncio

from sqlfoundry.core.batch_failures import batch_failures, note_transient_failure


def test_each_batch_counts_only_its_own_failures():
    async def batch(fails: int, gate: asyncio.Event) -> int:
        with batch_failures() as tally:
            await gate.wait()  # both batches are in flight before anything fails

            async def request() -> None:
                note_transient_failure()

            # From the batch's task, a task it started and a thread it started.
            for _ in range(fails):
                note_transient_failure()
            if fails:
                await asyncio.gather(asyncio.create_task(request()))
                await asyncio.to_thread(note_transient_failure)
            await asyncio.sleep(0)
            return tally[0]

    async def main() -> list[int]:
        gate = asyncio.Event()
        runs = [asyncio.ensure_future(batch(n, gate)) for n in (2, 0, 1)]
        await asyncio.sleep(0)
        gate.set()
        return list(await asyncio.gather(*runs))

    assert asyncio.run(main()) == [4, 0, 3]
    note_transient_failure()  # outside any batch: counted nowhere, no error
