"""An offline synthesis step on every core: a batch split in contiguous shares, the
shares after the first worked on in forked processes while this one works on the first.

The offline engines of the record-by-record steps (wording questions, checking them,
writing chains of thought and prompts, counting components) are pure Python on one
record at a time: one process keeps one core busy and leaves the other idle. A forked
child starts with everything this process has (the operator, the schemas read so far,
the run context) and sends back only its share's output; the shares are contiguous
and each step keeps its input order, so joining the outputs share by share gives the
same records, in the same order, as one process would. Where no child can be had
(no ``fork``, one core, a small batch), the batch is worked on here, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
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


def _child(conn: Any, work: Work, share: Sequence[Sample], ctx: RunContext) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        child_ctx = _own_executor(ctx)
        try:
            out = asyncio.run(work(share, child_ctx))
        finally:
            if child_ctx is not ctx:
                child_ctx.executor.close()
        conn.send(("ok", _encode(out)))
    except BaseException as err:  # the parent works on the share itself and says why
        with contextlib.suppress(Exception):
            conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


async def across_processes(work: Work, batch: Sequence[Sample], ctx: RunContext,
                           min_share: int | None = None) -> StepOutput:  # fmt: skip
    """``work(batch, ctx)``, with the batch shared among forked processes when it pays.

    ``work`` must keep its input order (a map or a filter of its records) and depend
    on nothing but its records and the context, as the offline engines do.
    """
    count = min(worker_count(ctx), len(batch) // max(1, min_share or MIN_SHARE))
    if count < 2 or not can_fork():
        return await work(batch, ctx)
    import multiprocessing

    parts = shares(batch, count)
    fork = multiprocessing.get_context("fork")
    children = []
    for share in parts[1:]:
        parent_end, child_end = fork.Pipe(duplex=False)
        process = fork.Process(target=_child, args=(child_end, work, share, ctx), daemon=True)
        try:
            process.start()
        except OSError:
            parent_end.close()
            child_end.close()
            children.append((share, None, None))
            continue
        child_end.close()
        children.append((share, parent_end, process))
    out = await work(parts[0], ctx)
    for share, conn, process in children:
        part = None
        if conn is not None:
            try:
                status, data = await asyncio.to_thread(conn.recv)
            except (EOFError, OSError):
                status, data = "error", "the process died"
            finally:
                conn.close()
                process.join(timeout=5)
                if process.is_alive():
                    process.kill()
            if status == "ok":
                part = _decode(data)
            else:
                log.warning("a forked share of %d records failed (%s); working on it here",
                            len(share), data)  # fmt: skip
        if part is None:
            part = await work(share, ctx)
        out.samples.extend(part.samples)
        out.rejects.extend(part.rejects)
    return out
