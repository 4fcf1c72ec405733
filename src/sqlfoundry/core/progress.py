"""Progress from inside a batch: a step that runs as one long batch still moves its bar.

The pipeline reports a step's progress as batches finish. A step whose work comes
in few, long batches (the first synthesis step gets one seed per database, all in
one batch) would show nothing until the end, so an operator may say how far into
its batch it is with :func:`report`; the pipeline adds that share to the count of
finished batches. Outside a pipeline run, :func:`report` does nothing.

The hook lives in a context variable, so concurrent batches (asyncio tasks) and
the worker threads they start (``asyncio.to_thread`` copies the context) each
report for their own batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_hook: ContextVar[Callable[[float], None] | None] = ContextVar("sqlfoundry_batch", default=None)


def report(done: int, total: int) -> None:
    """``done`` of ``total`` units of the current batch are finished (nothing when ``done``
    is 0: the pipeline reports every step's start itself)."""
    hook = _hook.get()
    if hook is not None and total > 0 and done > 0:
        hook(min(max(done / total, 0.0), 1.0))


@contextmanager
def batch_progress(hook: Callable[[float], None]) -> Iterator[None]:
    """Send :func:`report` calls made in this context to ``hook(fraction of the batch)``."""
    token = _hook.set(hook)
    try:
        yield
    finally:
        _hook.reset(token)
