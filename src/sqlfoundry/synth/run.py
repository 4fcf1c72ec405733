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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.core.collector import fewer_collections
from sqlfoundry.core.io import atomic_write_text
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.runs import Fold
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

    def iter_samples(self) -> Iterator[Sample]:
        """The records one at a time (a finished run reads them from its files)."""
        return iter(self.samples)

    def stored_rejects(self) -> Sequence[dict[str, Any]]:
        """The rejects, read from the run's files each time they are gone through (a
        finished run's are never all held in memory)."""
        return self.rejects

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

    def iter_samples(self) -> Iterator[Sample]:
        return self._result.iter_samples()

    def stored_rejects(self) -> Sequence[dict[str, Any]]:
        return OnDisk(self._result.iter_rejects)


class OnDisk(Sequence):
    """A run's records or rejects, read again from its files each time they are gone
    through, never held in memory (``len`` counts them once)."""

    def __init__(self, read: Callable[[], Iterator[Any]], count: int | None = None) -> None:
        self._read, self._count = read, count

    def __iter__(self) -> Iterator[Any]:
        return self._read()

    def __len__(self) -> int:
        if self._count is None:
            self._count = sum(1 for _ in self._read())
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice) or index < 0:
            return list(self._read())[index]
        for i, item in enumerate(self._read()):
            if i == index:
                return item
        raise IndexError(index)


def _new_tally() -> Any:
    from sqlfoundry.synth.report import SummaryTally

    return SummaryTally()


def _tally_part(records: Sequence[Sample], ctx: Any) -> Any:
    """The summary's tally of one batch of final records, where the batch was made."""
    from sqlfoundry.synth.report import tally_records

    return tally_records(records, lambda db_id: ctx.schema(db_id, sample_values=0))


def _merge_tallies(tally: Any, later: Any) -> Any:
    tally.merge(later)
    return tally


# The records stream past once, as each last batch is made (on the workers, when the run
# has them): only their counts and the few examples the report shows are kept.
TALLY = Fold(start=_new_tally, batch=_tally_part, merge=_merge_tallies)


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

    def schema_of(db_id: str) -> Any:
        return databases.schema(db_id, sample_values=0)

    async with run_context(settings, databases, llm, executor) as ctx:
        with fewer_collections():  # the run and its tally: see sqlfoundry.core.collector
            result = await pipeline.arun(seeds, run_dir, ctx, progress=progress, fold=TALLY,
                                         input_rejects=input_rejects, record=output_record)  # fmt: skip
            usage = ctx.llm.usage if ctx.llm is not None else None
            tally = result.folded
        seconds = time.perf_counter() - start
    summary = summarize(result, mode=mode, engine=settings.engine, seconds=seconds,
                        input_count=len(seeds) + len(input_rejects),
                        usage=usage.to_dict() if usage else None,
                        schema_of=schema_of, tally=tally)  # fmt: skip
    summary["settings"] = settings.model_dump(mode="json")
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False))
    atomic_write_text(run_dir / "report.html", render_report(summary, tally.picks))
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
