"""The local executor: asyncio in this process, SQL on the context's process pool.

It streams: a step reads its input from the previous step's checkpoint one batch at
a time and writes each output batch as it finishes, so a step holds at most
``concurrent_batches`` batches, whatever the run's size. ``data.jsonl`` is written as
the last step's batches finish, in order, from the records held by the job that made
them (:mod:`sqlfoundry.core.executors.final`); ``rejects.jsonl`` from the checkpoints.

With ``processes`` (two or more), a run with no LLM hands its batches to a pool of
that many forked workers (:mod:`sqlfoundry.core.executors.pool`), started once for
the run: this process reads the previous checkpoint's lines and passes them on, and a
worker builds each step's operator once, runs the batch and writes its checkpoint
files, which are the same bytes the in-process path writes. Runs with an LLM stay in
this process, where the client, its cache and its concurrency limit live.

With an LLM the steps also run at the same time: a step cuts its next batch from the
step before as soon as that step has written enough records, in order, so no step
waits for the slowest answer of the one before it (:mod:`sqlfoundry.core.executors.stream`).
The batches hold the same records as when the steps run one after another, so the
checkpoints, ``data.jsonl`` and ``rejects.jsonl`` are the same bytes; each step still
holds at most ``concurrent_batches`` batches.

Step folder::

    batch-<k>.jsonl       output of batch k (written atomically)
    rejects-<k>.jsonl     its rejects, written after it: both there = batch finished
    unfinished-<k>.jsonl  batch k is not final: a re-run makes it again
    batch-size            how many input records each batch took: a re-run cuts the
                          same batches whatever its own batch size
    done                  every batch written, all final
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.core.batch_failures import batch_failures
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.executors.base import Executor, Progress
from sqlfoundry.core.executors.final import Ending, FinalPart, FinalWriter, end_batch
from sqlfoundry.core.executors.pool import WorkerPool, WorkerState, can_fork
from sqlfoundry.core.executors.stage import FOLLOWS, Link, LinkResult, run_links
from sqlfoundry.core.executors.stream import StepStream, batch_path, handing_on
from sqlfoundry.core.io import (
    atomic_write_jsonl,
    atomic_write_lines,
    atomic_write_text,
    checkpoint_line,
    decode_line,
    open_output,
)
from sqlfoundry.core.operator import Reject
from sqlfoundry.core.progress import batch_progress
from sqlfoundry.core.runs import (
    Fold,
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


def _data_files(step_dir: Path) -> list[Path]:
    return sorted(step_dir.glob("batch-*.jsonl"))


def step_samples(step_dir: Path) -> Iterator[Sample]:
    """A finished local step's records, in order, one batch file at a time."""
    for path in _data_files(step_dir):
        for data in read_jsonl_dicts(path):
            yield Sample(**data)


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
    kept = atomic_write_lines(data_path, (s.to_json_line() for s in result.samples))
    atomic_write_jsonl(reject_path, dropped, encode=checkpoint_line)
    return kept, dropped


_SIZE_FILE = "batch-size"


def _recorded_slicing(step_dir: Path) -> int | str | None:
    """How a step folder's batches were cut: a batch size, ``follows`` (batch k is the
    step before's batch k: see :mod:`sqlfoundry.core.executors.stage`), or None when
    not recorded."""
    try:
        text = (step_dir / _SIZE_FILE).read_text().strip()
    except OSError:
        return None
    if text == FOLLOWS:
        return FOLLOWS
    try:
        size = int(text)
    except ValueError:
        return None
    return size if size > 0 else None


def _recorded_size(step_dir: Path) -> int | None:
    """The batch size a step folder's batches were cut with; None when not recorded
    (or when they follow the step before's)."""
    slicing = _recorded_slicing(step_dir)
    return slicing if isinstance(slicing, int) else None


def _checkpoint_files(step_dir: Path) -> list[Path]:
    """The batch, rejects and unfinished files of a step folder (none if it is not there)."""
    if not step_dir.is_dir():
        return []
    return [p for p in step_dir.iterdir() if p.suffix == ".jsonl"
            and p.name.startswith(("batch-", "rejects-", "unfinished-"))]  # fmt: skip


def _batch_paths(step_dir: Path, k: int) -> tuple[Path, Path]:
    """Batch ``k``'s data and rejects files in a step folder."""
    return batch_path(step_dir, k), step_dir / f"rejects-{k:05d}.jsonl"


def _claim_slicing(step_dir: Path, slicing: int | str) -> None:
    """Record ``slicing`` (a batch size, or ``follows``) as the folder's before its first
    batch is written.

    Batches cut another way, or left by an earlier version with no record of their
    size, cannot be trusted as batch k of this slicing (a batch of 256 read as one of
    32 would repeat or drop records): they are moved to ``set-aside/``, and their
    records made again (an LLM's answers come from the response cache)."""
    if _recorded_slicing(step_dir) == slicing:
        return
    left = _checkpoint_files(step_dir)
    if left:
        aside = step_dir / "set-aside"
        aside.mkdir(exist_ok=True)
        for path in left:
            path.replace(aside / path.name)
        log.warning("%s: %d checkpoint file(s) cut another way moved to %s; their "
                    "batches run again", step_dir.name, len(left), aside)  # fmt: skip
    atomic_write_text(step_dir / _SIZE_FILE, str(slicing))


def _settle(step: Step, final: Sequence[Path], done: bool) -> None:
    """The end of a step: the batches in ``final`` lose their unfinished markers, then,
    when ``done``, the step is marked done."""
    for data_path in final:
        _unfinished_marker(data_path).unlink(missing_ok=True)
    if done:
        step.mark_done()


def _records_of(batch: list[Sample] | list[str]) -> list[Sample]:
    """A job's batch as records: it came as records, or as their JSON lines."""
    return [Sample(**decode_line(x)) if isinstance(x, str) else x for x in batch]


def _pooled_batch(worker: WorkerState, key: str, op_class: type, params: dict[str, Any],
                  batch: list[Sample] | list[str], data_path: Path, reject_path: Path,
                  unfinished: bool, ending: Ending | None = None,
                  ) -> tuple[int, int, dict[str, int], FinalPart | None]:  # fmt: skip
    """In a worker: run one batch (records, or their JSON lines) and write its checkpoint.

    Returns:
        (records kept, rejects, rejects per reason, the batch's output when ``ending``
        says this is the run's last step).
    """
    op = worker.operator(key, op_class, params)
    result = worker.run(op.process(_records_of(batch), worker.ctx))
    kept, dropped = _write_batch(result, data_path, reject_path, unfinished)
    reasons: dict[str, int] = {}
    final = end_batch(ending, result.samples, worker.ctx) if ending else None
    return kept, count_reasons(dropped, reasons), reasons, final


def _pooled_stage(worker: WorkerState, links: list[Link], batch: list[Sample] | list[str],
                  unfinished: bool, ending: Ending | None = None,
                  ) -> list[LinkResult | None]:  # fmt: skip
    """In a worker: take one batch of the stage's input (records, or their JSON lines)
    through the stage's steps, writing each step's checkpoint (see :func:`run_links`)."""
    operators = [worker.operator(link.key, link.op_class, link.params) for link in links]
    return worker.run(run_links(links, operators, _records_of(batch), worker.ctx, unfinished,
                                _write_batch, ending=ending))  # fmt: skip


def _can_follow(before: Step, step: Step) -> bool:
    """Whether ``step`` can take the batches of ``before`` as its own, in one stage."""
    if before.op.max_batch is not None or step.op.max_batch is not None:
        return False  # an expander's batches are not bounded by the pipeline's size
    if _finished_on_ray(before.dir) or _finished_on_ray(step.dir):
        return False
    return _recorded_slicing(step.dir) == FOLLOWS or not _checkpoint_files(step.dir)


def _stages(steps: Sequence[Step], fuse: bool) -> list[list[Step]]:
    """The steps in stages (see :mod:`sqlfoundry.core.executors.stage`): each its own,
    unless ``fuse``."""
    stages: list[list[Step]] = []
    for step in steps:
        if fuse and stages and _can_follow(stages[-1][-1], step):
            stages[-1].append(step)
        else:
            stages.append([step])
    return stages


class LocalExecutor(Executor):
    """Runs each step in this process's event loop, batch by batch (the default).

    Args:
        processes: worker processes for the batches of a run with no LLM (see the
            module doc); None, 0 or 1: every step runs in this process.
        overlap: with an LLM, run the steps at the same time (the default); False runs
            them one after another (the same files, later).
        fuse: with no LLM, join consecutive steps into stages that take each batch
            through all their steps at once (the default; see
            :mod:`sqlfoundry.core.executors.stage`); False runs each step over all its
            batches before the next starts.
    """

    kind = "local"

    def __init__(self, processes: int | None = None, overlap: bool = True,
                 fuse: bool = True) -> None:  # fmt: skip
        self.processes = processes
        self.overlap = overlap
        self.fuse = fuse
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
        fold: Fold | None = None,
    ) -> RunResult:
        run_dir = Path(run_dir)
        (run_dir / "steps").mkdir(parents=True, exist_ok=True)
        steps = plan_steps(pipeline.operators, records_signature(samples), run_dir / "steps", ctx)
        pool = self.pool_for(ctx)
        # With an LLM the steps overlap: each waits on the endpoint, not on the CPU. On a
        # pool, a stage starts on the step before's first batches while it makes the rest,
        # so no worker waits for that step's last batch.
        llm = getattr(ctx, "llm", None) is not None
        fuse = self.fuse and not llm
        overlap = self.overlap and (llm and pool is None or fuse and pool is not None)
        window = pipeline.concurrent_batches
        if pool is not None:
            window = max(window, 2 * pool.processes)  # a batch waiting for each worker
        upstream = StepStream.given(functools.partial(iter, samples), len(samples))
        last = steps[-1]
        runs: list[asyncio.Future[Any]] = []
        with contextlib.ExitStack() as output:
            final = None
            # A last step that a Ray run finished is read back whole, at the end.
            if not (last.finished and _finished_on_ray(last.dir)):
                data = run_dir / "data.jsonl"
                ending = Ending(record or Sample.to_json_dict, fold)
                final = FinalWriter(output.enter_context(open_output(data)), data,
                                    functools.partial(batch_path, last.dir), ending, ctx)  # fmt: skip
            try:
                for stage in _stages(steps, fuse):
                    step = stage[0]
                    size = min(pipeline.batch_size, step.op.max_batch or pipeline.batch_size)
                    streams: list[StepStream] = []
                    for each in stage:
                        streams.append(StepStream(each.dir, streams[-1] if streams else upstream))
                    ends = final if stage[-1] is last else None
                    if len(stage) == 1:
                        run = asyncio.ensure_future(
                            _run_or_read_back(
                                step, upstream, streams[0], size, window, ctx, progress, pool, ends
                            )
                        )
                    else:
                        run = asyncio.ensure_future(
                            _run_stage(
                                stage, upstream, streams, size, window, ctx, progress, pool, ends
                            )
                        )
                    runs.append(run)
                    if not overlap:
                        await run
                    upstream = streams[-1]
                reports = []
                for done in await asyncio.gather(*runs):
                    reports.extend(done if isinstance(done, list) else [done])
            except BaseException:
                for run in runs:
                    run.cancel()
                await asyncio.gather(*runs, return_exceptions=True)
                raise
            written = None
            if final is not None:
                batches = [int(path.stem.split("-")[1]) for path in _data_files(last.dir)]
                written = (final.close(batches), final.folded)
        source = functools.partial(step_samples, last.dir)
        if _finished_on_ray(last.dir):
            from sqlfoundry.core.executors.ray import ray_step_samples

            source = functools.partial(ray_step_samples, last.dir)

        def rejects() -> Iterator[dict[str, Any]]:
            yield from input_rejects
            for step in steps:
                if _finished_on_ray(step.dir):
                    from sqlfoundry.core.executors.ray import step_rejects as ray_rejects

                    yield from ray_rejects(step)
                else:
                    yield from step_rejects(step.dir)

        return finish_run(run_dir, reports, source, rejects, record, fold=fold, ctx=ctx,
                          written=written)  # fmt: skip


async def _run_or_read_back(step: Step, upstream: StepStream, stream: StepStream, size: int,
                            window: int, ctx: Any, progress: Progress | None,
                            pool: WorkerPool | None,
                            final: FinalWriter | None = None) -> StepReport:  # fmt: skip
    """Run one step, or read back the records of a step a Ray run finished."""
    if step.finished and _finished_on_ray(step.dir):
        await upstream.wait_ended()
        if not upstream.unfinished:
            from sqlfoundry.core.executors import ray

            report = ray.step_report(step, True, 0.0)[0]
            read = ray.ray_step_lines if pool else ray.ray_step_samples
            stream.end(unfinished=False, source=functools.partial(read, step.dir),
                       count=report.outputs)  # fmt: skip
            return report
    return await _run_step(step, upstream, stream, size, window, ctx, progress, pool=pool,
                           final=final)  # fmt: skip


class _Running:
    """The batches of a step running at once: at most ``window``; the first to fail raises."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.pending: set[asyncio.Task[None]] = set()

    async def add(self, batch: Coroutine[Any, Any, None]) -> None:
        """Start ``batch`` once fewer than ``window`` run."""
        try:
            while len(self.pending) >= self.window:
                finished, self.pending = await asyncio.wait(
                    self.pending, return_when=asyncio.FIRST_COMPLETED
                )
                failures = [task.exception() for task in finished]
                if error := next((e for e in failures if e is not None), None):
                    raise error
        except BaseException:
            batch.close()  # never started
            raise
        self.pending.add(asyncio.ensure_future(batch))


@contextlib.asynccontextmanager
async def _running(window: int) -> AsyncIterator[_Running]:
    """Batches started in the block are awaited at its end, or cancelled if it fails."""
    running = _Running(window)
    try:
        yield running
        if running.pending:
            await asyncio.gather(*running.pending)
    except BaseException:
        for task in running.pending:
            task.cancel()
        # Collected, so a second failing batch is not reported as never retrieved.
        await asyncio.gather(*running.pending, return_exceptions=True)
        raise


async def _batches(records: AsyncIterator[Any], size: int) -> AsyncIterator[list[Any]]:
    """``records`` in lists of ``size`` (the last one shorter), as they come."""
    batch: list[Any] = []
    async for item in records:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _run_step(
    step: Step,
    upstream: StepStream,
    stream: StepStream,
    batch_size: int,
    window: int,
    ctx: Any,
    progress: Progress | None,
    *,
    pool: WorkerPool | None = None,
    final: FinalWriter | None = None,
) -> StepReport:
    """Run one step over ``upstream``'s records, telling ``stream`` of each batch it writes.

    ``upstream`` may still be running: a batch is cut as soon as its records are written.
    After a step with unfinished batches nothing is final (a re-run brings the missing
    records through again), so a batch written before ``upstream`` has ended is marked
    unfinished until it ends finished; a run stopped in between leaves it to run again.
    Through ``pool``, records pass as their JSON lines. ``final``: this is the run's last
    step, and each batch goes on to the run's output."""
    op = step.op
    step.dir.mkdir(parents=True, exist_ok=True)
    # A folder keeps the slicing it was started with, so a re-run with another batch size
    # (or another default) reads its batches as what they are.
    recorded = _recorded_size(step.dir)
    batch_size = recorded or batch_size
    start = time.perf_counter()
    reasons: dict[str, int] = {}
    outputs = rejected = done = 0
    failed: set[int] = set()  # batches not final, whatever happens upstream
    provisional: set[int] = set()  # not final until `upstream` ends finished
    # How far each running batch says it is (see sqlfoundry.core.progress).
    partial: dict[int, float] = {}
    finished: set[int] = set()
    loop, loop_thread = asyncio.get_running_loop(), threading.get_ident()

    def total() -> int:
        return max(-(-upstream.expected // batch_size), done + len(partial))

    def report() -> None:
        if progress:
            progress(op.name, done + sum(partial.values()), total())

    if progress:
        progress(op.name, 0, total())  # the step starts

    def advance(k: int, fraction: float) -> None:
        if threading.get_ident() != loop_thread:  # a worker thread of the batch
            loop.call_soon_threadsafe(advance, k, fraction)
            return
        if k in finished:
            return  # the batch finished before this late report arrived
        partial[k] = fraction
        report()

    def finish(k: int, counts: tuple[int, int], part: FinalPart | None = None) -> None:
        nonlocal outputs, rejected, done
        outputs += counts[0]
        rejected += counts[1]
        finished.add(k)
        partial.pop(k, None)
        done += 1
        stream.written(k, counts[0])
        if final is not None:
            final.arrived(k, part)
        report()

    async def one(k: int, batch: list[Any], data_path: Path, reject_path: Path) -> None:
        if pool is not None:  # no LLM there: only an unfinished upstream leaves it unfinished
            await upstream.wait_ended()
            if upstream.unfinished:
                failed.add(k)
            kept, rejects, found, part = await pool.call(
                _pooled_batch, step.signature, type(op), op.params.model_dump(), batch,
                data_path, reject_path, upstream.unfinished, final.sent if final else None,
                progress=lambda fraction: advance(k, fraction))  # fmt: skip
            for reason, n in found.items():
                reasons[reason] = reasons.get(reason, 0) + n
            finish(k, (kept, rejects), part)
            return
        early: list[str] = []  # the lines of the records the batch handed on

        def handed(samples: Sequence[Sample]) -> None:
            lines = [s.to_json_line() for s in samples]
            early.extend(lines)
            stream.handed_on(k, lines)

        with (batch_progress(lambda fraction: advance(k, fraction)), handing_on(handed),
              batch_failures() as failures):  # fmt: skip
            result = await op.process(batch, ctx)
        if early and [s.to_json_line() for s in result.samples[: len(early)]] != early:
            raise SqlfoundryError(f"{op.name} handed on records its output does not begin with",
                                  hint="hand_on() takes the first records of the output, final")  # fmt: skip
        # An LLM request that failed for a passing reason (timeout, 5xx, malformed answer)
        # must not become a final reject: the batch is written for the steps after it but
        # marked unfinished, so a re-run asks again (the answers that came are cached).
        if failures[0] or (upstream.ended and upstream.unfinished):
            failed.add(k)
        elif not upstream.ended:
            provisional.add(k)
        # In a thread: each file is synced to disk (~5-10 ms), which would hold up the
        # answers of every other batch waiting on this loop.
        kept, dropped = await asyncio.to_thread(
            _write_batch, result, data_path, reject_path, k in failed or k in provisional
        )
        part = end_batch(final.ending, result.samples, ctx) if final is not None else None
        finish(k, (kept, count_reasons(dropped, reasons)), part)

    paths = functools.partial(_batch_paths, step.dir)

    reused = step.finished
    if reused:
        await upstream.wait_ended()
        found: dict[str, int] = {}
        # With no record of the slicing (an earlier version's folder), its files say how many.
        batches = -(-upstream.count // batch_size) if recorded else len(_data_files(step.dir))
        kept = [_batch_counts(*paths(k), found) for k in range(batches)]
        reused = None not in kept  # else a done step with a missing batch: run it properly
        if reused:
            reasons.update(found)
            for k, counts in enumerate(kept):
                finish(k, counts)  # type: ignore[arg-type]
    if not reused:
        await asyncio.to_thread(_claim_slicing, step.dir, batch_size)
        # What an earlier run left here (only this step writes in its folder): one listing,
        # not a stat of each batch's files on this loop while others are being synced.
        present = {path.name for path in step.dir.iterdir()}
        # At most `window` batches in memory: the step streams its input.
        async with _running(window) as running:
            k = -1
            async for batch in _batches(upstream.records(lines=pool is not None), batch_size):
                k += 1
                data_path, reject_path = paths(k)
                counts = None
                if reject_path.name in present:
                    counts = _batch_counts(data_path, reject_path, reasons)
                if counts is not None:
                    finish(k, counts)
                    continue
                await running.add(one(k, batch, *paths(k)))
        # `upstream` has ended: the batches written before are final or not as it is.
        if upstream.unfinished:
            failed |= provisional
        final = [] if upstream.unfinished else [paths(k)[0] for k in provisional]
        if failed:
            log.warning("%s: %d batch(es) had failed LLM requests; not final, a re-run "
                        "retries them", op.name, len(failed))  # fmt: skip
        await asyncio.to_thread(_settle, step, final, not failed)
    stream.end(unfinished=upstream.unfinished or bool(failed))
    return StepReport(op.name, step.signature, upstream.count, outputs, rejected,
                      time.perf_counter() - start, reused, reasons)  # fmt: skip


async def _run_stage(
    stage: Sequence[Step],
    upstream: StepStream,
    streams: Sequence[StepStream],
    batch_size: int,
    window: int,
    ctx: Any,
    progress: Progress | None,
    pool: WorkerPool | None = None,
    final: FinalWriter | None = None,
) -> list[StepReport]:
    """Run the steps of ``stage`` batch by batch, each batch through all of them (see
    :mod:`sqlfoundry.core.executors.stage`); ``streams[i]`` hears of step i's batches.

    A batch whose checkpoint is there for every step is counted, not run; otherwise its
    job starts at the first step missing it, and reads the checkpoints of later steps
    that have it instead of running them. ``final``: as for :func:`_run_step`, when the
    stage ends with the run's last step."""
    first = stage[0]
    was_finished = [step.finished for step in stage]
    for step in stage:
        step.dir.mkdir(parents=True, exist_ok=True)
    batch_size = _recorded_size(first.dir) or batch_size
    # Cut while the step before still runs (with no LLM nothing of it can fail): marked
    # not final afterwards, should it end unfinished all the same.
    early: list[int] = []
    n = len(stage)
    outputs, rejected, ran = [0] * n, [0] * n, [0] * n
    seconds = [0.0] * n
    reasons: list[dict[str, int]] = [{} for _ in stage]
    failed: list[set[int]] = [set() for _ in stage]
    done = 0

    def report() -> None:
        if progress:
            batches = max(-(-upstream.expected // batch_size), done)
            for step in stage:
                progress(step.op.name, done, batches)

    def finish(k: int, counts: Sequence[tuple[int, int] | LinkResult]) -> None:
        nonlocal done
        for i, counted in enumerate(counts):
            if isinstance(counted, LinkResult):
                kept, dropped = counted.kept, counted.rejected
                for reason, count in counted.reasons.items():
                    reasons[i][reason] = reasons[i].get(reason, 0) + count
                ran[i] += 1
                seconds[i] += counted.seconds
                if counted.unfinished:
                    failed[i].add(k)
            else:
                kept, dropped = counted
            outputs[i] += kept
            rejected[i] += dropped
            streams[i].written(k, kept)
        if final is not None:
            last = counts[-1]
            final.arrived(k, last.final if isinstance(last, LinkResult) else None)
        done += 1
        report()

    report()

    def claim() -> list[set[str]]:
        _claim_slicing(first.dir, batch_size)
        for step in stage[1:]:
            _claim_slicing(step.dir, FOLLOWS)
        # What an earlier run left (only this stage writes in these folders): one listing each.
        return [{path.name for path in step.dir.iterdir()} for step in stage]

    present = await asyncio.to_thread(claim)

    async def one(k: int, batch: list[Any], links: list[Link],
                  known: list[tuple[int, int] | None]) -> None:  # fmt: skip
        unfinished = upstream.ended and upstream.unfinished
        if not upstream.ended:
            early.append(k)
        if pool is not None:
            results = await pool.call(_pooled_stage, links, batch, unfinished,
                                      final.sent if final else None)  # fmt: skip
        else:
            results = await run_links(links, [step.op for step in stage], batch, ctx,
                                      unfinished, _write_batch, in_thread=True,
                                      ending=final.ending if final else None)  # fmt: skip
        finish(k, [known[i] if result is None else result  # type: ignore[misc]
                   for i, result in enumerate(results)])  # fmt: skip

    params = [step.op.params.model_dump() for step in stage]
    async with _running(window) as running:
        k = -1
        async for batch in _batches(upstream.records(lines=pool is not None), batch_size):
            k += 1
            known: list[tuple[int, int] | None] = []
            for i, step in enumerate(stage):
                data_path, reject_path = _batch_paths(step.dir, k)
                counted = reject_path.name in present[i]
                known.append(_batch_counts(data_path, reject_path, reasons[i]) if counted else None)
            if None not in known:
                finish(k, known)  # type: ignore[arg-type]
                continue
            # A step whose batch is written is not run again: the job reads its records
            # back when a later step needs them, and its counts are those found here.
            links = [Link(step.signature, type(step.op), params[i], *_batch_paths(step.dir, k),
                          written=known[i] is not None) for i, step in enumerate(stage)]  # fmt: skip
            await running.add(one(k, batch, links, known))
    unfinished = upstream.unfinished
    if unfinished and early:
        await asyncio.to_thread(_mark_unfinished, stage, early)
    reports = []
    after_failure = False  # after a step with unfinished batches, nothing is final
    for i, step in enumerate(stage):
        after_failure = after_failure or bool(failed[i])
        if failed[i]:
            log.warning("%s: %d batch(es) had failed LLM requests; not final, a re-run "
                        "retries them", step.op.name, len(failed[i]))  # fmt: skip
        not_final = unfinished or after_failure
        if not was_finished[i] and not not_final:
            await asyncio.to_thread(step.mark_done)
        streams[i].end(unfinished=not_final)
        inputs = upstream.count if i == 0 else outputs[i - 1]
        # Its time is the busy time of its batches: the stage's steps run interleaved.
        reports.append(StepReport(step.op.name, step.signature, inputs, outputs[i], rejected[i],
                                  seconds[i], was_finished[i] and not ran[i], reasons[i]))  # fmt: skip
    return reports


def _mark_unfinished(stage: Sequence[Step], batches: Sequence[int]) -> None:
    """Mark these batches of every step of ``stage`` not final: a re-run makes them again."""
    for step in stage:
        for k in batches:
            data_path = batch_path(step.dir, k)
            if data_path.exists():
                atomic_write_text(_unfinished_marker(data_path), "")
