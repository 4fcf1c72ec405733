"""One synthesis or refinement run, start to finish: what ``sqlfoundry synth`` /
``refine`` and :func:`sqlfoundry.synthesize` / :func:`sqlfoundry.refine` all call.

The run opens its context (SQL worker pool; for the LLM engine the client,
checked with a preflight, and an embedder), runs the mode's pipeline with
checkpoints in ``run_dir``, then writes ``summary.json`` and ``report.html``
beside ``data.jsonl`` and ``rejects.jsonl``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.core.io import atomic_write_text
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.runs import RunResult
from sqlfoundry.core.sample import Sample
from sqlfoundry.core.sync import run_sync
from sqlfoundry.synth.pipelines import Mode, SynthSettings, build_pipeline, run_context
from sqlfoundry.synth.records import output_record

Progress = Callable[[str, int, int], None]


@dataclass
class SynthesisRun:
    """What one run made.

    Attributes:
        samples: the finished records, as :class:`~sqlfoundry.core.sample.Sample`
            (read from the run's checkpoint the first time they are asked for).
        rejects: every record left out, with the operator and the reason
            (the lines of ``rejects.jsonl``).
        summary: the run summary (the content of ``summary.json``).
        run_dir: where the run's files are; None when it ran in a temporary folder.
        usage: the LLM usage (``sqlfoundry.llm.Usage``), None for the offline engine.
    """

    samples: list[Sample] = field(repr=False)
    rejects: list[dict[str, Any]] = field(repr=False)
    summary: dict[str, Any]
    run_dir: Path | None = None
    usage: Any = field(default=None, repr=False)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records in the output format of ``data.jsonl`` (``SQL``, ``cot_reasoning``...)."""
        return [output_record(s) for s in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def export(self, fmt: str, out_dir: str | Path, **options: Any) -> Any:
        """Write the records in a training format; see :func:`sqlfoundry.synth.exporters.export_report`.

        Returns:
            the ``ExportReport`` (files written, records skipped and why).
        """
        from sqlfoundry.synth.exporters import export_report

        return export_report(self.samples, fmt, out_dir, **options)


class _LazyRun(SynthesisRun):
    """A :class:`SynthesisRun` whose records stay on disk until asked for."""

    def __init__(self, result: Any, summary: dict[str, Any], run_dir: Path, usage: Any) -> None:
        self._result = result
        self.summary, self.run_dir, self.usage = summary, run_dir, usage

    @property  # type: ignore[override]
    def samples(self) -> list[Sample]:
        return self._result.samples

    @property  # type: ignore[override]
    def rejects(self) -> list[dict[str, Any]]:
        return self._result.rejects

    def __len__(self) -> int:
        return self._result.count if self._result.count is not None else len(self.samples)


@dataclass(slots=True)
class SummaryRecord:
    """What the summary and the report read of a record (a slotted object: a few
    hundred bytes a record, against a couple of KiB for a whole ``Sample``)."""

    id: str
    db_id: str
    question: str | None
    sql: str | None
    hardness: str | None
    difficulty: str | None
    component_difficulty: str | None
    execution_difficulty: str | None
    meta: dict[str, Any]


def summary_sample(sample: Sample) -> SummaryRecord:
    """A record's summary view: no prompt, no reasoning, no provenance."""
    semantic = sample.meta.get("semantic")
    return SummaryRecord(sample.id, sample.db_id, sample.question, sample.sql, sample.hardness,
                         sample.difficulty, sample.component_difficulty,
                         sample.execution_difficulty,
                         {"semantic": semantic} if semantic is not None else {})  # fmt: skip


async def arun_mode(
    mode: Mode,
    seeds: Sequence[Sample],
    databases: Any,
    settings: SynthSettings,
    run_dir: str | Path,
    *,
    llm: Any = None,
    pipeline: Pipeline | None = None,
    input_rejects: Sequence[dict[str, Any]] = (),
    progress: Progress | None = None,
    executor: Any = None,
) -> SynthesisRun:
    """Run ``mode`` over ``seeds`` and write the run's files into ``run_dir``.

    Args:
        mode: ``synth`` (seeds are one record per database) or ``refine``
            (seeds are question/SQL pairs).
        databases: a ``sqlfoundry.db.DatabaseManager``.
        settings: the ``[synth]`` settings.
        run_dir: the run directory (created; a second run resumes from it).
        llm: an ``LLMConfig``; needed for ``engine = "llm"``.
        pipeline: the pipeline to run; by default the mode's, built from ``settings``.
        input_rejects: problems found while reading the input; they head ``rejects.jsonl``.
        progress: called with (operator, batches done, batches) as batches finish.
        executor: where the steps run: an ``Executor``, ``ExecutorSettings``, ``"local"``
            (the default) or ``"ray"``.

    Raises:
        ConfigError: a bad setting, or the LLM engine with no endpoint.
        LLMEndpointError: the endpoint fails its preflight.
    """
    from sqlfoundry.synth.report import render_report, summarize

    pipeline = pipeline or build_pipeline(mode, settings)
    run_dir = Path(run_dir)
    start = time.perf_counter()
    async with run_context(settings, databases, llm, executor) as ctx:
        result = await pipeline.arun(seeds, run_dir, ctx, progress=progress,
                                     input_rejects=input_rejects, record=output_record)  # fmt: skip
        usage = ctx.llm.usage if ctx.llm is not None else None
    # The records stream from the last checkpoint; only their summary view is held.
    slim = RunResult([summary_sample(s) for s in result.iter_samples()], steps=result.steps,
                     read_rejects=result.iter_rejects)  # fmt: skip
    summary = summarize(slim, mode=mode, engine=settings.engine,
                        seconds=time.perf_counter() - start,
                        input_count=len(seeds) + len(input_rejects),
                        usage=usage.to_dict() if usage else None,
                        schema_of=lambda db_id: databases.schema(db_id, sample_values=0))  # fmt: skip
    summary["settings"] = settings.model_dump(mode="json")
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False))
    atomic_write_text(run_dir / "report.html", render_report(summary, slim.samples))
    return _LazyRun(result, summary, run_dir, usage)


def run_mode(
    mode: Mode,
    seeds: Sequence[Sample],
    databases: Any,
    settings: SynthSettings,
    run_dir: str | Path,
    **options: Any,
) -> SynthesisRun:
    """:func:`arun_mode` from synchronous code (a notebook's running loop included)."""
    return run_sync(lambda: arun_mode(mode, seeds, databases, settings, run_dir, **options))
