"""The ``sqlfoundry`` command line: a thin layer over the library.

Heavy modules are imported inside each command, so ``sqlfoundry --help`` and
short commands start fast.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from sqlfoundry.core.errors import SqlfoundryError

app = typer.Typer(
    name="sqlfoundry",
    help="Text-to-SQL data toolkit: synthesize, run methods, evaluate, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

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


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
    )
    # sqlglot warns on every statement it falls back on; our own messages say more.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    _setup_logging(verbose)


def fail(error: SqlfoundryError | str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _manager(db_root: Path | None, server: str | None, password_env: str | None):
    from sqlfoundry.db.manager import DatabaseManager, ServerSettings

    if db_root is None and server is None:
        fail("give --db-root DIR (or set SQLFOUNDRY_DB_ROOT) or --server URL")
    try:
        settings = ServerSettings.from_url(server, password_env=password_env) if server else None
        return DatabaseManager(root=db_root, server=settings)
    except SqlfoundryError as error:
        fail(error)


def _progress(description: str, total: int):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )
    task = progress.add_task(description, total=total)
    return progress, lambda n: progress.advance(task, n)


@app.command()
def schema(
    db: Annotated[str, typer.Argument(help="A .sqlite/.db file path, or a db_id.")],
    db_root: DbRoot = None,
    server: Server = None,
    db_password_env: PasswordEnv = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="ddl | compact | codex | json | central | parallel"),
    ] = "ddl",
    samples: Annotated[int, typer.Option(help="Distinct sample values per column.")] = 5,
    spider_json: Annotated[
        bool, typer.Option("--spider-json", help="Print a Spider tables.json entry instead.")
    ] = False,
) -> None:
    """Show a database's schema: tables, columns, keys, row counts and sample values."""
    import json

    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.db.render import FORMATS, render
    from sqlfoundry.db.spider_tables import schema_to_spider

    if fmt not in FORMATS:
        fail(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        path = Path(db)
        if path.suffix.lower() in (".sqlite", ".db", ".sqlite3") or path.is_file():
            if not path.is_file():
                fail(f"{db}: no such database file")
            manager = DatabaseManager.for_file(path)
            db_id = path.stem
        else:
            manager = _manager(db_root, server, db_password_env)
            db_id = db
        info = manager.schema(db_id, sample_values=samples)
    except SqlfoundryError as error:
        fail(error)
    if spider_json:
        print(json.dumps(schema_to_spider(info), indent=2, ensure_ascii=False))
    else:
        print(render(info, fmt))


@app.command()
def classify(
    input_path: Annotated[
        Path, typer.Argument(help="Spider gold file (SQL<TAB>db_id) or JSONL with SQL / query.")
    ],
    output: Annotated[
        Path, typer.Argument(help="JSONL: the input fields + hardness + components.")
    ],
    dialect: Annotated[str, typer.Option(help="SQL dialect of the queries.")] = "sqlite",
) -> None:
    """Add Spider hardness and component counts to every query."""
    from sqlfoundry.core.io import atomic_write_jsonl, read_records
    from sqlfoundry.sql.classify import classify_record

    try:
        lines = list(read_records(input_path))
    except SqlfoundryError as error:
        fail(error)
    start = time.perf_counter()
    progress, advance = _progress("classify", len(lines))
    records = []
    with progress:
        for line in lines:
            if line.error is not None:
                records.append({"hardness": None, "components": None, "error": str(line.error)})
            else:
                records.append(
                    classify_record(line.data, dialect=dialect, where=f"{line.file}:{line.line}")
                )
            advance(1)
    atomic_write_jsonl(output, records)
    elapsed = time.perf_counter() - start
    counts = Counter(r["hardness"] for r in records)
    levels = ("easy", "medium", "hard", "extra")
    parts = " · ".join(f"{h} {counts.get(h, 0)}" for h in levels)
    bad = [r for r in records if r.get("error")]
    err.print(
        f"[bold]{len(records)} queries in {elapsed:.2f} s[/]: {parts} · unreadable {len(bad)}",
        highlight=False,
        soft_wrap=True,
    )
    for r in bad[:5]:
        err.print(f"  [yellow]{escape(r['error'])}[/]", highlight=False, soft_wrap=True)
    err.print(f"wrote {escape(str(output))}", highlight=False, soft_wrap=True)


@app.command("exec")
def exec_(
    input_path: Annotated[Path, typer.Argument(help="Spider gold file (SQL<TAB>db_id) or JSONL.")],
    output: Annotated[Path, typer.Argument(help="Results, one JSON line per input line.")],
    db_root: DbRoot = None,
    server: Server = None,
    db_password_env: PasswordEnv = None,
    timeout: Annotated[float, typer.Option(help="Seconds per query.")] = 30.0,
    workers: Annotated[int, typer.Option(help="Worker processes (0 = in this process).")] = (
        os.cpu_count() or 1
    ),
    max_rows: Annotated[int, typer.Option(help="Rows kept per result in the output.")] = 20,
) -> None:
    """Run every query read-only across worker processes and write one result per line."""
    from sqlfoundry.core.io import atomic_write_jsonl, read_records, sql_of
    from sqlfoundry.db.base import ExecResult
    from sqlfoundry.db.pool import SafeExecutor

    manager = _manager(db_root, server, db_password_env)
    try:
        lines = list(read_records(input_path))
    except SqlfoundryError as error:
        fail(error)
    jobs, slots = [], []
    results: list[ExecResult | None] = [None] * len(lines)
    for i, line in enumerate(lines):
        sql = sql_of(line.data) if line.data else None
        db_id = line.data.get("db_id") if line.data else None
        if line.error or sql is None or not isinstance(db_id, str):
            reason = (
                line.error.message if line.error else "record needs 'SQL' (or 'query') and 'db_id'"
            )
            results[i] = ExecResult(
                status="error",
                error=f"{line.file}:{line.line}: {reason}",
                error_type="InputError",
                db_id=db_id if isinstance(db_id, str) else None,
            )
            continue
        jobs.append((sql, db_id))
        slots.append(i)
    start = time.perf_counter()
    progress, advance = _progress("exec", len(jobs))
    with progress, SafeExecutor(manager, workers=workers, timeout=timeout) as executor:
        for i, result in zip(slots, executor.run(jobs, progress=advance), strict=True):
            results[i] = result
    elapsed = time.perf_counter() - start
    records = []
    for i, result in enumerate(results):
        assert result is not None
        result.index = i
        records.append(result.to_dict(max_rows=max_rows))
    atomic_write_jsonl(output, records)
    _exec_summary(records, elapsed, output)


def _exec_summary(records: list[dict[str, Any]], elapsed: float, output: Path) -> None:
    counts = Counter(r["status"] for r in records)
    parts = " · ".join(f"{s} {counts.get(s, 0)}" for s in ("ok", "error", "timeout", "rejected"))
    err.print(
        f"[bold]{len(records)} queries in {elapsed:.2f} s[/]: {parts}",
        highlight=False,
        soft_wrap=True,
    )
    failures = [r for r in records if r["status"] != "ok"]
    for r in failures[:5]:
        err.print(
            f"  [yellow]#{r['index']}[/] {escape(str(r['db_id']))}: {r['status']}: "
            f"{escape(str(r['error']))}",
            highlight=False,
            soft_wrap=True,
        )
    if len(failures) > 5:
        err.print(f"  ... and {len(failures) - 5} more (see {escape(str(output))})", soft_wrap=True)
    err.print(f"wrote {escape(str(output))}", highlight=False, soft_wrap=True)


@app.command("eval")
def eval_(
    pred: Annotated[
        Path,
        typer.Option(
            "--pred", help="Predictions: one SQL per line, JSONL with pred_sql, or BIRD JSON."
        ),
    ],
    gold: Annotated[
        Path | None, typer.Option("--gold", help="Gold: Spider format (SQL<TAB>db_id) or JSONL.")
    ] = None,
    bench: Annotated[
        str | None,
        typer.Option(
            "--bench",
            help="A benchmark instead of --gold/--db-root, e.g. spider:dev or bird:minidev:difficulty-simple.",
        ),
    ] = None,
    db_root: DbRoot = None,
    server: Server = None,
    db_password_env: PasswordEnv = None,
    mode: Annotated[
        str | None,
        typer.Option(help="spider | bird | strict (default: the benchmark's, else spider)."),
    ] = None,
    metrics: Annotated[str, typer.Option(help="Comma-separated: ex, em, ves, linking.")] = "ex",
    tables: Annotated[
        Path | None, typer.Option("--tables", help="tables.json, needed for EM.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report as JSON.")] = None,
    items_path: Annotated[
        Path | None, typer.Option("--items", help="Write one JSON line per item.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = os.cpu_count() or 1,
    timeout: Annotated[float, typer.Option(help="Seconds per query.")] = 30.0,
    ves_iterations: Annotated[
        int, typer.Option(help="Timing rounds per item for VES (BIRD: 100).")
    ] = 100,
    dialect: Annotated[str, typer.Option(help="SQL dialect of the queries.")] = "sqlite",
) -> None:
    """Score predictions by execution (EX), exact match (EM), efficiency (VES) and linking."""
    import json

    from sqlfoundry.bench.evaluate import align, evaluate
    from sqlfoundry.bench.html import render_html
    from sqlfoundry.bench.inputs import GoldEntry, read_gold_file, read_predictions
    from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text
    from sqlfoundry.db.compare import MODES

    chosen = [x.strip() for x in metrics.split(",") if x.strip()]
    try:
        if bench:
            from sqlfoundry.bench.registry import load

            benchmark = load(bench)
            gold_entries = [
                GoldEntry(db_id=s.db_id, sql=s.sql or "", where=s.meta.get("source", s.id),
                          difficulty=s.difficulty, question=s.question, hardness=s.hardness,
                          alternatives=s.meta.get("gold_alternatives") or [])
                for s in benchmark.samples
            ]  # fmt: skip
            manager = benchmark.manager()
            mode = mode or benchmark.mode
            tables = tables or benchmark.tables_json
            dialect = benchmark.dialect if dialect == "sqlite" else dialect
            name = benchmark.name
        elif gold is not None:
            gold_entries = read_gold_file(gold)
            manager = _manager(db_root, server, db_password_env)
            name = str(gold)
        else:
            fail("give --gold GOLD (with --db-root) or --bench NAME")
        mode = mode or "spider"
        if mode not in MODES:
            fail(f"unknown --mode {mode!r}; choose one of {', '.join(MODES)}")
        predictions = read_predictions(pred)
    except SqlfoundryError as error:
        fail(error)
    items, warnings, by_index = align(gold_entries, predictions)
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    progress, _ = _progress("evaluate", len(items))

    def factory(description: str, total: int):
        task = progress.add_task(description, total=total or None)
        return lambda n: progress.advance(task, n)

    try:
        with progress:
            run = evaluate(items, manager, mode=mode, metrics=chosen, dialect=dialect,
                           workers=workers, timeout=timeout, tables_json=tables,
                           ves_iterations=ves_iterations, predictions=by_index,
                           progress=factory, name=name)  # fmt: skip
    except SqlfoundryError as error:
        fail(error)
    run.report["warnings"] = warnings
    if out:
        atomic_write_text(out, json.dumps(run.report, indent=2, ensure_ascii=False))
    if items_path:
        atomic_write_jsonl(items_path, (v.to_dict() for v in run.verdicts))
    if html:
        atomic_write_text(html, render_html(run.report, run.verdicts, warnings))
    _eval_summary(run.report, [p for p in (out, items_path, html) if p])


def _eval_summary(report: dict[str, Any], written: list[Path]) -> None:
    from rich.table import Table

    headline = [f"{k.upper()} {report[k] * 100:.2f}%" for k in ("ex", "em") if k in report]
    headline += [f"{k.upper()} {report[k]:.2f}" for k in ("ves", "r_ves") if k in report]
    out.print(f"[bold]{report['count']} items[/] ({report['mode']} mode, {report['seconds']} s): "
              + " · ".join(headline), highlight=False, soft_wrap=True)  # fmt: skip
    metrics = [k for k in ("ex", "em") if k in report]
    table = Table(title="by difficulty", title_justify="left")
    table.add_column("difficulty")
    table.add_column("count", justify="right")
    for k in metrics:
        table.add_column(k.upper(), justify="right")
    for name, row in report["by_difficulty"].items():
        table.add_row(name, str(row["count"]), *(f"{row[k] * 100:.1f}%" for k in metrics))
    out.print(table)
    if "oracle" in report:
        oracle = {k: v for k, v in report["oracle"].items() if k.startswith(("pass@", "oracle_"))}
        out.print("oracle metrics (not EX): " + ", ".join(f"{k} {v:.4f}" for k, v in oracle.items()),
                  highlight=False, soft_wrap=True)  # fmt: skip
    if "schema_linking" in report:
        for part, s in report["schema_linking"].items():
            out.print(f"schema linking, {part}: recall {s['recall']:.4f} · precision "
                      f"{s['precision']:.4f} · exact {s['exact']:.4f} (n={s['count']})")  # fmt: skip
    errors = report["errors"]
    if errors:
        out.print(f"[yellow]{len(errors)} items failed to run or were refused[/]; first ones:")
        for e in errors[:5]:
            out.print(f"  #{e['index']} {escape(e['db_id'])}: {escape(e['error'])}",
                      highlight=False, soft_wrap=True)  # fmt: skip
    for path in written:
        out.print(f"wrote {escape(str(path))}", highlight=False, soft_wrap=True)


def load_config_file(path: Path | None) -> dict[str, Any]:
    """Read a TOML, YAML or JSON config file into a dict (empty when no file is given)."""
    import json

    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".toml":
            import tomllib

            return tomllib.loads(text)
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text) or {}
        return json.loads(text)
    except FileNotFoundError:
        fail(f"{path}: no such config file")
    except Exception as error:  # noqa: BLE001 - any parse error is reported the same way
        fail(f"{path}: cannot read config: {error}")
    return {}


@app.command("llm-check")
def llm_check(
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file with an [llm] section.")
    ] = None,
    llm_base_url: Annotated[
        str | None,
        typer.Option(
            "--llm-base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."
        ),
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option("--llm-model", help="Model name the endpoint serves.")
    ] = None,
    llm_api_key_env: Annotated[
        str | None,
        typer.Option("--llm-api-key-env", help="Environment variable holding the API key."),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Shared response cache folder.")
    ] = None,
    prompt: Annotated[
        str | None, typer.Option(help="Also send this prompt and print the answer and its usage.")
    ] = None,
) -> None:
    """Check the LLM endpoint: reachable, key accepted, model served (config file < env < flags)."""
    import asyncio

    from sqlfoundry.llm import LLMClient, LLMConfig
    from sqlfoundry.llm.usage import print_usage

    section = load_config_file(config).get("llm") or {}
    overrides = {"base_url": llm_base_url, "model": llm_model, "api_key_env": llm_api_key_env,
                 "cache_dir": str(cache_dir) if cache_dir else None}  # fmt: skip
    try:
        cfg = LLMConfig.from_sources(
            section, overrides=overrides, source=str(config) if config else None
        )
        cfg.require_endpoint()
    except SqlfoundryError as error:
        fail(error)

    async def check() -> None:
        client = LLMClient(cfg)
        try:
            info = await client.preflight()
            listed = info.get("models")
            out.print(f"[bold green]ok[/]: {escape(cfg.base_url or '')} serves {escape(cfg.model or '')}"
                      + (f" ({len(listed)} models listed)" if listed else ""), soft_wrap=True)  # fmt: skip
            if prompt:
                gens = await client.generate(
                    [{"role": "user", "content": prompt}], operator="llm-check"
                )
                out.print(escape(gens[0].text), highlight=False, soft_wrap=True)
                print_usage(client.usage, console=err)
        finally:
            await client.aclose()

    try:
        asyncio.run(check())
    except SqlfoundryError as error:
        fail(error)


# The synthesis and gateway commands live in their own modules; importing registers them.
from sqlfoundry import cli_serve, cli_synth  # noqa: E402, F401  # isort: skip


def main() -> None:
    try:
        app()
    except SqlfoundryError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
