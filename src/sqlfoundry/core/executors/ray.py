"""The Ray Data executor: the same pipeline as ``map_batches`` stages over actor pools.

The whole pipeline is one lazy Ray Data plan: the input records, then the
unfinished steps as one ``map_batches`` over an ``ActorPoolStrategy(min, max)``
pool of :class:`~sqlfoundry.core.executors.ray_step.StageActor` (each actor takes a
batch through every step; with ``fuse=False``, one such pool per step), then a sort
by record key. Batches stream through; each step writes its part files as batches
pass, so checkpoints cost no extra pass and no batch waits for a step to finish on
the others. When the plan has run, the driver writes ``data.jsonl`` and
``ordered.jsonl`` (the last step's records in order) from the sorted stream, then
the ``done`` markers.

Resume: a finished step (``done``) is not run again; the plan starts from its
checkpoint. A step whose records had failed LLM requests gets no ``done`` (nor do
the steps after it): those records go into this run's output, and the next run
drops them from the parts and asks again. Within an unfinished step, an actor
gives back what the step's parts already hold for a record instead of running the
operator again (a node that died loses only the batches it had not written). The LLM response cache is one folder
for every node (see :mod:`sqlfoundry.llm.context_spec`), so replayed requests cost nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.executors.base import Executor, Progress
from sqlfoundry.core.executors.ray_step import (
    StageActor,
    drop_unfinished,
    read_part_lines,
    root_key,
)
from sqlfoundry.core.extras import require
from sqlfoundry.core.io import atomic_path, decode_line
from sqlfoundry.core.runs import (
    Fold,
    RunResult,
    Step,
    StepReport,
    finish_run,
    plan_steps,
    read_jsonl_dicts,
    records_signature,
)
from sqlfoundry.core.sample import Sample

log = logging.getLogger(__name__)

ORDERED = "ordered.jsonl"


class RayExecutor(Executor):
    """Runs pipelines on a Ray cluster (or a Ray instance it starts on this machine).

    Args:
        address: the cluster (``auto``, ``host:6379``, ``ray://host:10001``); None
            starts a local Ray instance unless this process is already connected.
        checkpoint_dir: where step folders go (every node must reach it); default
            ``RUN_DIR/steps``.
        actors: (min, max) actors of each pool.
        num_cpus: CPUs each actor asks for; None: the cluster's CPUs shared among
            the pools' smallest sizes, at most 1 (every pool runs at once).
        fuse: run the unfinished steps in one pool of actors, each taking a batch
            through every step (the default); False: one pool per step, which lets
            steps with different needs scale apart at the cost of an actor start and
            a pass through Arrow per step.
        init: more ``ray.init`` keyword arguments.
    """

    kind = "ray"

    def __init__(
        self,
        address: str | None = None,
        checkpoint_dir: str | Path | None = None,
        actors: tuple[int, int] = (1, 2),
        num_cpus: float | None = None,
        init: dict[str, Any] | None = None,
        fuse: bool = True,
    ) -> None:
        self.address = address
        self.fuse = fuse
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.actors = actors
        self.num_cpus = num_cpus
        self.init = dict(init or {})
        self._started = False

    def connect(self) -> Any:
        """Connect to the cluster (once); returns the ``ray`` module."""
        ray = require("ray", "ray", "the Ray executor")
        require("ray.data", "ray", "the Ray executor")
        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": False, **self.init}
            if self.address is not None:
                options["address"] = self.address
            try:
                ray.init(**options)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise ConfigError(f"cannot reach the Ray cluster at {self.address or 'local'}: "
                                  f"{error}", hint="check --ray-address (ray status shows it)") from None  # fmt: skip
            self._started = True
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        return ray

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

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
        spec = getattr(ctx, "spec", None)
        if spec is None:
            raise ConfigError(
                "the Ray executor needs a run context it can rebuild on each actor",
                hint="open the context with sqlfoundry.synth.pipelines.run_context (or give "
                "RunContext(spec=ContextSpec(...)))",
            )
        run_dir = Path(run_dir)
        root = self.checkpoint_dir or run_dir / "steps"
        root.mkdir(parents=True, exist_ok=True)
        steps = plan_steps(pipeline.operators, records_signature(samples), root, ctx)
        # Ray's calls block: run them off the event loop.
        reports = await asyncio.to_thread(self._run, pipeline, list(samples), steps, spec,
                                          run_dir, record, progress)  # fmt: skip
        last = steps[-1].dir

        def records() -> Iterator[Sample]:
            ordered = last / ORDERED
            if ordered.exists():
                return (Sample(**d) for d in read_jsonl_dicts(ordered))
            from sqlfoundry.core.executors.local import step_samples

            return step_samples(last)  # finished by the local executor

        def rejects() -> Iterator[dict[str, Any]]:
            yield from input_rejects
            for step in steps:
                yield from step_rejects(step)

        return finish_run(run_dir, reports, records, rejects, record, fold=fold, ctx=ctx)

    # ------------------------------------------------------------------ driver

    def _run(self, pipeline: Any, samples: list[Sample], steps: list[Step], spec: Any,
             run_dir: Path, record: Any, progress: Progress | None) -> list[StepReport]:  # fmt: skip
        start = time.perf_counter()
        for step in steps:
            # What an earlier run could not finish (failed LLM requests) is asked again.
            if not step.finished and step.dir.is_dir() and drop_unfinished(step.dir):
                log.info("%s: running again the records an earlier run left unfinished",
                         step.op.name)  # fmt: skip
        first = next((i for i, s in enumerate(steps) if not s.finished), len(steps))
        last = steps[-1]
        if first == len(steps) and ((last.dir / ORDERED).exists() or _local_step(last.dir)):
            return [step_report(s, True, 0.0)[0] for s in steps]
        if first == 0 and not samples:  # nothing to run: every step is empty
            for step in steps:
                step.dir.mkdir(parents=True, exist_ok=True)
                write_ordered(step.dir, step.dir / ORDERED)
                step.mark_done()
            return [step_report(s, False, 0.0)[0] for s in steps]
        ray = self.connect()
        if first == len(steps):  # finished but not ordered: read the last step again
            first -= 1
        ds = self._source(ray, samples, steps[first - 1] if first else None)
        low, high = self.actors
        cpus = self.num_cpus
        if cpus is None:
            total = ray.cluster_resources().get("CPU", 1.0)
            # Every stage's pool starts at once; leave a CPU share for Ray's own tasks.
            stages = 1 if self.fuse else len(steps[first:])
            cpus = min(1.0, round(0.9 * total / (low * stages), 3))
        for stage in self._stages(steps[first:]):
            if progress:
                for step in stage:
                    progress(step.op.name, 0, 1)
            sizes = [min(pipeline.batch_size, s.op.max_batch or pipeline.batch_size) for s in stage]
            ds = ds.map_batches(
                StageActor,
                fn_constructor_kwargs={
                    "steps": [(type(s.op), s.op.params.model_dump(), str(s.dir)) for s in stage],
                    "spec": spec,
                    "emit": stage[-1] is not last,
                    "batch_sizes": sizes,
                },  # fmt: skip
                batch_size=sizes[0],
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(min_size=low, max_size=high),
                num_cpus=cpus,
            )
        # The last step keeps its records in its parts and sends nothing back: the
        # driver only drives the stream, then orders the parts by key itself.
        for _ in ds.iter_batches(batch_size=None, batch_format="numpy"):
            pass
        write_ordered(last.dir, last.dir / ORDERED)
        seconds = time.perf_counter() - start
        reports = []
        unfinished = False  # after a step with records that are not final, nothing is
        for i, step in enumerate(steps):
            reused = i < first
            report, not_final = step_report(step, reused, 0.0 if reused else seconds)
            reports.append(report)
            if reused:
                continue
            if not_final and not unfinished:
                unfinished = True
                log.warning("%s: records had failed LLM requests; not final, a re-run "
                            "retries them", step.op.name)  # fmt: skip
            if not unfinished:
                step.mark_done()
            if progress:
                progress(step.op.name, 1, 1)
        return reports

    def _stages(self, steps: list[Step]) -> list[list[Step]]:
        """The steps each actor pool runs: all of them in one (``fuse``), or one each."""
        return [steps] if self.fuse else [[step] for step in steps]

    def _source(self, ray: Any, samples: list[Sample], done: Step | None) -> Any:
        """The plan's input: the run's records, or the checkpoint of the last finished step."""
        blocks = max(1, min(200, (len(samples) or 1)))
        if done is None:
            rows = [{"key": root_key(i), "json": json.dumps(s.to_json_dict(), ensure_ascii=False),
                     "unf": False} for i, s in enumerate(samples)]  # fmt: skip
            return ray.data.from_items(rows, override_num_blocks=blocks)
        if any(done.dir.glob("part-*.jsonl")):
            # The keys stay those the later steps' parts were written under.
            rows = [{"key": k, "json": t, "unf": False} for k, t in ordered_rows(done.dir)]
        else:  # a step the local executor finished: keys by position
            from sqlfoundry.core.executors.local import step_samples

            rows = [{"key": root_key(i), "json": json.dumps(s.to_json_dict(), ensure_ascii=False),
                     "unf": False} for i, s in enumerate(step_samples(done.dir))]  # fmt: skip
        # From the driver, not read tasks: the steps' actors may hold every CPU.
        return ray.data.from_items(rows, override_num_blocks=max(1, min(200, len(rows) or 1)))


def step_report(step: Step, reused: bool, seconds: float) -> tuple[StepReport, bool]:
    """A step's counts from its files, and whether a Ray step holds records that are
    not final (one pass over its parts)."""
    inputs = outputs = rejected = 0
    unfinished = False
    reasons: dict[str, int] = {}
    if _local_step(step.dir):
        from sqlfoundry.core.executors.local import step_rejects as local_rejects
        from sqlfoundry.core.executors.local import step_samples

        outputs = sum(1 for _ in step_samples(step.dir))
        for r in local_rejects(step.dir):
            rejected += 1
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
        inputs = -1  # not told by a local step's files
    else:
        for line in _unique_lines(step.dir):
            inputs += 1
            outputs += len(line["out"])
            unfinished = unfinished or bool(line.get("u"))
            for r in line["rej"]:
                rejected += 1
                reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    report = StepReport(step.op.name, step.signature, inputs, outputs, rejected, seconds,
                        reused, reasons)  # fmt: skip
    return report, unfinished


def _local_step(step_dir: Path) -> bool:
    return any(step_dir.glob("rejects-*.jsonl"))


def finished_on_ray(step_dir: Path) -> bool:
    """Whether a step folder holds a Ray run's records (parts), not the local executor's."""
    return not _local_step(step_dir) and (
        (step_dir / ORDERED).exists() or any(step_dir.glob("part-*.jsonl"))
    )


def ray_step_lines(step_dir: Path) -> Iterator[str]:
    """A Ray step's records as JSON lines, in the local executor's order."""
    ordered = step_dir / ORDERED
    if ordered.exists():
        with ordered.open(encoding="utf-8") as fh:
            yield from (line for line in fh if line.strip())
        return
    for _, text in ordered_rows(step_dir):
        yield text + "\n"


def ray_step_samples(step_dir: Path) -> Iterator[Sample]:
    """A Ray step's records, in the local executor's order."""
    for line in ray_step_lines(step_dir):
        yield Sample(**decode_line(line))


def _unique_lines(step_dir: Path) -> Iterator[dict[str, Any]]:
    """A step's part lines, one per input record (a batch a retried task wrote twice
    counts once)."""
    seen: set[str] = set()
    for line in read_part_lines(step_dir):
        if line["p"] not in seen:
            seen.add(line["p"])
            yield line


def step_rejects(step: Step) -> Iterator[dict[str, Any]]:
    """A step's rejects in the order the local executor writes them (by record key)."""
    if _local_step(step.dir):
        from sqlfoundry.core.executors.local import step_rejects as local_rejects

        yield from local_rejects(step.dir)
        return
    keyed = [(line["p"], line["rej"]) for line in _unique_lines(step.dir) if line["rej"]]
    keyed.sort(key=lambda item: item[0])
    for _, rejects in keyed:
        yield from rejects


def ordered_rows(step_dir: Path) -> Iterator[tuple[str, str]]:
    """A Ray step's (key, record JSON) in key order: the local executor's order.

    Only (key, file, line) is held per record while sorting, never the records."""
    index: list[tuple[str, int, int]] = []
    files = sorted(step_dir.glob("part-*.jsonl"))
    seen: set[str] = set()
    for f, part in enumerate(files):
        with part.open(encoding="utf-8") as fh:
            for n, text in enumerate(fh):
                line = json.loads(text)
                if line["p"] in seen:
                    continue  # a batch a retried task wrote twice
                seen.add(line["p"])
                index.extend((key, f, n) for key, _ in line["out"])
    seen.clear()
    index.sort()
    cache: dict[int, list[str]] = {}
    for key, f, n in index:
        if f not in cache:
            if len(cache) > 8:
                cache.pop(next(iter(cache)))
            cache[f] = files[f].read_text(encoding="utf-8").splitlines()
        line = json.loads(cache[f][n])
        sample = next(s for k, s in line["out"] if k == key)
        yield key, json.dumps(sample, ensure_ascii=False)


def write_ordered(step_dir: Path, path: Path) -> int:
    """A Ray step's records in key order into ``path`` (one Sample per line)."""
    count = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as out:
        for _, text in ordered_rows(step_dir):
            out.write(text + "\n")
            count += 1
    return count
