"""What every command shares: consoles, the error exit, option types, config files.

Command modules import from here and never from each other; :mod:`sqlfoundry.cli.main`
registers them on the app.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from sqlfoundry.cli.console import (  # noqa: F401 - re-exported for the command modules
    alerts,
    err,
    escape,
    fail,
    out,
    progress_bar,
    setup_logging,
    steps_progress,
    warn,
)
from sqlfoundry.cli.databases import database_manager  # noqa: F401 - re-exported
from sqlfoundry.cli.scripting import (  # noqa: F401 - re-exported
    OUTPUT_PARAMETERS,
    check_inputs,
    check_outputs,
    emit,
    executor_settings,
    set_mode,
    wrote,
)
from sqlfoundry.core.errors import SqlfoundryError

# ----------------------------------------------------------------- choices
# Options with a fixed set of values are enums, so typer lists them in --help, completes
# them, and refuses a typo with the choices. Each mirrors a library constant; a test
# keeps the two equal (the library is not imported here, to keep start-up fast).


class ExecutorKind(StrEnum):
    """``--executor``: where pipelines run (``sqlfoundry.core.executors.ExecutorSettings.kind``)."""

    local = "local"
    ray = "ray"


class EngineName(StrEnum):
    """``--engine``: the engine of every step that has an offline and an LLM one."""

    offline = "offline"
    llm = "llm"


class ComparisonMode(StrEnum):
    """``--mode`` of eval, prepare-sft and search: ``sqlfoundry.db.compare.MODES``."""

    spider = "spider"
    bird = "bird"
    strict = "strict"


class SchemaFormat(StrEnum):
    """``--format`` of schema: ``sqlfoundry.db.render.FORMATS``."""

    ddl = "ddl"
    compact = "compact"
    codex = "codex"
    json = "json"
    central = "central"
    parallel = "parallel"


class ExportFormat(StrEnum):
    """``--format`` of export: ``sqlfoundry.synth.exporters.EXPORT_FORMATS``."""

    llamafactory = "llamafactory"
    openai = "openai"
    omnisql = "omnisql"
    parquet = "parquet"
    hf = "hf"
    jsonl = "jsonl"
    csv = "csv"
    sqlo1 = "sqlo1"


class Target(StrEnum):
    """``--target`` of export: what a chat format answers with."""

    cot = "cot"
    sql = "sql"


class ServiceType(StrEnum):
    """``--type`` of serve (quick mode): ``sqlfoundry.serve.config.ServiceType`` but
    ``method``, whose preset or run config only a config file can give."""

    openai = "openai"
    base = "base"
    seq2seq = "seq2seq"
    local = "local"


class PsgMode(StrEnum):
    """``--psg-mode`` of prepare-sft: ``sqlfoundry.synth.sft.run.SftSettings.psg_mode``."""

    need = "need"
    progressive = "progressive"
    ratio = "ratio"


class Reward(StrEnum):
    """``--reward`` of search: ``sqlfoundry.methods.search.operator.MCTSParams.reward``."""

    sqlo1 = "sqlo1"
    consistency = "consistency"
    mixed = "mixed"


class Choose(StrEnum):
    """``--choose`` of search: how the final query is picked."""

    reward = "reward"
    vote = "vote"


class Api(StrEnum):
    """``--api`` of search: the endpoint's chat or completions route."""

    chat = "chat"
    completions = "completions"


class DedupeStrategy(StrEnum):
    """``--dedupe`` of the pairs commands: ``sqlfoundry.synth.producers.decorators.STRATEGIES``."""

    exact = "exact"
    sql_only = "sql-only"
    question_only = "question-only"


class LogLevel(StrEnum):
    """``--log-level`` of serve."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def choice(value: Enum | None) -> str | None:
    """An enum option's value as the library takes it (None stays None)."""
    return None if value is None else str(value.value)


DbRoot = Annotated[
    Path | None,
    typer.Option(
        "--db-root",
        help="Folder searched at any depth for <db_id>.sqlite / <db_id>.db files.",
        envvar="SQLFOUNDRY_DB_ROOT",
    ),
]
Server = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="A PostgreSQL or MySQL/MariaDB server, e.g. postgresql://user@127.0.0.1:5432; "
        "each database on it is a db_id.",
        envvar="SQLFOUNDRY_DB_SERVER",
    ),
]
PasswordEnv = Annotated[
    str | None,
    typer.Option("--db-password-env", help="Environment variable holding the server password."),
]
LlmBaseUrl = Annotated[
    str | None,
    typer.Option(
        "--llm-base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."
    ),
]
LlmModel = Annotated[
    str | None, typer.Option("--llm-model", help="Model name the endpoint serves.")
]
LlmKeyEnv = Annotated[
    str | None, typer.Option("--llm-api-key-env", help="Environment variable holding the API key.")
]
CacheDir = Annotated[Path | None, typer.Option("--cache-dir", help="Shared LLM response cache.")]
Engine = Annotated[
    EngineName | None,
    typer.Option("--engine", help="offline (no model; the default) or llm.", show_default=False),
]
Seed = Annotated[int | None, typer.Option("--seed", help="Same seed, same data.")]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Worker processes: with the offline engine every step runs "
        "on them; with a model, the SQL does.",
    ),
]
SqlWorkers = Annotated[int | None, typer.Option("--workers", help="SQL worker processes.")]
Timeout = Annotated[float | None, typer.Option("--timeout", help="Seconds per query.")]
ExecutorOption = Annotated[
    ExecutorKind | None,
    typer.Option(
        "--executor", help="Where the pipeline runs: local (default) or ray.", show_default=False
    ),  # fmt: skip
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="The Ray cluster (auto, host:6379, ray://host:10001); implies --executor ray.",
        show_default=False,
    ),  # fmt: skip
]


# --json and -q on every command that prints a summary (sqlfoundry.cli.scripting).
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print one JSON object with the results on stdout, only.")
]
QuietFlag = Annotated[
    bool, typer.Option("--quiet", "-q", help="No summary and no progress bars; errors only.")
]


def scripted(command: Callable[..., Any]) -> Callable[..., Any]:
    """The command with ``--json`` and ``-q/--quiet`` added (typer reads the signature)."""
    own = list(inspect.signature(command, eval_str=True).parameters.values())
    added = [inspect.Parameter("json_out", inspect.Parameter.KEYWORD_ONLY, default=False,
                               annotation=JsonFlag),
             inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False,
                               annotation=QuietFlag)]  # fmt: skip

    @functools.wraps(command)
    def run(*args: Any, json_out: bool = False, quiet: bool = False, **values: Any) -> Any:
        if json_out and quiet:
            fail("give --json or -q, not both")
        set_mode(json_out, quiet)
        check_inputs(**{k: v for k, v in values.items() if k not in OUTPUT_PARAMETERS})
        return command(*args, **values)

    run.__signature__ = inspect.Signature(own + added)  # type: ignore[attr-defined]
    run.__annotations__ = {}
    return run


def load_config_file(path: Path | None) -> dict[str, Any]:
    """Read a TOML, YAML or JSON config file into a dict (empty when no file is given)."""
    from sqlfoundry.core.config import read_config

    if path is None:
        return {}
    try:
        return read_config(path)
    except SqlfoundryError as error:
        fail(error)


def llm_config(
    file_config: dict[str, Any],
    base_url: str | None,
    model: str | None,
    key_env: str | None,
    cache_dir: Path | None,
    config: Path | None,
    *,
    require: bool = True,
) -> Any:
    """``LLMConfig`` from the file's ``[llm]``, the environment, then the flags."""
    from sqlfoundry.llm import LLMConfig

    overrides = {"base_url": base_url, "model": model, "api_key_env": key_env,
                 "cache_dir": str(cache_dir) if cache_dir else None}  # fmt: skip
    cfg = LLMConfig.from_sources(file_config.get("llm") or {}, overrides=overrides,
                                 source=str(config) if config else None)  # fmt: skip
    if require:
        cfg.require_endpoint()
    return cfg


# --------------------------------------------------------------------------- benchmark inputs
# For commands that work through a benchmark or a file of pairs (prepare-sft, search).

BenchOption = Annotated[
    str | None,
    typer.Option(
        "--bench",
        help="A registered benchmark selection, e.g. spider:train or bird:minidev:first-100.",
    ),
]
GoldOption = Annotated[
    Path | None,
    typer.Option(
        "--gold",
        help="A file of pairs instead (JSON/JSONL with db_id, question, SQL/query/target; or "
        "SQL<TAB>db_id); needs --db-root or --server.",
    ),
]
QuestionKey = Annotated[
    str | None,
    typer.Option("--question-key", help="The field holding the question in --gold items."),
]
CompareMode = Annotated[
    ComparisonMode | None,
    typer.Option("--mode", help="Result comparison for --gold items (default spider)."),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Same seed, same output.")]
WorkersOption = Annotated[int | None, typer.Option("--workers", help="SQL worker processes.")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds per query.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="A TOML/YAML/JSON file with an \\[llm] section (and the command's)."
    ),
]


def load_items(
    bench: str | None,
    gold: Path | None,
    db_root: Path | None,
    server: str | None,
    password_env: str | None,
    question_key: str | None,
    mode: str | None,
) -> Any:
    """The ``Items`` of ``--bench`` or of ``--gold`` (with ``--db-root`` / ``--server``);
    fails with one line when they cannot be read."""
    mode = choice(mode) if isinstance(mode, Enum) else mode
    from sqlfoundry.synth.sft.inputs import Items, load_pairs
    from sqlfoundry.synth.sft.prompt import default_rows

    if bench and gold:
        fail("give --bench or --gold, not both")
    try:
        if bench:
            from sqlfoundry.bench.registry import load

            if question_key:
                fail("--question-key applies to --gold files; a benchmark knows its own")
            b = load(bench)
            return Items(samples=b.samples, databases=b.manager(), name=b.name,
                         mode=mode or b.mode, dialect=b.dialect, rows=default_rows(b.id),
                         tables_json=b.tables_json)  # fmt: skip
        if gold is None:
            fail("give --bench NAME (e.g. spider:dev) or --gold FILE with --db-root DIR")
        return load_pairs(gold, database_manager(db_root, server, password_env),
                          question_key=question_key, mode=mode or "spider")  # fmt: skip
    except SqlfoundryError as error:
        fail(error)
