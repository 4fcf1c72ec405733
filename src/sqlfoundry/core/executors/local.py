"""The local executor: asyncio in this process, SQL on the context's process pool.

It streams: a step reads its input from the previous step's checkpoint one batch at
a time and writes each output batch as it finishes, so a step holds at most
``concurrent_batches`` batches, whatever the run's size. ``data.jsonl`` and
``rejects.jsonl`` are written from the last checkpoints the same way.

With ``processes`` (two or more), a run with no LLM hands its batches to a pool of
that many forked workers (:mod:`sqlfoundry.core.executors.pool`), started once for
the run: this process reads the previous checkpoint's lines and passes them on, and a
worker builds each step's operator once, runs the batch and writes its checkpoint
files, which are the same bytes the in-process path writes. Runs with an LLM stay in
this process, where the client, its cache and its concurrency limit live.

Step folder::

    batch-<k>.jsonl     output of batch k (written atomically)
    rejects-<k>.jsonl   its rejects, written after it: both there = batch finished
    done                every batch written
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from sqlfoundry.core.executors.base import Executor, Progress, transient_failures
from sqlfoundry.core.executors.pool import WorkerPool, WorkerState, can_fork
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


def step_lines(step_dir: Path) -> Iterator[str]:
    """A finished local step's records as their JSON lines, in order, unparsed."""
    for path in _data_files(step_dir):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield line


def _finished_on_ray(step_dir: Path) -> bool:
    """A step folder holding a Ray run's parts and no batch of this executor's."""
    if any(step_dir.glob("batch-*.jsonl")) or not step_dir.is_dir():
        return False
    from sqlfoundry.core.executors.ray import finished_on_ray

    return finished_on_ray(step_dir)


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


def _write_batch(result: Any, data_path: Path, reject_path: Path,
                 unfinished: bool) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """Write a finished batch's checkpoint; returns (records kept, rejects as dicts)."""
    dropped = [r.to_dict() if isinstance(r, Reject) else r for r in result.rejects]
    marker = _unfinished_marker(data_path)
    if unfinished:
        atomic_write_text(marker, "")
    elif marker.exists():
        marker.unlink()
    # The rejects file is written last, so its presence marks a finished batch.
    kept = atomic_write_jsonl(data_path, (s.to_json_dict() for s in result.samples))
    atomic_write_jsonl(reject_path, dropped)
    return kept, dropped


def _pooled_batch(worker: WorkerState, key: str, op_class: type, params: dict[str, Any],
                  batch: list[Sample] | list[str], data_path: Path, reject_path: Path,
                  unfinished: bool) -> tuple[int, int, dict[str, int]]:  # fmt: skip
    """In a worker: run one batch (records, or their JSON lines) and write its checkpoint.

    Returns:
        (records kept, rejects, rejects per reason).
    """
    op = worker.operator(key, op_class, params)
    records = [Sample(**json.loads(x)) if isinstance(x, str) else x for x in batch]
    result = worker.run(op.process(records, worker.ctx))
    kept, dropped = _write_batch(result, data_path, reject_path, unfinished)
    reasons: dict[str, int] = {}
    return kept, count_reasons(dropped, reasons), reasons


class LocalExecutor(Executor):
    """Runs each step in this process's event loop, batch by batch (the default).

    Args:
        processes: worker processes for the batches of a run with no LLM (see the
            module doc); None, 0 or 1: every step runs in this process.
    """

    kind = "local"

    def __init__(self, processes: int | None = None) -> None:
        self.processes = processes
        self._pool: WorkerPool | None = None

    def pool_for(self, ctx: Any) -> WorkerPool | None:
        """The worker pool a run over ``ctx`` uses (started on its first job), or None
        when its steps run in this process."""
        if (self.processes or 0) < 2 or not can_fork() or ctx is None:
            return None
        spec = getattr(ctx, "spec", None)
        if spec is None or getattr(ctx, "llm", None) is not None:
            return None
        if getattr(ctx, "embedder", None) is not None:
            return None
        if self._pool is None or self._pool.spec is not spec:
            self.close()
            self._pool = WorkerPool(spec, self.processes)
        return self._pool

    def close(self) -> None:
        """Stop the worker pool, if one was started."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

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
        source: Callable[[], Iterator[Any]] = functools.partial(iter, samples)
        count = len(samples)
        reports = []
        pool = self.pool_for(ctx)
        unfinished = False  # once a step keeps a batch unfinished, so are the later ones
        for step in steps:
            if step.finished and not unfinished and _finished_on_ray(step.dir):
                # A step a Ray run finished: its records are read back, not made again.
                from sqlfoundry.core.executors import ray

                reports.append(ray.step_report(step, True, 0.0)[0])
                source = functools.partial(ray.ray_step_lines if pool else ray.ray_step_samples,
                                           step.dir)  # fmt: skip
                count = reports[-1].outputs
                continue
            size = min(pipeline.batch_size, step.op.max_batch or pipeline.batch_size)
            window = pipeline.concurrent_batches
            if pool is not None:
                window = max(window, 2 * pool.processes)  # a batch waiting for each worker
            report, unfinished = await _run_step(step, source, count, size, window, ctx,
                                                 progress, upstream_unfinished=unfinished,
                                                 pool=pool)  # fmt: skip
            reports.append(report)
            # Through the pool, records pass as their checkpoint lines: parsed in the workers.
            source = functools.partial(step_lines if pool else step_samples, step.dir)
            count = report.outputs
        source = functools.partial(step_samples, steps[-1].dir)
        if _finished_on_ray(steps[-1].dir):
            from sqlfoundry.core.executors.ray import ray_step_samples

            source = functools.partial(ray_step_samples, steps[-1].dir)

        def rejects() -> Iterator[dict[str, Any]]:
            yield from input_rejects
            for step in steps:
                if _finished_on_ray(step.dir):
                    from sqlfoundry.core.executors.ray import step_rejects as ray_rejects

                    yield from ray_rejects(step)
                else:
                    yield from step_rejects(step.dir)

        return finish_run(run_dir, reports, source, rejects, record)


async def _run_step(
    step: Step,
    source: Callable[[], Iterator[Any]],
    count: int,
    batch_size: int,
    window: int,
    ctx: Any,
    progress: Progress | None,
    *,
    upstream_unfinished: bool,
    pool: WorkerPool | None = None,
) -> tuple[StepReport, bool]:
    """Run one step; also whether it left batches unfinished. After a step with unfinished
    batches nothing is final: a re-run brings the missing records through again.

    ``source`` gives Samples, or their JSON lines when the batches go to ``pool``."""
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

    async def one(k: int, batch: list[Any], data_path: Path, reject_path: Path) -> None:
        nonlocal unfinished
        if pool is not None:  # no LLM there: only an unfinished upstream leaves it unfinished
            unfinished += upstream_unfinished
            kept, rejects, found = await pool.call(
                _pooled_batch, step.signature, type(op), op.params.model_dump(), batch,
                data_path, reject_path, upstream_unfinished,
                progress=lambda fraction: advance(k, fraction))  # fmt: skip
            for reason, n in found.items():
                reasons[reason] = reasons.get(reason, 0) + n
            finish(k, (kept, rejects))
            return
        failures_before = transient_failures(ctx)
        with batch_progress(lambda fraction: advance(k, fraction)):
            result = await op.process(batch, ctx)
        # An LLM request that failed for a passing reason (timeout, 5xx, malformed answer)
        # must not become a final reject: the batch is written for the steps after it but
        # marked unfinished, so a re-run asks again (the answers that came are cached).
        marked = upstream_unfinished or transient_failures(ctx) > failures_before
        unfinished += marked
        kept, dropped = _write_batch(result, data_path, reject_path, marked)
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
