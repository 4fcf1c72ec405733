"""An offline synthesis step on every core: a batch split in contiguous shares, the
shares after the first worked on by forked helper processes while this one works on
the first.

The offline engines of the record-by-record steps (wording questions, checking them,
writing chains of thought and prompts, counting components) are pure Python on one
record at a time: one process keeps one core busy and leaves the other idle. A helper
forked at a step's first batch starts with everything this process has (the operator,
the schemas read so far, the run context) and serves the rest of the step: each batch
it gets its share's records as JSON data and sends back their output. Forking once per
step, not per batch, matters: a fork of a large process and the pages it copies cost
about what a share of 128 records takes. The shares are contiguous and each step keeps
its input order, so joining the outputs share by share gives the same records, in the
same order, as one process would (rejects come share by share). Where no helper can be
had (no ``fork``, one core, a small batch), the batch is worked on here, as before.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import gc
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.cpu import can_fork
from sqlfoundry.core.operator import Reject, StepOutput
from sqlfoundry.core.sample import Sample

log = logging.getLogger(__name__)

# Fewer records than this per share and forking costs more than it saves.
MIN_SHARE = 48

Work = Callable[[Sequence[Sample], RunContext], Awaitable[StepOutput]]


def worker_count(ctx: RunContext) -> int:
    """Processes a step may use: the executor's ``workers`` when it says, else every core."""
    workers = getattr(ctx.executor, "workers", None)
    return int(workers) if workers is not None else (os.cpu_count() or 1)


def shares(batch: Sequence[Sample], count: int) -> list[Sequence[Sample]]:
    """``batch`` cut in ``count`` contiguous, near-equal shares (none empty)."""
    count = max(1, min(count, len(batch)))
    size, extra = divmod(len(batch), count)
    out, start = [], 0
    for i in range(count):
        end = start + size + (i < extra)
        out.append(batch[start:end])
        start = end
    return out


def _own_executor(ctx: RunContext) -> RunContext:
    """The context a child works with: the parent's executor has worker processes and
    open databases that are the parent's alone, so the child runs its SQL itself."""
    from sqlfoundry.db.pool import SafeExecutor

    parent = ctx.executor
    if not isinstance(parent, SafeExecutor):
        return ctx
    own = SafeExecutor(parent.manager, workers=0, timeout=parent.timeout,
                       max_rows=parent.max_rows)  # fmt: skip
    return dataclasses.replace(ctx, executor=own)


def _encode(out: StepOutput) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str, str]]]:
    samples = [s.to_json_dict() for s in out.samples]
    rejects = [(r.sample.to_json_dict(), r.operator, r.reason) for r in out.rejects]
    return samples, rejects


def _decode(data: tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str, str]]]) -> StepOutput:
    samples, rejects = data
    return StepOutput(samples=[Sample(**d) for d in samples],
                      rejects=[Reject(Sample(**d), op, why) for d, op, why in rejects])  # fmt: skip


class _Helper:
    """A process forked for one operator: it has the operator and the context as they
    were at the fork, takes shares (records as JSON data) and sends back their output."""

    def __init__(self, work: Work, ctx: RunContext) -> None:
        import multiprocessing

        fork = multiprocessing.get_context("fork")
        self.conn, child_end = fork.Pipe(duplex=True)
        self.process = fork.Process(target=_serve, args=(child_end, work, ctx), daemon=True)
        try:
            self.process.start()
        finally:
            child_end.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()


def _serve(conn: Any, work: Work, ctx: RunContext) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.freeze()  # what it was forked with stays shared: its collector only sees its own
    own_ctx = _own_executor(ctx)
    try:
        while (share := conn.recv()) is not None:
            try:
                out = asyncio.run(work([Sample(**d) for d in share], own_ctx))
                conn.send(("ok", _encode(out)))
            except Exception as err:  # the parent works on the share itself and says why
                conn.send(("error", f"{type(err).__name__}: {err}"))
    except (EOFError, OSError):
        pass
    finally:
        if own_ctx is not ctx:
            own_ctx.executor.close()


# The helpers of the step that runs now (offline, one step runs at a time): the
# operator and the context they were forked with, and the helpers; replaced when a
# batch of another operator, or of another run, comes.
_current: tuple[Any, RunContext, list[_Helper]] | None = None


def _helpers(owner: Any, work: Work, ctx: RunContext, count: int) -> list[_Helper]:
    global _current
    if _current is not None and (_current[0] is not owner or _current[1] is not ctx):
        stop_helpers()
    if _current is None:
        # While helpers share this process's pages, its garbage collector leaves the
        # objects they were forked with alone: traversing them would write to every page
        # and copy it (the memory of the run twice over); unfrozen when they stop.
        gc.freeze()
        helpers = []
        for _ in range(count):
            try:
                helpers.append(_Helper(work, ctx))
            except OSError:
                break
        _current = (owner, ctx, helpers)
    return _current[2][:count]


def stop_helpers() -> None:
    """Stop the helper processes of the current step (also at exit)."""
    global _current
    if _current is not None:
        for helper in _current[2]:
            helper.stop()
        _current = None
        gc.unfreeze()


atexit.register(stop_helpers)


async def across_processes(work: Work, batch: Sequence[Sample], ctx: RunContext,
                           min_share: int | None = None) -> StepOutput:  # fmt: skip
    """``work(batch, ctx)``, with the batch shared among processes when it pays.

    ``work`` must be a bound method of the operator, keep its input order (a map or a
    filter of its records) and depend on nothing but its records and the context, as
    the offline engines do. Helpers are forked at the first batch of a step and
    serve every batch of it; the next step's first batch stops them.
    """
    count = min(worker_count(ctx), len(batch) // max(1, min_share or MIN_SHARE))
    if count < 2 or not can_fork():
        return await work(batch, ctx)
    owner = getattr(work, "__self__", work)
    helpers = _helpers(owner, work, ctx, count - 1)
    parts = shares(batch, len(helpers) + 1)
    sent = []
    for helper, share in zip(helpers, parts[1:], strict=True):
        try:
            helper.conn.send([s.to_json_dict() for s in share])
            sent.append((helper, share))
        except OSError:
            sent.append((None, share))
    out = await work(parts[0], ctx)
    for helper, share in sent:
        part = None
        if helper is not None:
            try:
                status, data = await asyncio.to_thread(helper.conn.recv)
            except (EOFError, OSError):
                status, data = "error", "the helper process died"
                stop_helpers()  # the next batch forks afresh
            if status == "ok":
                part = _decode(data)
            else:
                log.warning("a share of %d records failed in a helper process (%s); "
                            "working on it here", len(share), data)  # fmt: skip
        if part is None:
            part = await work(share, ctx)
        out.samples.extend(part.samples)
        out.rejects.extend(part.rejects)
    return out
