"""The engine: a run config's tasks, run in their ``exec_process`` order, then scored.

:meth:`Engine.prepare` does everything that can fail before any work: the
datasets are loaded, every task's stages are built and their inputs checked,
and a task that needs the LLM finds it configured. :meth:`Engine.run` then
checks the endpoint (one preflight; an unreachable one stops here), runs the
plan (a sequence one task after the other, a parallel group at once, sharing
the LLM client) and writes the run directory::

    RUN_DIR/
      config.json                 the config as read (ours, after a Squrve one was mapped)
      tasks/<task_id>/
        steps/...                 the core pipeline's step checkpoints (a re-run resumes)
        data.jsonl, manifest.json the core pipeline's output
        predictions.jsonl         one record per question, in input order
        pred.sql, gold.sql        for ``sqlfoundry eval --pred pred.sql --gold gold.sql``
        items.jsonl               the per-question verdicts
        log.txt                   what the task did
      report.json                 per task: its metrics (EX under ``ex``) and its cost
      report.html                 the same across tasks, as a page

A record's problem (an unparsable answer, a failed request, a stage error, a
record an operator dropped) is written on that record and counted; it scores
wrong and the run goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text, check_output
from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.compose import restore_rejects
from sqlfoundry.methods.engine.build import TaskBuild, build_all
from sqlfoundry.methods.engine.config import Plan, RunConfig, parse_exec_process
from sqlfoundry.methods.engine.dataset import Dataset, load_dataset
from sqlfoundry.methods.engine.metrics import default_metrics, score
from sqlfoundry.methods.engine.report import render_report

log = logging.getLogger(__name__)

Progress = Callable[[str, str, int, int], None]  # task id, operator, batches done, batches
_RECORD_FIELDS = ("id", "db_id", "question", "evidence", "pred_sql", "candidates",
                  "schema_subset", "schema_links")  # fmt: skip


def prediction_record(sample: Sample) -> dict[str, Any]:
    """A record of ``predictions.jsonl`` (``sqlfoundry eval`` reads its ``pred_sql``)."""
    out: dict[str, Any] = {k: getattr(sample, k) for k in _RECORD_FIELDS}
    meta = dict(sample.meta)
    out["usage"] = meta.pop("usage", {})
    out["errors"] = meta.pop("errors", [])
    meta.pop("provenance", None)
    meta.pop("engine", None)
    out["meta"] = meta
    return out


def one_line(sql: str | None) -> str:
    """A query on one line for a ``pred.sql`` / ``gold.sql`` file (a tab would end the entry)."""
    return " ".join((sql or "").split())


class Engine:
    """Runs a :class:`RunConfig` (see the module doc).

    Args:
        config: the validated config.
        llm_config: the ``LLMConfig`` (file < environment < flags), or None for no LLM.
        embedder: an object with ``encode(texts)``; by default the local embedder when
            a stage needs embeddings and the ``embed`` extra is installed.
        executor: where the tasks' pipelines run (an ``Executor``, ``ExecutorSettings``,
            ``"local"`` or ``"ray"``); by default the config's ``[executor]``, else local.
    """

    def __init__(self, config: RunConfig, *, llm_config: Any = None, embedder: Any = None,
                 executor: Any = None) -> None:  # fmt: skip
        from sqlfoundry.core.executors import ExecutorSettings

        self.config = config
        self.executor = executor
        if executor is None:  # checked now, before any work
            self.executor = ExecutorSettings.from_sources(config.executor, {})
        self.llm_config = llm_config
        self.embedder = embedder
        self.plan: Plan | None = None
        self.builds: dict[str, TaskBuild] = {}
        self.datasets: dict[str, Dataset] = {}
        self._dataset_of: dict[str, str] = {}

    # ------------------------------------------------------------------ checks

    def prepare(self) -> None:
        """Load the datasets, build and check every task; ConfigError before any work."""
        self.plan = parse_exec_process(self.config.exec_process, self.config)
        tasks = {t.id: t for t in self.config.tasks}
        order = self.plan.task_ids()
        self.builds = build_all(self.config, order)
        for task_id in order:
            task = tasks[task_id]
            source = task
            while source.dataset is None and source.source is not None:
                source = tasks[source.source]
            chosen = source.dataset or self.config.dataset
            assert chosen is not None  # the config model checks every task has one
            key = chosen.key()
            if key not in self.datasets:
                self.datasets[key] = load_dataset(chosen, self.config.bench)
            self._dataset_of[task_id] = key
        needs = frozenset().union(*(b.needs for b in self.builds.values()))
        has_llm = self.llm_config is not None and self.llm_config.is_configured
        if "embedder" in needs and self.embedder is None and not has_llm:
            import importlib.util

            if importlib.util.find_spec("sentence_transformers") is None:
                raise ConfigError(
                    "a stage needs embeddings: neither the local embedder nor an endpoint is there",
                    hint="pip install 'sqlfoundry[embed]', or configure [llm] for /v1/embeddings",
                )
        if "llm" in needs and not has_llm:
            users = [b.id for b in self.builds.values() if "llm" in b.needs]
            raise ConfigError(
                f"task(s) {', '.join(users)} need an LLM endpoint and none is configured",
                hint="set [llm] base_url and model, OPENAI_BASE_URL and SQLFOUNDRY_LLM_MODEL, "
                "or --llm-base-url and --llm-model",
            )

    @property
    def needs(self) -> frozenset[str]:
        """The run services any task of the engine needs (``llm``, ``executor``, ``embedder``)."""
        return frozenset().union(*(b.needs for b in self.builds.values()))

    # ------------------------------------------------------------------ running

    def run(self, run_dir: str | Path, progress: Progress | None = None) -> dict[str, Any]:
        """:meth:`arun` in a fresh event loop."""
        return asyncio.run(self.arun(run_dir, progress))

    async def arun(self, run_dir: str | Path, progress: Progress | None = None) -> dict[str, Any]:
        """Run the plan into ``run_dir`` and return the report (also written there)."""
        check_output(run_dir, folder=True)
        if self.plan is None:
            self.prepare()
        assert self.plan is not None
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json",
                          json.dumps(self.config.model_dump(mode="json", by_alias=True), indent=2))  # fmt: skip
        embedder = self._embedder()
        # Embeddings from the endpoint need the client even when no stage chats with it.
        llm = await self._open_llm("embedder" in self.needs and embedder is None)
        from sqlfoundry.core.executors import make_executor
        from sqlfoundry.llm.context_spec import ContextSpec, shared_llm_config

        executor = make_executor(self.executor)
        remote = executor.kind != "local"
        llm_spec = shared_llm_config(self.llm_config) if llm is not None else None
        contexts: dict[str, RunContext] = {}
        self._records: dict[str, list[Sample]] = {}
        self._done: dict[str, asyncio.Event] = {t: asyncio.Event() for t in self.builds}
        self._report: dict[str, Any] = {}
        start = time.perf_counter()
        try:
            for key, dataset in self.datasets.items():
                from sqlfoundry.db.pool import SafeExecutor

                settings = self.config.run
                sql = SafeExecutor(dataset.manager, workers=0 if remote else settings.workers,
                                   timeout=settings.timeout, max_rows=10_000)  # fmt: skip
                spec = ContextSpec(databases=dataset.manager, llm=llm_spec, seed=settings.seed,
                                   workers=0, timeout=settings.timeout, max_rows=10_000,
                                   embedder="local" if embedder is not None else "none")  # fmt: skip
                contexts[key] = RunContext(databases=dataset.manager, executor=sql, llm=llm,
                                           embedder=embedder, seed=settings.seed,
                                           pipeline_executor=executor, spec=spec)  # fmt: skip
            await self._run_plan(self.plan, run_dir, contexts, progress)
        finally:
            for ctx in contexts.values():
                ctx.executor.close()
            if llm is not None:
                await llm.aclose()
            if executor is not self.executor:
                executor.close()  # one this run made (a Ray instance it started)
        report = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - start, 3),
            # In the plan's order, not the order parallel tasks happened to finish in.
            "tasks": {t: self._report[t] for t in self.plan.task_ids() if t in self._report},
        }
        if llm is not None:
            report["llm"] = {"model": llm.model, "usage": llm.usage.to_dict()}
        atomic_write_text(run_dir / "report.json", json.dumps(report, indent=2, ensure_ascii=False))
        atomic_write_text(run_dir / "report.html", render_report(report))
        return report

    def _embedder(self) -> Any:
        """What stages that embed use (``[run] embedder``); None means the endpoint."""
        wanted = self.config.run.embedder
        if self.embedder is not None or "embedder" not in self.needs or wanted == "endpoint":
            return self.embedder
        from sqlfoundry.synth.pipelines import local_embedder

        embedder = local_embedder()
        if embedder is None and wanted == "local":
            from sqlfoundry.core.extras import missing_extra

            raise missing_extra('[run] embedder = "local"', "embed", "sentence_transformers")
        return embedder

    async def _open_llm(self, for_embeddings: bool = False) -> Any:
        configured = self.llm_config is not None and self.llm_config.is_configured
        if "llm" not in self.needs and not (for_embeddings and configured):
            return None
        from sqlfoundry.llm import LLMClient

        llm = LLMClient(self.llm_config)
        try:
            await llm.preflight()  # a wrong URL, key or model stops the run before any work
        except BaseException:
            await llm.aclose()
            raise
        return llm

    async def _run_plan(self, plan: Plan, run_dir: Path, contexts: dict[str, RunContext],
                        progress: Progress | None) -> None:  # fmt: skip
        async def one(item: str | Plan) -> None:
            if isinstance(item, Plan):
                await self._run_plan(item, run_dir, contexts, progress)
            else:
                await self._run_task(item, run_dir, contexts[self._dataset_of[item]], progress)

        if plan.kind == "sequence":
            for item in plan.items:
                await one(item)
        else:
            await asyncio.gather(*(one(item) for item in plan.items))

    async def _run_task(self, task_id: str, run_dir: Path, ctx: RunContext,
                        progress: Progress | None) -> None:  # fmt: skip
        build = self.builds[task_id]
        task = build.task
        dataset = self.datasets[self._dataset_of[task_id]]
        task_dir = run_dir / "tasks" / task_id
        task_dir.mkdir(parents=True, exist_ok=True)
        if task.source is not None:
            await self._done[task.source].wait()
            given = [s.model_copy(deep=True) for s in self._records[task.source]]
        else:
            given = [s.model_copy(deep=True) for s in dataset.samples]
        logbook = _Log(task_dir / "log.txt")
        logbook.line(f"task {task_id} ({task.type}{' ' + task.method if task.method else ''}): "
                     f"{len(given)} questions from {task.source or dataset.name}")  # fmt: skip
        logbook.line("stages: " + " -> ".join(op.name for op in build.operators))
        settings = self.config.run
        llm = "llm" in build.needs
        pipeline = Pipeline(build.operators, batch_size=settings.batch_size,
                            concurrent_batches=settings.concurrent_batches if llm else 1)  # fmt: skip
        tick = (lambda op, done, total: progress(task_id, op, done, total)) if progress else None
        started, cpu = time.perf_counter(), time.process_time()
        result = await pipeline.arun(given, task_dir, ctx, progress=tick)
        # Process CPU while the stages ran (tasks running beside it count too).
        pipeline_cpu = time.process_time() - cpu
        # A record an operator dropped comes back with its reason as an error.
        records = restore_rejects(given, StepOutput(result.samples, result.rejects))  # type: ignore[arg-type]
        for step in result.steps:
            logbook.line(f"  {step.operator}: {step.inputs} in, {step.outputs} out, "
                         f"{step.seconds:.2f} s{' (reused)' if step.reused else ''}")  # fmt: skip
        self._records[task_id] = records
        self._done[task_id].set()
        atomic_write_jsonl(task_dir / "predictions.jsonl", (prediction_record(r) for r in records))
        atomic_write_text(
            task_dir / "pred.sql", "".join(one_line(r.pred_sql) + "\n" for r in records)
        )
        atomic_write_text(task_dir / "gold.sql",
                          "".join(f"{one_line(r.sql)}\t{r.db_id}\n" for r in records if r.sql))  # fmt: skip
        metrics = task.eval or default_metrics(build.written)
        cpu = time.process_time()
        entry = await asyncio.to_thread(score, records, dataset, metrics,
                                        workers=settings.workers, timeout=settings.timeout)  # fmt: skip
        scoring_cpu = time.process_time() - cpu
        verdicts = entry.pop("verdicts", None)
        if verdicts is not None:
            atomic_write_jsonl(task_dir / "items.jsonl", verdicts)
        if "pred_sql" not in build.written:
            entry["errors"].pop("without_prediction", None)
        entry = {"type": task.type, "method": task.method or _steps_text(task.steps),
                 "stages": [op.name for op in build.operators], "dataset": dataset.name,
                 "seconds": round(time.perf_counter() - started, 3),
                 "cpu_seconds": {"stages": round(pipeline_cpu, 4), "scoring": round(scoring_cpu, 4)},
                 **entry}  # fmt: skip
        if dataset.problems:
            entry["input_problems"] = dataset.problems[:50]
        self._report[task_id] = entry
        logbook.line(_summary(entry))
        logbook.close()


def _steps_text(steps: Any) -> str:
    return json.dumps(steps) if steps else ""


def _summary(entry: dict[str, Any]) -> str:
    parts = [f"{entry['count']} questions"]
    for key in ("ex", "em", "ex_squrve"):
        if key in entry:
            parts.append(f"{key.upper()} {entry[key] * 100:.1f}%")
    cost = entry["cost"]
    parts.append(f"{cost['calls_per_question']} calls/question")
    parts.append(f"{entry['errors']['records_with_errors']} with errors")
    return "done: " + ", ".join(parts)


class _Log:
    """A task's log file, appended line by line as the task goes."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")

    def line(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        self._file.write(f"{stamp} {text}\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
