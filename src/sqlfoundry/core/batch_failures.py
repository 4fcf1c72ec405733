"""LLM requests that failed for a passing reason, counted per batch.

The client counts such failures (timeouts, 5xx, malformed answers past their retries)
for the run, and also for the batch whose task, or a task or thread started from it,
made the request. With the steps of a run going at once, the run's count rises for
every batch in flight, so a batch's own count is what says it is not final.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

_BATCH_FAILURES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "sqlfoundry_batch_failures", default=None
)
_TALLY_LOCK = threading.Lock()


def note_transient_failure() -> None:
    """Count a request that failed for a passing reason against the batch making it."""
    tally = _BATCH_FAILURES.get()
    if tally is not None:
        with _TALLY_LOCK:
            tally[0] += 1


@contextlib.contextmanager
def batch_failures() -> Iterator[list[int]]:
    """Within the block, ``tally[0]`` counts the passing failures of this batch's requests."""
    tally = [0]
    token = _BATCH_FAILURES.set(tally)
    try:
        yield tally
    finally:
        _BATCH_FAILURES.reset(token)
