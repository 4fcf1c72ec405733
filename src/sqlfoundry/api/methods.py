"""``sqlfoundry.run_method`` and ``sqlfoundry.run_methods``: Text-to-SQL methods from Python.

:func:`run_method` answers questions with one method preset of the methods engine
(``retrieval`` needs no model; ``zero_shot``, ``few_shot``, ``din_sql``, ``mac_sql``,
``chess``, ``self_consistency`` and ``sql_o1`` call one), built into a core pipeline from the
preset's stages. The result keeps one record per question, in input order, so it
can go straight to :func:`sqlfoundry.evaluate`. :func:`run_methods` runs a whole
run config (tasks, composition, scores), as ``sqlfoundry run`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.api.databases import Databases
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.sample import Sample


@dataclass
class MethodRun:
    """What :func:`run_method` answered.

    Attributes:
        method: the method's name.
        samples: one per question, in input order; ``pred_sql`` is None for a
            question the method could not answer, with the reason in
            ``meta["error"]``.
        rejects: those failures as the pipeline recorded them (operator, reason).
        run_dir: where the run's files are; None when it ran in a temporary folder.
    """

    method: str
    samples: list[Sample]
    rejects: list[dict[str, Any]] = field(default_factory=list)
    run_dir: Path | None = None

    @property
    def predictions(self) -> list[str | None]:
        """The predicted SQL per question (None where there is none)."""
        return [s.pred_sql for s in self.samples]

    def __len__(self) -> int:
        return len(self.samples)


def method_names() -> list[str]:
    """The methods :func:`run_method` knows: the presets of :mod:`sqlfoundry.methods.presets`."""
    from sqlfoundry.methods.presets import presets

    return sorted(presets())


def run_method(
    questions: Any,
    *,
    method: str = "retrieval",
    databases: Databases | None = None,
    db_id: str | None = None,
    params: Mapping[str, Any] | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    llm: Any = None,
    progress: Callable[[str, float, int], None] | None = None,
    executor: Any = None,
) -> MethodRun:
    """Answer questions with a Text-to-SQL method.

    Args:
        questions: a loaded ``Benchmark`` (its questions, databases and evidence),
            records (dicts with ``question`` and ``db_id``, optionally
            ``evidence``; or Samples), question strings (with ``db_id``), or one
            question string.
        method: a preset from :func:`method_names` (``retrieval`` is offline; the
            others call the model given by ``llm``).
        databases: where the databases are (a folder, a file, a server URL or a
            ``DatabaseManager``); a benchmark brings its own.
        db_id: the database of questions given as plain strings.
        params: the preset's parameters (for ``retrieval``: ``num_per_db``,
            ``cache_dir``, ``candidates``; for ``zero_shot``: ``template``, ``n``...).
        run_dir: where checkpoints and ``data.jsonl`` go (a second call resumes);
            by default a temporary folder.
        seed: the run's seed; llm: for methods that call a model, an
            ``LLMConfig`` or a mapping of its fields.
        progress: called with ``(operator, batches done, batches)``.
        executor: where the stages run: ``"local"`` (the default), ``"ray"``, an
            ``ExecutorSettings`` or an executor.

    Returns:
        A :class:`MethodRun` (``.predictions``, ``.samples``); pass it to
        :func:`sqlfoundry.evaluate` as the predictions.

    Raises:
        ConfigError: an unknown method, no databases, bad parameters, or a method
            that calls a model with no ``llm``; LLMEndpointError: the endpoint fails
            its check.

    Example::

        run = sqlfoundry.run_method("How many books are there?", db_id="bookshop",
                                    databases="examples/demo_dbs")
        print(run.predictions[0])
    """
    from sqlfoundry.api.pipelines import as_samples, run_pipeline
    from sqlfoundry.bench.registry import Benchmark
    from sqlfoundry.methods.presets import get_preset

    preset = get_preset(method)
    if preset is None:
        raise ConfigError(
            f"unknown method {method!r}", hint=f"methods: {', '.join(method_names())}"
        )
    steps = preset.stages(dict(params or {}))  # checked before any work
    if isinstance(questions, Benchmark):
        databases = databases if databases is not None else questions.manager()
        questions = questions.samples
    if databases is None:
        raise ConfigError("run_method() needs databases= (a folder, a file or a server URL)")
    if isinstance(questions, str):
        questions = [questions]
    records = [_question(q, db_id, n) for n, q in enumerate(questions, start=1)]
    samples = as_samples(records, prefix="question")
    inputs = [s.model_copy(update={"id": f"{n:06d}:{s.id}"}) for n, s in enumerate(samples)]
    result = run_pipeline(steps, inputs, databases=databases, run_dir=run_dir, seed=seed,
                          llm=llm, progress=progress, executor=executor)  # fmt: skip
    return MethodRun(method, _in_order(samples, inputs, result), result.rejects,
                     Path(run_dir) if run_dir is not None else None)  # fmt: skip


def _question(item: Any, db_id: str | None, number: int) -> Any:
    if isinstance(item, str):
        if db_id is None:
            raise ConfigError("questions given as text need db_id=")
        return {"question": item, "db_id": db_id}
    if isinstance(item, Mapping) and db_id is not None and not item.get("db_id"):
        return {**item, "db_id": db_id}
    return item


def _in_order(originals: list[Sample], inputs: list[Sample], result: Any) -> list[Sample]:
    """One record per question, in input order: the answer, or the question with the reason."""
    answered = {s.id: s for s in result.samples}
    reasons = {}
    for reject in result.rejects:
        sample_id = (reject.get("sample") or {}).get("id")
        if sample_id is not None:
            reasons.setdefault(sample_id, f"{reject.get('operator')}: {reject.get('reason')}")
    out = []
    for original, sent in zip(originals, inputs, strict=True):
        got = answered.get(sent.id)
        if got is not None:
            out.append(got.model_copy(update={"id": original.id}))
        else:
            failed = original.model_copy(deep=True)
            failed.pred_sql = None
            failed.meta["error"] = reasons.get(sent.id, "no answer")
            out.append(failed)
    return out


def run_methods(
    config: str | Path | Mapping[str, Any],
    *,
    run_dir: str | Path,
    llm: Any = None,
    progress: Callable[[str, str, float, int], None] | None = None,
    executor: Any = None,
) -> dict[str, Any]:
    """Run a methods config, as ``sqlfoundry run CONFIG`` does, and return its report.

    Args:
        config: a run config file (TOML/YAML/JSON with ``[dataset]`` and ``[[tasks]]``,
            or Squrve's JSON), or the same as a mapping (relative paths then from the
            working folder).
        run_dir: the run directory (one folder per task, ``report.json``,
            ``report.html``); a second call resumes.
        llm: an ``LLMConfig``, or a mapping of its fields laid over the config's
            ``[llm]`` section and the environment.
        progress: called with ``(task, operator, batches done, batches)``.
        executor: where the tasks run (as for :func:`run_method`); by default the
            config's ``[executor]`` section.

    Returns:
        The report: per task its metrics (``ex``, ``em``, oracle pass@k, linking)
        and cost per question.

    Raises:
        ConfigError: the config is invalid (checked before any work).

    Example::

        report = sqlfoundry.run_methods("examples/methods.toml", run_dir="runs/methods")
        print({task: entry.get("ex") for task, entry in report["tasks"].items()})
    """
    from sqlfoundry.llm.config import LLMConfig
    from sqlfoundry.methods.engine import Engine, read_config
    from sqlfoundry.methods.engine.config import read_config_file

    if isinstance(config, Mapping):
        cfg = read_config(dict(config), source="config", base_dir=Path.cwd())
    else:
        cfg = read_config_file(Path(config))
    if isinstance(llm, LLMConfig):
        llm_config = llm
    else:
        llm_config = LLMConfig.from_sources(cfg.llm or {}, overrides=dict(llm or {}))
    engine = Engine(cfg, llm_config=llm_config, executor=executor)
    engine.prepare()  # every task built and checked before any work
    return engine.run(run_dir, progress=progress)
