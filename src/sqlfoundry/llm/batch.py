"""Run thousands of chat requests with bounded concurrency and a progress bar.

A failed item never fails the batch: its ``error`` is set and the others go on.
Only an endpoint-level error (unreachable, refused key, unknown model, a
request the server refuses as malformed) stops the batch, because every other
item would fail the same way; what finished before is already in the cache, so
a fixed re-run resumes for free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.progress import ProgressColumn, Task
from rich.text import Text

from sqlfoundry.core.errors import LLMContextLengthError, LLMEndpointError, LLMItemError
from sqlfoundry.llm.client import DEFAULT_OPERATOR, LLMClient
from sqlfoundry.llm.generation import Generation


@dataclass
class LLMRequest:
    """One prompt of a batch. ``params`` are ``LLMClient.generate`` keyword arguments
    (temperature, top_p, max_tokens, stop, seed, extra_body, top_logprobs)."""

    messages: Sequence[Mapping[str, Any]]
    n: int = 1
    logprobs: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchItem:
    """The outcome of one request: generations, or the error that stopped it."""

    index: int
    request: LLMRequest
    generations: list[Generation] = field(default_factory=list)
    error: LLMItemError | None = None

    @property
    def ok(self) -> bool:
        """Whether the request got its generations (no error)."""
        return self.error is None

    @property
    def cached(self) -> bool:
        """Whether every generation came from the cache."""
        return bool(self.generations) and all(g.cached for g in self.generations)

    @property
    def text(self) -> str | None:
        """The first generation's text, the common case of n=1."""
        return self.generations[0].text if self.generations else None


async def run_batch(
    client: LLMClient,
    requests: Sequence[LLMRequest],
    *,
    operator: str = DEFAULT_OPERATOR,
    progress: bool | Any = False,
    description: str | None = None,
    concurrency: int | None = None,
    max_consecutive_failures: int | None = 50,
    on_item: Callable[[BatchItem], None] | None = None,
) -> list[BatchItem]:
    """Send every request; results come back in request order.

    Args:
        client: the LLM client; its semaphore bounds the HTTP concurrency.
        requests: the prompts.
        operator: the name usage is counted under.
        progress: True for a rich progress bar on stderr, or a ``rich.progress.Progress``
            to add a task to.
        description: the progress bar's label (the operator name by default).
        concurrency: how many requests are worked on at once; ``max_concurrency``
            by default. More than that only queues on the client's semaphore.
        max_consecutive_failures: stop when this many requests in a row have failed
            (timeouts, 5xx or malformed answers that outlast the retries): the endpoint
            is down or overloaded and every remaining item would fail the same way,
            slowly. Prompts too long for the model do not count. None never stops.
        on_item: called with each item as soon as it is answered (or has failed), in
            the order answers arrive: the caller's work on an answer (parsing, running
            its SQL) then overlaps with the requests still in flight.

    Raises:
        LLMEndpointError: the endpoint cannot serve the batch; the other
            in-flight requests are cancelled.
    """
    items = [BatchItem(i, request) for i, request in enumerate(requests)]
    if not items:
        return items
    workers = min(concurrency or client.config.max_concurrency, len(items))
    queue = iter(items)
    bar = _Bar(progress, description or operator, len(items))
    streak = 0

    async def worker() -> None:
        nonlocal streak
        for item in queue:
            request = item.request
            try:
                item.generations = await client.generate(
                    request.messages,
                    n=request.n,
                    logprobs=request.logprobs,
                    operator=operator,
                    **request.params,
                )
            except LLMItemError as err:
                item.error = err
            if item.error is None or isinstance(item.error, LLMContextLengthError):
                streak = 0
            else:
                streak += 1
                if max_consecutive_failures and streak >= max_consecutive_failures:
                    raise LLMEndpointError(
                        f"{streak} requests in a row failed; the last: {item.error.message}",
                        base_url=client.base_url,
                        model=client.model,
                        status=item.error.status,
                        hint="the endpoint looks down or overloaded; finished answers are cached, "
                        "so a re-run resumes",
                    )
            bar.advance(item)
            if on_item is not None:
                on_item(item)

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        bar.close()
    return items


class _Bar:
    """A rich progress bar with cache hits, failures and requests per second."""

    def __init__(self, progress: bool | Any, description: str, total: int) -> None:
        self._own = None
        self._progress = None
        self._cached = 0
        self._failed = 0
        if progress is False or progress is None:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        if progress is True:
            from rich.console import Console

            self._own = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                _RateColumn(),
                TextColumn("cached {task.fields[cached]} · failed {task.fields[failed]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                refresh_per_second=4,
            )
            self._own.start()
            self._progress = self._own
        else:
            self._progress = progress
        self._task = self._progress.add_task(description, total=total, cached=0, failed=0)

    def advance(self, item: BatchItem) -> None:
        if self._progress is None:
            return
        if item.cached:
            self._cached += 1
        if not item.ok:
            self._failed += 1
        self._progress.update(self._task, advance=1, cached=self._cached, failed=self._failed)

    def close(self) -> None:
        if self._own is not None:
            self._own.stop()


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.0f} req/s" if task.speed else "", style="progress.data.speed")
