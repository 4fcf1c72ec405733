"""``sqlfoundry.synthesize`` and ``sqlfoundry.refine``: training data in one call."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from sqlfoundry.api.databases import Databases, open_databases
from sqlfoundry.core.config import config_mapping
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.run import SynthesisRun

Config = str | Path | Mapping[str, Any] | None
Progress = Callable[[str, int, int], None]


def synthesize(
    databases: Databases,
    *,
    db_ids: Sequence[str] | None = None,
    num_per_db: int | None = None,
    seed: int | None = None,
    engine: Literal["offline", "llm"] | None = None,
    config: Config = None,
    llm: Any = None,
    run_dir: str | Path | None = None,
    workers: int | None = None,
    timeout: float | None = None,
    password_env: str | None = None,
    progress: Progress | None = None,
    executor: Any = None,
) -> SynthesisRun:
    """Synthesize verified training data from databases (what ``sqlfoundry synth`` does).

    Each record has a question, its SQL (checked by execution), the training
    prompt, chain-of-thought and difficulty grades. With the offline engine (the
    default) no model is needed.

    Args:
        databases: a folder of SQLite files, one SQLite file, a server URL or a
            ``DatabaseManager`` (see :func:`sqlfoundry.api.databases.open_databases`).
        db_ids: only these databases (all of them by default).
        num_per_db: SQL queries generated per database (default 100).
        seed: same seed, same data (default 0).
        engine: ``offline`` (no model) or ``llm``.
        config: a config file (TOML/YAML/JSON) or a mapping with ``synth`` (and
            ``llm``) sections; the keyword arguments override it.
        llm: for ``engine="llm"``: an ``LLMConfig``, or a mapping of its fields
            (``{"base_url": ..., "model": ...}``) laid over the config's ``llm``
            section and the environment.
        run_dir: the run directory (checkpoints, ``data.jsonl``, ``rejects.jsonl``,
            ``summary.json``, ``report.html``); a second call resumes from it. By
            default the run happens in a temporary folder that is removed after.
        workers: SQL worker processes; timeout: seconds per query.
        password_env: a server's password variable, when ``databases`` is a URL.
        progress: called with ``(operator, batches done, batches)`` as work finishes.
        executor: where the pipeline runs: ``"local"`` (the default), ``"ray"``, an
            ``ExecutorSettings`` or an executor (``RayExecutor(address=...)``); by
            default the config's ``[executor]`` section.

    Returns:
        A :class:`~sqlfoundry.synth.run.SynthesisRun`: ``.records`` (dicts in the
        ``data.jsonl`` format), ``.samples``, ``.rejects``, ``.summary`` and
        ``.export(fmt, out_dir)``.

    Raises:
        ConfigError: bad settings, unknown ``db_ids``, no databases, or the LLM
            engine with no endpoint; LLMEndpointError: the endpoint fails its check.

    Example::

        import sqlfoundry

        run = sqlfoundry.synthesize("examples/demo_dbs", num_per_db=20, seed=0)
        print(run.records[0]["question"], run.records[0]["SQL"])
    """
    from sqlfoundry.synth.records import database_seeds

    manager = open_databases(databases, password_env=password_env)
    known = manager.db_ids()
    if db_ids:
        missing = [d for d in db_ids if d not in known]
        if missing:
            raise ConfigError(f"unknown database(s): {', '.join(missing)}",
                              hint=f"found {len(known)}: {', '.join(known[:10])}")  # fmt: skip
        known = list(db_ids)
    if not known:
        raise ConfigError(f"no databases found in {databases}")
    overrides = {"num_per_db": num_per_db, "engine": engine, "seed": seed, "workers": workers,
                 "timeout": timeout}  # fmt: skip
    return _run("synth", database_seeds(known), [], manager, config, overrides, llm, run_dir,
                progress, executor)  # fmt: skip


def refine(
    pairs: str | Path | Iterable[Mapping[str, Any] | Sample],
    databases: Databases,
    *,
    seed: int | None = None,
    engine: Literal["offline", "llm"] | None = None,
    config: Config = None,
    llm: Any = None,
    run_dir: str | Path | None = None,
    workers: int | None = None,
    timeout: float | None = None,
    password_env: str | None = None,
    progress: Progress | None = None,
    executor: Any = None,
) -> SynthesisRun:
    """Refine question/SQL pairs into verified, augmented training data (``sqlfoundry refine``).

    Pairs that do not run, or whose SQL does not answer the question, are
    rejected with the reason; the rest get variants, re-worded questions,
    prompts, chain-of-thought and grades.

    Args:
        pairs: a JSON/JSONL file, or records in memory: dicts with ``db_id``,
            ``question`` and ``SQL`` (or ``sql`` / ``query``), optionally
            ``evidence``; or Samples. An unreadable line or item is a reject
            with its ``file:line`` (``record:N`` in memory); the rest go on.
        databases: where the pairs' ``db_id`` databases are (as for :func:`synthesize`).
        The other arguments are those of :func:`synthesize`.

    Returns:
        A :class:`~sqlfoundry.synth.run.SynthesisRun`.

    Example::

        run = sqlfoundry.refine(
            [{"db_id": "bookshop", "question": "How many books are there?",
              "SQL": "SELECT count(*) FROM book"}],
            "examples/demo_dbs",
        )
    """
    from sqlfoundry.synth.records import pairs_from_records, read_pairs

    manager = open_databases(databases, password_env=password_env)
    if isinstance(pairs, (str, Path)):
        samples, problems = read_pairs(pairs)
    else:
        samples, problems = pairs_from_records(pairs)
    overrides = {"engine": engine, "seed": seed, "workers": workers, "timeout": timeout}
    return _run("refine", samples, problems, manager, config, overrides, llm, run_dir, progress,
                executor)  # fmt: skip


def _run(
    mode: Literal["synth", "refine"],
    seeds: list[Sample],
    input_rejects: list[dict[str, Any]],
    manager: Any,
    config: Config,
    overrides: dict[str, Any],
    llm: Any,
    run_dir: str | Path | None,
    progress: Progress | None,
    executor: Any = None,
) -> SynthesisRun:
    from sqlfoundry.core.executors import ExecutorSettings
    from sqlfoundry.synth.pipelines import SynthSettings, build_pipeline
    from sqlfoundry.synth.run import run_mode

    sections = config_mapping(config)
    settings = SynthSettings.from_sources(sections.get("synth"), overrides)
    pipeline = build_pipeline(mode, settings)  # every parameter checked before any work
    llm_config = llm_settings(sections.get("llm"), llm) if settings.engine == "llm" else None
    if executor is None:
        executor = ExecutorSettings.from_sources(sections.get("executor"), {})
    options = {"llm": llm_config, "pipeline": pipeline, "input_rejects": input_rejects,
               "progress": progress, "executor": executor}  # fmt: skip
    if run_dir is not None:
        return run_mode(mode, seeds, manager, settings, run_dir, **options)
    with tempfile.TemporaryDirectory(prefix="sqlfoundry-run-") as folder:
        run = run_mode(mode, seeds, manager, settings, folder, **options)
        run.samples, run.rejects  # noqa: B018 - read before the folder goes
    run.run_dir = None
    return run


def llm_settings(section: Mapping[str, Any] | None, llm: Any) -> Any:
    """An ``LLMConfig``: ``llm`` itself when it is one, else the config section, the
    environment and the mapping ``llm`` laid over each other; checked for an endpoint.

    Raises:
        ConfigError: unknown keys, bad values, or no endpoint and model.
    """
    from sqlfoundry.llm.config import LLMConfig

    if isinstance(llm, LLMConfig):
        config = llm
    elif llm is None or isinstance(llm, Mapping):
        config = LLMConfig.from_sources(section or {}, overrides=llm or {})
    else:
        raise ConfigError(f"llm must be an LLMConfig or a mapping, not {type(llm).__name__}")
    config.require_endpoint()
    return config
