"""``sqlfoundry pairs ...``: question/SQL pairs from chats, SQL logs and schemas, evolved and decorated.

Every command writes ``--out FILE.jsonl`` (the input ``sqlfoundry refine --input``
and ``sqlfoundry eval --gold`` read) or ``FILE.csv``, the rejects beside it
(``FILE.rejects.jsonl``: file:line or pair id, and the reason), and checkpoints
its producers in ``--run-dir`` (``FILE.run`` by default): run the same command
again after an interruption and it resumes. ``--out -`` writes JSON lines on
standard output; the checkpoints and rejects then go to ``--run-dir`` when one is
given, else to a temporary folder removed at the end (no resuming).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from rich.table import Table

from sqlfoundry.cli.common import (
    CacheDir,
    DbRoot,
    DedupeStrategy,
    Engine,
    LlmBaseUrl,
    LlmKeyEnv,
    LlmModel,
    PasswordEnv,
    Seed,
    Server,
    SqlWorkers,
    Timeout,
    check_outputs,
    choice,
    database_manager,
    emit,
    err,
    fail,
    llm_config,
    load_config_file,
    wrote,
)
from sqlfoundry.cli.console import escape
from sqlfoundry.core.errors import SqlfoundryError

Out = Annotated[
    Path,
    typer.Option("--out", help="Where the pairs go: FILE.jsonl, FILE.csv, or '-' (stdout)."),
]
RunDir = Annotated[
    Path | None,
    typer.Option("--run-dir", help="Checkpoints, for resuming (default: the --out name + .run)."),
]
DbIds = Annotated[
    list[str] | None,
    typer.Option("--db", help="The database (repeatable where several make sense)."),
]
Validate = Annotated[
    bool, typer.Option("--validate", help="Check every pair's SQL on the schema and run it.")
]
Dedupe = Annotated[
    DedupeStrategy | None,
    typer.Option(
        "--dedupe", help="Drop duplicates: same question and SQL, same SQL, same question."
    ),
]
Tables = Annotated[
    str | None,
    typer.Option("--tables", help="Keep pairs whose SQL reads one of these tables (T1,T2,...)."),
]
SuccessOnly = Annotated[
    bool, typer.Option("--success-only", help="Keep only pairs whose SQL worked.")
]
Concurrency = Annotated[
    int | None,
    typer.Option("--concurrency", help="Inputs worked on at once per producer (LLM: requests)."),
]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="TOML/YAML/JSON with an \\[llm] section.")
]


# The options every command shares, as (name, type with its typer option, default).
_DATABASES = (("db", DbIds, None), ("db_root", DbRoot, None), ("server", Server, None),
              ("db_password_env", PasswordEnv, None))  # fmt: skip
_RUN = (("engine", Engine, None), ("seed", Seed, None), ("workers", SqlWorkers, None),
        ("timeout", Timeout, None), ("concurrency", Concurrency, None), ("config", ConfigFile, None),
        ("llm_base_url", LlmBaseUrl, None), ("llm_model", LlmModel, None),
        ("llm_api_key_env", LlmKeyEnv, None), ("cache_dir", CacheDir, None))  # fmt: skip
_OUTPUT = (("validate", Validate, False), ("success_only", SuccessOnly, False),
           ("tables", Tables, None), ("dedupe", Dedupe, None), ("run_dir", RunDir, None))  # fmt: skip


def _with(*groups: tuple) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the shared options to a command; it gets them as one ``opts`` namespace."""

    def wrap(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.name != "opts"]  # fmt: skip
        shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                    annotation=kind)
                  for group in groups for name, kind, default in group]  # fmt: skip
        names = {p.name for p in shared}

        @functools.wraps(command)
        def run(**values: Any) -> Any:
            opts = SimpleNamespace(**{k: values.pop(k) for k in names})
            return command(opts=opts, **values)

        run.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
        run.__annotations__ = {}
        return run

    return wrap


class _Session:
    """What every pairs command opens: databases, the engine, and the LLM for --engine llm.

    Its output paths are checked first, before any database is opened.
    """

    def __init__(self, command: str, opts: SimpleNamespace, out: Path, *, need_db: bool = True,
                 pairs: bool = True) -> None:  # fmt: skip
        self.command, self.opts, self.out = command, opts, out
        self.usage: Any = None
        self.run_dir: Path | None = None
        if pairs:
            self._check_pair_outputs()
        else:
            self.written = check_outputs({"--out": out})
        self.engine = str(opts.engine or "offline")  # typer checked it is one of the choices
        self.manager = None
        if need_db or opts.db_root is not None or opts.server is not None:
            self.manager = database_manager(opts.db_root, opts.server, opts.db_password_env)
        self.llm = None
        if self.engine == "llm":
            flags = (opts.llm_base_url, opts.llm_model, opts.llm_api_key_env, opts.cache_dir)
            try:
                self.llm = llm_config(load_config_file(opts.config), *flags, opts.config)
            except SqlfoundryError as error:
                fail(error)

    def _check_pair_outputs(self) -> None:
        from sqlfoundry.core.io import is_stdio
        from sqlfoundry.synth.producers.output import rejects_path

        out, run_dir = self.out, self.opts.run_dir
        if not is_stdio(out) and out.suffix.lower() not in (".jsonl", ".json", ".csv"):
            fail(f"{out}: --out must end in .jsonl or .csv (or be '-')")
        if is_stdio(out):
            self.rejects = run_dir / "rejects.jsonl" if run_dir is not None else None
        else:
            run_dir = run_dir or out.with_name(out.stem + ".run")
            self.rejects = rejects_path(out)
        self.run_dir = run_dir
        self.written = check_outputs({"--out": out, "the rejects file": self.rejects},
                                     {"--run-dir": run_dir})  # fmt: skip

    def db_ids(self, *, all_by_default: bool) -> list[str]:
        """The databases named by --db (checked), else all of them (or none)."""
        known = self.manager.db_ids() if self.manager is not None else []
        if self.opts.db:
            missing = [d for d in self.opts.db if d not in known]
            if missing:
                found = ", ".join(known) or "none"
                fail(f"unknown database(s): {', '.join(missing)} (found: {found})")
            return list(self.opts.db)
        if all_by_default and not known:
            fail("no databases found (give --db-root DIR or --server URL)")
        return known if all_by_default else []

    def first_db(self) -> str | None:
        return next(iter(self.db_ids(all_by_default=False)), None)

    def producer_options(self) -> dict[str, Any]:
        return {"engine": self.engine, "concurrency": self.opts.concurrency}

    def open(self, db_id: str | None) -> Any:
        from sqlfoundry.synth.producers import PairDatabase

        if self.manager is None:
            return contextlib.nullcontext(None)
        opts = self.opts
        return PairDatabase.open(manager=self.manager, db_id=db_id, llm=self.llm,
                                 seed=opts.seed or 0, workers=opts.workers or 0,
                                 timeout=opts.timeout or 30.0)  # fmt: skip

    def run(self, db_id: str | None, work: Callable[[Any], Any]) -> Any:
        """``await work(db)`` with the databases open; errors end the command with one line."""

        async def go() -> tuple[Any, Any]:
            async with self.open(db_id) as db:
                result = await work(db)
                usage = db.llm.usage if db is not None and db.llm is not None else None
                return result, usage

        try:
            result, usage = asyncio.run(go())
        except SqlfoundryError as error:
            fail(error)
        if usage is not None:
            from sqlfoundry.llm.usage import print_usage

            self.usage = usage.to_dict()
            print_usage(usage, console=err)
        return result

    async def write(self, producer: Any, db: Any, out: Path) -> dict[str, Any]:
        """Decorate the producer as the options say, run it, write pairs and rejects."""
        opts = self.opts
        chain = _decorated(producer, db, opts.validate, opts.success_only, opts.tables,
                           choice(opts.dedupe))  # fmt: skip
        if self.run_dir is not None:
            return await _write(chain, out, self.run_dir, self.rejects)
        with tempfile.TemporaryDirectory(prefix="sqlfoundry-pairs-") as folder:
            return await _write(chain, out, Path(folder), self.rejects)

    def emit(self, payload: dict[str, Any]) -> None:
        """The ``--json`` summary of the command."""
        emit(self.command, {"written": self.written, **payload, "usage": self.usage})


def _decorated(producer: Any, db: Any, validate: bool, success_only: bool, tables: str | None,
               dedupe: str | None) -> Any:  # fmt: skip
    """The producer wrapped as asked: validate, then filter, then de-duplicate."""
    from sqlfoundry.synth.producers import DeduplicatedProducer, FilteredProducer, ValidatedProducer

    if validate:
        if db is None:
            fail("--validate needs the databases: give --db-root DIR or --server URL")
        producer = ValidatedProducer(producer, db, execute=True)
    names = [t.strip() for t in (tables or "").split(",") if t.strip()]
    if success_only or names:
        producer = FilteredProducer(producer, success_only=success_only, tables=names or None)
    if dedupe:
        producer = DeduplicatedProducer(producer, strategy=dedupe)  # type: ignore[arg-type]
    return producer


async def _write(
    producer: Any, out: Path, run_dir: Path, rejects_file: Path | None
) -> dict[str, Any]:
    """Run the producer chain and write its pairs and rejects; print what happened and
    return it for ``--json``."""
    from sqlfoundry.synth.producers.output import write_pairs, write_rejects

    pairs = await producer.to_pairs(run_dir=run_dir)
    count = write_pairs(out, pairs)
    rejects = producer.all_rejects()
    if rejects_file is not None:
        write_rejects(rejects_file, rejects)
    report = producer.report()
    _print_report(report, rejects)
    failed = sum(not p.success for p in pairs)
    err.print(f"[bold]{count}[/] pairs ({failed} unsuccessful), {len(rejects)} rejects")
    for path in (out, rejects_file):
        if path is not None:
            wrote(path)
    return {"pairs": count, "unsuccessful": failed, "rejects": len(rejects), "producers": report}


def _print_report(rows: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> None:
    table = Table(title="producers", title_justify="left")
    columns = ("inputs", "pairs", "failed", "rejected", "reused")
    table.add_column("producer")
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(row["producer"], *(str(row.get(c, 0)) for c in columns))
    err.print(table)
    for reject in rejects[:8]:
        where = " from ".join(str(reject[k]) for k in ("id", "source") if reject.get(k))
        where = where or reject["producer"]
        err.print(f"[yellow]reject:[/] {escape(str(where))}: {escape(reject['reason'])}",
                  soft_wrap=True)  # fmt: skip
    if len(rejects) > 8:
        err.print(f"[yellow]reject:[/] … {len(rejects) - 8} more (see the rejects file)")


def _read_json(path: Path | None, what: str) -> Any:
    from sqlfoundry.core.io import input_name, read_text

    if path is None:
        return None
    try:
        return json.loads(read_text(path))
    except SqlfoundryError as error:
        fail(error)
    except ValueError as error:
        fail(f"{input_name(path)}: cannot read the {what}: {error}")


def _for_db(data: Any, db_id: str) -> list[Any]:
    """A list for every database, or ``{db_id: [...]}`` as ``pairs personas`` writes it."""
    if data is None:
        return []
    if isinstance(data, dict):
        return list(data.get(db_id) or [])
    return list(data)


# --------------------------------------------------------------------------- commands


@_with(_DATABASES, _RUN, _OUTPUT)
def from_chat(
    file: Annotated[Path, typer.Argument(help="Chat log: JSONL, one OpenAI-format chat a line.")],
    out: Out,
    extractor: Annotated[
        str, typer.Option(help="message, full, windowed, segmented or last.")
    ] = "message",
    window: Annotated[int, typer.Option(help="windowed: turns of context kept.")] = 5,
    tool_name: Annotated[
        str, typer.Option(help="The query tool (its 'sql' argument).")
    ] = "db_query",
    include_failures: Annotated[
        bool, typer.Option(help="Keep failed calls, unsuccessful.")
    ] = False,
    opts: Any = None,
) -> None:
    """Pairs from the tool calls of chat histories; contextual extractors resolve follow-ups."""
    from sqlfoundry.synth.producers import (
        FullContextExtractor,
        LastQueryExtractor,
        MessageExtractor,
        SegmentedContextExtractor,
        WindowedContextExtractor,
    )

    kinds = {"full": FullContextExtractor, "segmented": SegmentedContextExtractor,
             "last": LastQueryExtractor, "windowed": WindowedContextExtractor}  # fmt: skip
    if extractor != "message" and extractor not in kinds:
        fail(f"--extractor must be message, full, windowed, segmented or last, not {extractor!r}")
    session = _Session(
        "pairs from-chat", opts, out, need_db=extractor != "message" or opts.validate
    )
    db_id = session.first_db()

    async def work(db: Any) -> dict[str, Any]:
        options = {"tool_name": tool_name, "include_failures": include_failures}
        if extractor == "message":
            producer = MessageExtractor(file, db=db or db_id, **options)
        else:
            extra = {"window_size": window} if extractor == "windowed" else {}
            producer = kinds[extractor](file, db, **options, **extra, **session.producer_options())
        return await session.write(producer, db, out)

    session.emit(session.run(db_id, work))


@_with(_DATABASES, _RUN, _OUTPUT)
def from_log(
    file: Annotated[Path, typer.Argument(help="SQL log: statements, SQL<TAB>db_id, or JSONL.")],
    out: Out,
    style: Annotated[str, typer.Option(help="LLM: the questions' style.")] = "interrogative",
    skip_invalid: Annotated[bool, typer.Option(help="Reject queries that fail.")] = False,
    opts: Any = None,
) -> None:
    """A question for every query of a SQL log; each query is checked and run on its database."""
    from sqlfoundry.synth.producers import SqlExtractor

    session = _Session("pairs from-log", opts, out)
    db_id = session.first_db()

    async def work(db: Any) -> dict[str, Any]:
        try:
            producer = SqlExtractor(file, db, skip_invalid=skip_invalid, style=style,
                                    **session.producer_options())  # fmt: skip
        except SqlfoundryError as error:
            fail(error)
        return await session.write(producer, db, out)

    session.emit(session.run(db_id, work))


@_with(_DATABASES, _RUN, _OUTPUT)
def from_schema(
    out: Out,
    count: Annotated[int, typer.Option(help="Pairs per persona and complexity.")] = 5,
    complexity: Annotated[
        list[str] | None,
        typer.Option(help="simple, moderate, complex, highly complex (repeatable; moderate)."),
    ] = None,
    personas: Annotated[Path | None, typer.Option(help="Personas JSON (`pairs personas`).")] = None,
    teachings: Annotated[
        Path | None, typer.Option(help="Teachings JSON (`pairs teachings`).")
    ] = None,
    max_attempts: Annotated[int, typer.Option(help="LLM: answers per question.")] = 3,
    opts: Any = None,
) -> None:
    """New pairs from each database, per persona and complexity, checked by execution."""
    from sqlfoundry.synth.producers import ChainedProducer, SchemaSynthesizer

    session = _Session("pairs from-schema", opts, out)
    db_ids = session.db_ids(all_by_default=True)
    persona_data = _read_json(personas, "personas")
    teaching_data = _read_json(teachings, "teachings")
    levels = [c.strip() for value in complexity or ["moderate"] for c in value.split(",")]

    async def work(db: Any) -> dict[str, Any]:
        try:
            producers = [
                SchemaSynthesizer(db.using(d), count, [lv for lv in levels if lv],
                                  _for_db(persona_data, d), _for_db(teaching_data, d),
                                  max_attempts=max_attempts, **session.producer_options())
                for d in db_ids
            ]  # fmt: skip
        except (SqlfoundryError, ValueError) as error:
            fail(error if isinstance(error, SqlfoundryError) else str(error))
        chained = producers[0] if len(producers) == 1 else ChainedProducer(*producers)
        return await session.write(chained, db, out)

    session.emit(session.run(db_ids[0], work))


@_with(_DATABASES, _RUN, _OUTPUT)
def evolve(
    file: Annotated[Path, typer.Argument(help="Pairs: JSONL with db_id, question and SQL.")],
    out: Out,
    breadth: Annotated[int, typer.Option(help="Paraphrases per pair (in-breadth).")] = 0,
    depth: Annotated[int, typer.Option(help="Harder pairs per pair (in-depth, first).")] = 0,
    techniques: Annotated[str | None, typer.Option(help="Depth techniques, T1,T2.")] = None,
    styles: Annotated[str | None, typer.Option(help="Breadth styles, S1,S2.")] = None,
    keep_original: Annotated[bool, typer.Option(help="Write the input pairs first.")] = False,
    max_attempts: Annotated[int, typer.Option(help="LLM: answers per question.")] = 3,
    opts: Any = None,
) -> None:
    """Evolve pairs: harder ones (--depth) and paraphrases (--breadth) of each."""
    from sqlfoundry.synth.producers import BreadthEvolver, ChainedProducer, DepthEvolver, PairList
    from sqlfoundry.synth.producers.output import read_pairs_file

    if breadth < 0 or depth < 0 or breadth + depth == 0:
        fail("give --breadth N and/or --depth N (at least one above 0)")
    session = _Session("pairs evolve", opts, out)
    db_id = session.first_db()
    try:
        pairs, problems = read_pairs_file(file)
    except SqlfoundryError as error:
        fail(error)

    async def work(db: Any) -> dict[str, Any]:
        options = session.producer_options()
        try:
            producer: Any = pairs
            if depth:
                producer = DepthEvolver(producer, _names(techniques), depth, db=db,
                                        max_attempts=max_attempts, **options)  # fmt: skip
            if breadth:
                producer = BreadthEvolver(
                    producer, breadth, db=db, styles=_names(styles), **options
                )
        except SqlfoundryError as error:
            fail(error)
        if keep_original:
            producer = ChainedProducer(PairList(pairs), producer)
        producer.rejects += [{"producer": "input", **problem} for problem in problems]
        return await session.write(producer, db, out)

    session.emit(session.run(db_id, work))


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in (value or "").split(",") if v.strip()] or None


@_with(_DATABASES, _RUN)
def personas(
    out: Annotated[Path, typer.Option("--out", help="Where the personas go (JSON, by db_id).")],
    count: Annotated[int, typer.Option(help="Personas per database.")] = 5,
    opts: Any = None,
) -> None:
    """Who queries each database: role, perspective, communication styles, tables."""
    from sqlfoundry.synth.producers import PersonaGenerator

    _generate(opts, out, "personas", lambda db, engine: PersonaGenerator(db, count, engine=engine))


@_with(_DATABASES, _RUN)
def teachings(
    out: Annotated[Path, typer.Option("--out", help="Where the teachings go (JSON, by db_id).")],
    pairs: Annotated[Path | None, typer.Option(help="Pairs JSONL to draw examples from.")] = None,
    opts: Any = None,
) -> None:
    """Grounded teachings per database: guardrails, code values, clarifications, quirks..."""
    from sqlfoundry.synth.producers import TeachingsGenerator
    from sqlfoundry.synth.producers.output import read_pairs_file

    examples: list[Any] = []
    if pairs is not None:
        try:
            examples, _ = read_pairs_file(pairs)
        except SqlfoundryError as error:
            fail(error)
    _generate(opts, out, "teachings",
              lambda db, engine: TeachingsGenerator(db, examples, engine=engine))  # fmt: skip


def _generate(opts: SimpleNamespace, out: Path, what: str, make: Callable[[Any, str], Any]) -> None:
    """Run one generator per database and write ``{db_id: [...]}`` as JSON."""
    session = _Session(f"pairs {what}", opts, out, pairs=False)
    db_ids = session.db_ids(all_by_default=True)

    async def work(db: Any) -> dict[str, Any]:
        made = {}
        for db_id in db_ids:
            generator = make(db.using(db_id), session.engine)
            made[db_id] = [item.model_dump() for item in await generator.generate()]
            _print_generator_rejects(generator.rejects)
        return made

    data = session.run(db_ids[0], work)
    _write_json(out, data, what)
    session.emit({what: {db_id: len(items) for db_id, items in data.items()}})
    if not any(data.values()):
        raise typer.Exit(1)


def _print_generator_rejects(rejects: list[dict[str, Any]]) -> None:
    for reject in rejects:
        err.print(f"[yellow]reject:[/] {escape(str(reject.get('source', '')))}: {escape(reject['reason'])}",
                  soft_wrap=True)  # fmt: skip


def _write_json(out: Path, data: dict[str, Any], what: str) -> None:
    from sqlfoundry.core.io import atomic_write_text

    atomic_write_text(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    total = sum(len(v) for v in data.values())
    err.print(f"[bold]{total}[/] {what} for {len(data)} database(s)")
    wrote(out)
