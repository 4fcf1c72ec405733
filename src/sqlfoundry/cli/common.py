"""What every command shares: consoles, the error exit, option types, config files.

Command modules import from here and never from each other; :mod:`sqlfoundry.cli.main`
registers them on the app.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import sys
from collections.abc import Callable
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from sqlfoundry.core.errors import SqlfoundryError

out = Console()  # human summaries on stdout (stderr while stdout carries data or JSON)
err = Console(stderr=True)  # progress, tables and "wrote ..." lines: off with --json / -q
alerts = Console(stderr=True)  # errors, warnings and log records: never off


# ----------------------------------------------------------------- choices
# Options with a fixed set of values are enums, so typer lists them in --help, completes
# them, and refuses a typo with the choices. Each mirrors a library constant; a test
# keeps the two equal (the library is not imported here, to keep start-up fast).


class EngineName(StrEnum):
    """``--engine``: the engine of every step that has an offline and an LLM one."""

    offline = "offline"
    llm = "llm"


class ExecutorKind(StrEnum):
    """``--executor``: where pipelines run (``sqlfoundry.core.executors.ExecutorSettings.kind``)."""

    local = "local"
    ray = "ray"


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
Workers = Annotated[int | None, typer.Option("--workers", help="SQL worker processes.")]
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


def executor_settings(file_config: dict[str, Any], kind: Enum | None, address: str | None) -> Any:
    """The ``[executor]`` section with ``--executor`` / ``--ray-address`` on top (None: local)."""
    from sqlfoundry.core.executors import ExecutorSettings

    try:
        return ExecutorSettings.from_sources(file_config.get("executor"),
                                             {"kind": choice(kind), "address": address})  # fmt: skip
    except SqlfoundryError as error:
        fail(error)


def setup_logging(verbose: bool) -> None:
    """Send log records to stderr through rich: debug with ``--verbose``, else warnings."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=alerts, show_path=False, show_time=False)],
    )
    # sqlglot warns on every statement it falls back on; our own messages say more.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


def fail(error: SqlfoundryError | str, code: int = 2) -> NoReturn:
    """Print one error line and leave with ``code``."""
    alerts.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def warn(text: str) -> None:
    """One warning line on stderr (shown with -q and --json too)."""
    alerts.print(f"[yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- scripting
# --json: one JSON object on stdout and nothing else there; -q: no summary, no progress.
# Errors, warnings and log records go to stderr either way.


class _Mode:
    json = False
    quiet = False


mode = _Mode()

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print one JSON object with the results on stdout, only.")
]
QuietFlag = Annotated[
    bool, typer.Option("--quiet", "-q", help="No summary and no progress bars; errors only.")
]


def set_mode(json_out: bool = False, quiet: bool = False) -> None:
    """Switch the consoles for ``--json`` / ``-q`` (and back: every command starts here)."""
    mode.json, mode.quiet = json_out, quiet
    out.quiet = err.quiet = json_out or quiet
    out.file = None  # type: ignore[assignment]  # None: whatever sys.stdout is now


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


def emit(command: str, payload: dict[str, Any]) -> None:
    """With ``--json``: ``{"command": ..., **payload}`` as one line on stdout."""
    if mode.json:
        text = json.dumps({"command": command, **payload}, ensure_ascii=False, default=str)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def wrote(path: Path | str, console: Console | None = None) -> None:
    """The "wrote PATH" line of a summary (stderr unless told; "standard output" for ``-``)."""
    name = "standard output" if str(path) == "-" else str(path)
    (console or err).print(f"wrote {escape(name)}", highlight=False, soft_wrap=True)


def check_outputs(
    files: dict[str, Path | None] | None = None, folders: dict[str, Path | None] | None = None
) -> list[str]:
    """Check every output path before any work starts; fail with one line naming the first
    that cannot be written. Keys are the options (``--out``) for the messages.

    Returns the paths as the JSON summary lists them. When a file output is ``-`` the
    human summary moves to stderr, and ``--json`` is refused (both want stdout).
    """
    from sqlfoundry.core.errors import OutputError
    from sqlfoundry.core.io import check_output, is_stdio

    files = {k: v for k, v in (files or {}).items() if v is not None}
    folders = {k: v for k, v in (folders or {}).items() if v is not None}
    to_stdout = [k for k, v in files.items() if is_stdio(v)]
    if len(to_stdout) > 1:
        fail(f"only one output can go to standard output ('-'): {', '.join(to_stdout)}")
    if to_stdout and mode.json:
        fail(f"{to_stdout[0]} - and --json both write to standard output; give a file to one")
    checks = [(k, v, False) for k, v in files.items()] + [(k, v, True) for k, v in folders.items()]
    for name, path, folder in checks:
        try:
            check_output(path, folder=folder)
        except OutputError as error:  # named by its option: "--out runs/x: ..."
            fail(OutputError(error.message, file=f"{name} {error.file}"))
    if to_stdout:
        out.file = sys.stderr
    return [str(p) for p in [*files.values(), *folders.values()]]


# The parameters of the commands that name outputs; every other path may be an input.
OUTPUT_PARAMETERS = frozenset({"out", "output", "out_dir", "run_dir", "items_path", "html"})
_INPUT_NAMES = {"input_path": "the input file", "file": "FILE", "source": "SOURCE"}


def check_inputs(**values: Any) -> None:
    """Standard input can be read once: fail when two input paths are ``-``."""
    from sqlfoundry.core.io import is_stdio

    dashes = [_INPUT_NAMES.get(k, "--" + k.replace("_", "-")) for k, v in values.items()
              if isinstance(v, Path) and is_stdio(v)]  # fmt: skip
    if len(dashes) > 1:
        fail(f"only one input can be read from standard input ('-'): {', '.join(dashes)}")


def database_manager(db_root: Path | None, server: str | None, password_env: str | None) -> Any:
    """The ``DatabaseManager`` for ``--db-root`` or ``--server``; fails when neither is given."""
    from sqlfoundry.db.manager import DatabaseManager, ServerSettings

    if db_root is None and server is None:
        fail("give --db-root DIR (or set SQLFOUNDRY_DB_ROOT) or --server URL")
    try:
        settings = ServerSettings.from_url(server, password_env=password_env) if server else None
        return DatabaseManager(root=db_root, server=settings)
    except SqlfoundryError as error:
        fail(error)


def progress_bar(description: str, total: int) -> tuple[Any, Any]:
    """A rich progress bar on stderr (off when stderr is not a terminal) and its advance()."""
    progress = steps_progress(unit="")
    task = progress.add_task(description, total=total)
    return progress, lambda n: progress.advance(task, n)


def steps_progress(description: str = "[bold]{task.description}", unit: str = "batches") -> Any:
    """Rich progress bars on stderr: what runs, its bar, ``N/M unit`` done, the time spent
    and the time left (off when stderr is not a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(),
                    TextColumn(unit), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=err, transient=False,
                    disable=err.quiet or not err.is_terminal)  # fmt: skip


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
