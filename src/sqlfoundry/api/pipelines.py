"""``sqlfoundry.run_pipeline``: any pipeline of registered operators, over your records."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.api.databases import Databases, open_databases
from sqlfoundry.core.errors import InputError
from sqlfoundry.core.pipeline import Pipeline, RunResult
from sqlfoundry.core.sample import Sample
from sqlfoundry.core.sync import run_sync

Progress = Callable[[str, int, int], None]
PipelineSource = Pipeline | str | Path | Mapping[str, Any] | Sequence[Mapping[str, Any]]


def load_pipeline(pipeline: PipelineSource) -> Pipeline:
    """A ``Pipeline`` from itself, a config file, a config mapping or a list of steps.

    Each step is ``{"op": name, **params}`` naming a registered operator
    (``sql_generator``, ``question_generator``, ``retrieval_sql_generator``, ...).

    Raises:
        ConfigError: an unknown operator, a bad parameter, a file that cannot be read.
    """
    if isinstance(pipeline, Pipeline):
        return pipeline
    if isinstance(pipeline, (str, Path)):
        return Pipeline.from_file(pipeline)
    return Pipeline.from_config(pipeline if isinstance(pipeline, Mapping) else list(pipeline))


def as_samples(
    records: Iterable[Sample | Mapping[str, Any]], prefix: str = "record"
) -> list[Sample]:
    """Records as Samples: Samples as they are, dicts by the Sample field names
    (``id`` defaults to ``<prefix>-N``).

    Raises:
        InputError: an item that is not a record, or has a field of the wrong type.
    """
    out = []
    for number, item in enumerate(records, start=1):
        if isinstance(item, Sample):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise InputError(f"record {number} is not a mapping ({type(item).__name__})")
        data = {"id": f"{prefix}-{number}", "db_id": "", **item}
        try:
            out.append(Sample.model_validate(data))
        except ValueError as error:
            raise InputError(f"record {number} is not a sample: {error}") from None
    return out


def run_pipeline(
    pipeline: PipelineSource,
    records: Iterable[Sample | Mapping[str, Any]],
    *,
    databases: Databases | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    llm: Any = None,
    workers: int | None = None,
    timeout: float = 30.0,
    password_env: str | None = None,
    progress: Progress | None = None,
    executor: Any = None,
) -> RunResult:
    """Run a pipeline over records, with checkpoints in ``run_dir``.

    Args:
        pipeline: a ``Pipeline``, a config file (TOML/YAML/JSON with ``[[steps]]``),
            a config mapping, or a list of ``{"op": name, **params}`` steps.
        records: Samples, or dicts with Sample field names (``db_id``,
            ``question``, ``sql``, ...).
        databases: the databases the operators read (a folder, a file, a server
            URL or a ``DatabaseManager``); None when no step needs one.
        run_dir: where checkpoints, ``data.jsonl`` and ``rejects.jsonl`` go; a
            second call resumes. By default a temporary folder, removed after.
        seed: the run's seed; llm: an ``LLMConfig`` or a mapping of its fields,
            for operators with an LLM engine; workers, timeout: the SQL worker pool.
        progress: called with ``(operator, batches done, batches)``.
        executor: where the steps run: ``"local"`` (the default), ``"ray"``, an
            ``ExecutorSettings`` or an executor.

    Returns:
        The core ``RunResult``: ``.samples``, ``.rejects``, ``.steps`` (per-step counts).

    Example::

        result = sqlfoundry.run_pipeline(
            [{"op": "sql_generator", "num_per_db": 5}, {"op": "question_generator"}],
            [{"db_id": "bookshop"}], databases="examples/demo_dbs",
        )
    """
    from sqlfoundry.api.synthesis import llm_settings
    from sqlfoundry.synth.pipelines import SynthSettings, run_context

    built = load_pipeline(pipeline)
    samples = as_samples(records)
    manager = (
        open_databases(databases, password_env=password_env) if databases is not None else None
    )
    engine = "llm" if llm is not None else "offline"
    settings = SynthSettings(engine=engine, seed=seed, workers=workers, timeout=timeout)
    llm_config = llm_settings(None, llm) if llm is not None else None

    async def go(folder: str | Path) -> RunResult:
        async with run_context(settings, manager, llm_config, executor) as ctx:
            return await built.arun(samples, folder, ctx, progress=progress)

    if run_dir is not None:
        return run_sync(lambda: go(run_dir))
    with tempfile.TemporaryDirectory(prefix="sqlfoundry-run-") as folder:
        result = run_sync(lambda: go(folder))
        result.samples, result.rejects  # noqa: B018 - read before the folder goes
        return result
