"""A step's output as it is written, read in order by the step after it while both run.

The local executor runs the steps of a run with an LLM at the same time: the next
step cuts its batches from this step's records as soon as they are on disk, instead
of waiting for this step's slowest answer. A step's batches finish out of order; the
next step reads them in order, from the same checkpoint files it would read after
the step had finished, so its batches hold the same records and its checkpoints are
the same bytes.

A batch that makes its records over a long time (the SQL generator's rounds) may
hand on the first ones before it ends, with :func:`hand_on`: they are final, and the
batch's output begins with them. The next step reads them as soon as every batch
before is written. Outside a local run, :func:`hand_on` does nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import islice
from pathlib import Path
from typing import Any

from sqlfoundry.core.io import decode_line
from sqlfoundry.core.runs import read_jsonl_dicts
from sqlfoundry.core.sample import Sample

_hook: ContextVar[Callable[[Sequence[Sample]], None] | None] = ContextVar(
    "sqlfoundry_hand_on", default=None
)


def hand_on(samples: Sequence[Sample]) -> None:
    """The next records of the current batch's output, final: the step after may start
    on them before the batch ends. The batch must return them first, in this order,
    unchanged."""
    hook = _hook.get()
    if hook is not None and samples:
        hook(samples)


@contextmanager
def handing_on(hook: Callable[[Sequence[Sample]], None]) -> Iterator[None]:
    """Send :func:`hand_on` calls made in this context to ``hook``."""
    token = _hook.set(hook)
    try:
        yield
    finally:
        _hook.reset(token)


def batch_path(step_dir: Path, k: int) -> Path:
    """Batch ``k``'s data file in a step folder (the local executor's layout)."""
    return step_dir / f"batch-{k:05d}.jsonl"


def _file_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line


class StepStream:
    """The records of one step, in order, as its batches are written (or handed on).

    Either a step folder filling up (:meth:`written` per batch, then :meth:`end`), or
    records that are all there already (:meth:`given`: a run's input, a step a Ray run
    finished).

    Args:
        step_dir: the folder the step writes its batches into.
        upstream: the stream the step reads (to estimate how many records are coming).
    """

    def __init__(self, step_dir: Path | None = None, upstream: StepStream | None = None) -> None:
        self.step_dir = step_dir
        self.upstream = upstream
        self.count = 0  # records written so far (all of them once ended)
        self.ended = False
        self.unfinished = False  # meaningful once ended: some record may change on a re-run
        self._ready = 0  # batches 0 .. _ready-1 are written
        self._written: set[int] = set()
        self._early: dict[int, list[str]] = {}  # lines a running batch has handed on
        self._source: Callable[[], Iterator[Any]] | None = None
        self._changed = asyncio.Event()

    @classmethod
    def given(cls, source: Callable[[], Iterator[Any]], count: int,
              unfinished: bool = False) -> StepStream:  # fmt: skip
        """Records that are all there: ``source()`` gives them (Samples or JSON lines)."""
        stream = cls()
        stream._source, stream.count, stream.ended = source, count, True
        stream.unfinished = unfinished
        return stream

    @property
    def expected(self) -> int:
        """How many records the step is expected to write: all of them once it has ended;
        before, at least as many as its input (a filter's bound), for a progress bar."""
        if self.ended or self.upstream is None:
            return self.count
        return max(self.count, self.upstream.expected)

    def written(self, k: int, records: int) -> None:
        """Batch ``k`` (``records`` records) is on disk."""
        self.count += records
        self._written.add(k)
        self._early.pop(k, None)
        while self._ready in self._written:
            self._written.discard(self._ready)
            self._ready += 1
        self._notify()

    def handed_on(self, k: int, lines: Sequence[str]) -> None:
        """Running batch ``k``'s output begins with these records (and those handed on
        before), as the JSON lines its checkpoint will hold."""
        self._early.setdefault(k, []).extend(lines)
        self._notify()

    def end(self, *, unfinished: bool, source: Callable[[], Iterator[Any]] | None = None,
            count: int | None = None) -> None:  # fmt: skip
        """Every batch is written (or, with ``source``, the records are read from there)."""
        if source is not None:
            self._source = source
            self.count = count if count is not None else self.count
        self.ended, self.unfinished = True, unfinished
        self._notify()

    async def wait_ended(self) -> None:
        """Return once the step has ended (every batch written, or its records given)."""
        while not self.ended:
            await self._changed.wait()

    async def records(self, lines: bool = False) -> AsyncIterator[Any]:
        """The records in order, as Samples (or their JSON lines), each batch as soon
        as it and every batch before it are written; ends when the step has ended."""
        k = seen = 0  # batch k, the first `seen` of its records read as it handed them on
        while self._source is None:
            if k < self._ready:
                path = batch_path(self.step_dir, k)  # type: ignore[arg-type]
                for item in islice(
                    _file_lines(path) if lines else read_jsonl_dicts(path), seen, None
                ):
                    yield item if lines else Sample(**item)
                k, seen = k + 1, 0
            elif self.ended:
                return
            elif seen < len(self._early.get(k, ())):
                line = self._early[k][seen]
                seen += 1
                yield line + "\n" if lines else Sample(**decode_line(line))
            else:
                await self._changed.wait()
        if k == 0:  # a stream of given records
            for item in self._source():
                yield item

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
