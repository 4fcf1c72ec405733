"""The local executor: asyncio in this process, SQL on the context's process pool.

It streams: a step reads its input from the previous step's checkpoint one batch at
a time and writes each output batch as it finishes, so a step holds at most
``concurrent_batches`` batches, whatever the run's size. ``data.jsonl`` and
``rejects.jsonl`` are written from the last checkpoints the same way.

Step folder::

    batch-<k>.jsonl     output of batch k (written atomically)
    rejects-<k>.jsonl   its rejects, written after it: both there = batch finished
    done                every batch written
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from sqlfoundry.core.executors.base import Executor, Progress, transient_failures
from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text
from sqlfoundry.core.operator import Reject
from sqlfoundry.core.progress import batch_progress
from sqlfoundry.core.runs import (
    RunResult,
    Step,
    StepReport,
    count_reasons,
    finish_run,
    plan_steps,
    read_jsonl_dicts,
    records_signature,
)
from sqlfoundry.core.sample import Sample

log = logging.getLogger(__name__)


def batches_of(records: Iterable[Sample], size: int) -> Iterator[list[Sample]]:
    """``records`` in lists of ``size`` (the last one shorter), read lazily."""
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def _data_files(step_dir: Path) -> list[Path]:
    return sorted(step_dir.glob("batch-*.jsonl"))


def step_samples(step_dir: Path) -> Iterator[Sample]:
    """A finished local step's records, in order, one batch file at a time."""
    for path in _data_files(step_dir):
        for data in read_jsonl_dicts(path):
            yield Sample(**data)


def step_rejects(step_dir: Path) -> Iterator[dict[str, Any]]:
    """A finished local step's rejects, in batch order."""
    for path in sorted(step_dir.glob("rejects-*.jsonl")):
        yield from read_jsonl_dicts(path)


def _unfinished_marker(data_path: Path) -> Path:
    return data_path.with_name(data_path.name.replace("batch-", "unfinished-", 1))


def _batch_counts(data_path: Path, reject_path: Path,
                  reasons: dict[str, int]) -> tuple[int, int] | None:  # fmt: skip
    """(outputs, rejects) of a finished batch's checkpoint; None when it must run again."""
    if not (reject_path.exists() and data_path.exists()):
        return None
    if _unfinished_marker(data_path).exists():
        return None  # written for the steps after it, but a re-run asks the LLM again
    try:
        outputs = sum(1 for _ in read_jsonl_dicts(data_path))
        found: dict[str, int] = {}
        rejected = count_reasons(read_jsonl_dicts(reject_path), found)
    except (ValueError, TypeError, KeyError) as err:
        log.warning("%s: unreadable checkpoint, running the batch again: %s", data_path, err)
        return None
    for reason, n in found.items():
        reasons[reason] = reasons.get(reason, 0) + n
    return outputs, rejected


class LocalExecutor(Executor):
    """Runs each step in this process's event loop, batch by batch (the default)."""

    kind = "local"

    async def execute(
        self,
        pipeline: Any,
        samples: Sequence[Sample],
        run_dir: Path,
        ctx: Any,
        *,
        progress: Progress | None = None,
        input_rejects: Sequence[dict[str, Any]] = (),
        record: Callable[[Sample], dict[str, Any]] | None = None,
    ) -> RunResult:
        run_dir = Path(run_dir)
        (run_dir / "steps").mkdir(parents=True, exist_ok=True)
        steps = plan_steps(pipeline.operators, records_signature(samples), run_dir / "steps", ctx)
        source: Callable[[], Iterator[Sample]] = functools.partial(iter, samples)
        count = len(samples)
        reports = []
        unfinished = False  # once a step keeps a batch unfinished, so are the later ones
        for step in steps:
            size = min(pipeline.batch_size, step.op.max_batch or pipeline.batch_size)
            report, unfinished = await _run_step(step, source, count, size,
                                                 pipeline.concurrent_batches, ctx, progress,
                                                 upstream_unfinished=unfinished)  # fmt: skip
            reports.append(report)
            source = functools.partial(step_samples, step.dir)
            count = report.outputs

        def rejects() -> Iterator[dict[str, Any]]:
            yield from input_rejects
            for step in steps:
                yield from step_rejects(step.dir)

        return finish_run(run_dir, reports, source, rejects, record)


async def _run_step(
    step: Step,
    source: Callable[[], Iterator[Sample]],
    count: int,
    batch_size: int,
    window: int,
    ctx: Any,
    progress: Progress | None,
    *,
    upstream_unfinished: bool,
) -> tuple[StepReport, bool]:
    """Run one step; also whether it left batches unfinished. After a step with unfinished
    batches nothing is final: a re-run brings the missing records through again."""
    op = step.op
    unfinished = 0
    step.dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    reused = step.finished
    total = -(-count // batch_size)
    reasons: dict[str, int] = {}
    outputs = rejected = done = 0
    # How far each running batch says it is (see sqlfoundry.core.progress).
    partial: dict[int, float] = {}
    finished: set[int] = set()
    loop, loop_thread = asyncio.get_running_loop(), threading.get_ident()
    if progress:
        progress(op.name, 0, total)  # the step starts

    def advance(k: int, fraction: float) -> None:
        if threading.get_ident() != loop_thread:  # a worker thread of the batch
            loop.call_soon_threadsafe(advance, k, fraction)
            return
        if k in finished:
            return  # the batch finished before this late report arrived
        partial[k] = fraction
        if progress:
            progress(op.name, done + sum(partial.values()), total)

    def finish(k: int, counts: tuple[int, int]) -> None:
        nonlocal outputs, rejected, done
        outputs += counts[0]
        rejected += counts[1]
        finished.add(k)
        partial.pop(k, None)
        done += 1
        if progress:
            progress(op.name, done + sum(partial.values()), total)

    async def one(k: int, batch: list[Sample], data_path: Path, reject_path: Path) -> None:
        nonlocal unfinished
        failures_before = transient_failures(ctx)
        with batch_progress(lambda fraction: advance(k, fraction)):
            result = await op.process(batch, ctx)
        dropped = [r.to_dict() if isinstance(r, Reject) else r for r in result.rejects]
        marker = _unfinished_marker(data_path)
        # An LLM request that failed for a passing reason (timeout, 5xx, malformed answer)
        # must not become a final reject: the batch is written for the steps after it but
        # marked unfinished, so a re-run asks again (the answers that came are cached).
        if upstream_unfinished or transient_failures(ctx) > failures_before:
            unfinished += 1
            atomic_write_text(marker, "")
        elif marker.exists():
            marker.unlink()
        # The rejects file is written last, so its presence marks a finished batch.
        kept = atomic_write_jsonl(data_path, (s.to_json_dict() for s in result.samples))
        atomic_write_jsonl(reject_path, dropped)
        finish(k, (kept, count_reasons(dropped, reasons)))

    def paths(k: int) -> tuple[Path, Path]:
        return step.dir / f"batch-{k:05d}.jsonl", step.dir / f"rejects-{k:05d}.jsonl"

    if reused:
        for k in range(total):
            counts = _batch_counts(*paths(k), reasons)
            if counts is None:  # a done step with a missing batch: run it properly
                reused = False
                outputs = rejected = done = 0
                reasons.clear()
                finished.clear()
                break
            finish(k, counts)
    if not reused:
        pending: set[asyncio.Task[None]] = set()
        try:
            for k, batch in enumerate(batches_of(source(), batch_size)):
                counts = _batch_counts(*paths(k), reasons)
                if counts is not None:
                    finish(k, counts)
                    continue
                # At most `window` batches in memory: the step streams its input.
                while len(pending) >= window:
                    finished_tasks, pending = await asyncio.wait(
                        pending, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in finished_tasks:
                        task.result()
                pending.add(asyncio.ensure_future(one(k, batch, *paths(k))))
            if pending:
                await asyncio.gather(*pending)
        except BaseException:
            for task in pending:
                task.cancel()
            raise
        if unfinished:
            log.warning("%s: %d batch(es) had failed LLM requests; not final, a re-run "
                        "retries them", op.name, unfinished)  # fmt: skip
        else:
            step.mark_done()
    report = StepReport(op.name, step.signature, count, outputs, rejected,
                        time.perf_counter() - start, reused, reasons)  # fmt: skip
    return report, upstream_unfinished or unfinished > 0
