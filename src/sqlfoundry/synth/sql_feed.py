"""SQLFeed: run a step's queries while its LLM requests are still in flight.

An LLM step that checks answers by running them used to wait for its last answer,
then run every query at once: the endpoint idle while the SQL ran, the SQL idle
while the endpoint answered. A feed takes queries as answers arrive and runs them
on the run's executor (off the event loop) a chunk at a time: whatever came in
while the previous chunk ran goes next. Each distinct ``(sql, db_id)`` runs once
per feed; results are what ``ctx.execute`` gives, so they do not depend on when
or with which others a query ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlfoundry.core.context import RunContext

Job = tuple[str, str]


class SQLFeed:
    """Queries handed in at any time, run in chunks; ``await run(jobs)`` for results."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._futures: dict[Job, asyncio.Future[Any]] = {}
        self._queue: list[Job] = []
        self._drain: asyncio.Task[None] | None = None

    def submit(self, jobs: Sequence[Job]) -> None:
        """Queue ``jobs`` not seen yet; they start with the next chunk."""
        loop = asyncio.get_running_loop()
        for job in jobs:
            if job not in self._futures:
                self._futures[job] = loop.create_future()
                self._queue.append(job)
        if self._queue and (self._drain is None or self._drain.done()):
            self._drain = asyncio.create_task(self._run_queue())

    async def run(self, jobs: Sequence[Job]) -> list[Any]:
        """The ``ExecResult`` of each job, in order (queued first if new)."""
        self.submit(jobs)
        return list(await asyncio.gather(*(self._futures[job] for job in jobs)))

    async def _run_queue(self) -> None:
        while self._queue:
            chunk, self._queue = self._queue, []
            try:
                results = await self._ctx.execute(chunk)
            except Exception as err:  # no executor, a broken pool: every waiter hears it
                for job in chunk:
                    self._futures[job].set_exception(err)
                continue
            except BaseException:
                for job in chunk + self._queue:
                    self._futures[job].cancel()
                raise
            for job, result in zip(chunk, results, strict=True):
                self._futures[job].set_result(result)

    async def aclose(self) -> None:
        """Wait for the running chunk (a step ends with no query left running)."""
        if self._drain is not None:
            await asyncio.gather(self._drain, return_exceptions=True)
