"""``sqlfoundry eval``: score predictions against gold."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from sqlfoundry.cli.common import (
    ComparisonMode,
    DbRoot,
    ExecutorOption,
    PasswordEnv,
    RayAddress,
    Server,
    check_outputs,
    choice,
    database_manager,
    emit,
    executor_settings,
    fail,
    out,
    progress_bar,
    warn,
    wrote,
)
from sqlfoundry.core.errors import SqlfoundryError


def eval_(
    pred: Annotated[
        Path,
        typer.Option(
            "--pred",
            help="Predictions: one SQL per line, JSONL with pred_sql, or BIRD JSON ('-': stdin).",
        ),
    ],
    gold: Annotated[
        Path | None,
        typer.Option("--gold", help="Gold: Spider format (SQL<TAB>db_id) or JSONL ('-': stdin)."),
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
        ComparisonMode | None,
        typer.Option(help="Result comparison (default: the benchmark's, else spider)."),
    ] = None,
    metrics: Annotated[str, typer.Option(help="Comma-separated: ex, em, ves, linking.")] = "ex",
    tables: Annotated[
        Path | None, typer.Option("--tables", help="tables.json, needed for EM.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the report as JSON ('-': stdout).")
    ] = None,
    items_path: Annotated[
        Path | None, typer.Option("--items", help="Write one JSON line per item ('-': stdout).")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML report ('-': stdout)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = os.cpu_count() or 1,
    timeout: Annotated[float, typer.Option(help="Seconds per query.")] = 30.0,
    ves_iterations: Annotated[
        int, typer.Option(help="Timing rounds per item for VES (BIRD: 100).")
    ] = 100,
    dialect: Annotated[str, typer.Option(help="SQL dialect of the queries.")] = "sqlite",
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir",
            help="Judge EX as a checkpointed pipeline here (re-run to "
            "resume); also what --executor ray does, in a temporary folder.",
        ),
    ] = None,
) -> None:
    """Score predictions by execution (EX), exact match (EM), efficiency (VES) and linking."""
    import json

    from sqlfoundry.bench.evaluate import align, evaluate, gold_from_samples
    from sqlfoundry.bench.html import render_html
    from sqlfoundry.bench.inputs import read_gold_file, read_predictions
    from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text

    written = check_outputs({"--out": out, "--items": items_path, "--html": html},
                            {"--run-dir": run_dir})
    chosen = [x.strip() for x in metrics.split(",") if x.strip()]
    mode_name = choice(mode)
    try:
        if bench:
            from sqlfoundry.bench.registry import load

            benchmark = load(bench)
            gold_entries = gold_from_samples(benchmark.samples)
            manager = benchmark.manager()
            mode_name = mode_name or benchmark.mode
            tables = tables or benchmark.tables_json
            dialect = benchmark.dialect if dialect == "sqlite" else dialect
            name = benchmark.name
        elif gold is not None:
            gold_entries = read_gold_file(gold)
            manager = database_manager(db_root, server, db_password_env)
            name = str(gold)
        else:
            fail("give --gold GOLD (with --db-root) or --bench NAME")
        mode_name = mode_name or "spider"
        predictions = read_predictions(pred)
    except SqlfoundryError as error:
        fail(error)
    items, warnings, by_index = align(gold_entries, predictions)
    for w in warnings:
        warn(w)
    where = executor_settings({}, executor, ray_address)
    progress, _ = progress_bar("evaluate", len(items))

    def factory(description: str, total: int):
        task = progress.add_task(description, total=total or None)
        return lambda n: progress.advance(task, n)

    try:
        with progress:
            run = evaluate(items, manager, mode=mode_name, metrics=chosen, dialect=dialect,
                           workers=workers, timeout=timeout, tables_json=tables,
                           ves_iterations=ves_iterations, predictions=by_index,
                           progress=factory, name=name, run_dir=run_dir,
                           executor=where if where.kind != "local" else None)  # fmt: skip
    except SqlfoundryError as error:
        fail(error)
    run.report["warnings"] = warnings
    if out:
        atomic_write_text(out, json.dumps(run.report, indent=2, ensure_ascii=False))
    if items_path:
        atomic_write_jsonl(items_path, (v.to_dict() for v in run.verdicts))
    if html:
        atomic_write_text(html, render_html(run.report, run.verdicts, warnings))
    _eval_summary(run.report, written)
    emit("eval", {"written": written, "report": run.report})


def _eval_summary(report: dict[str, Any], written: list[str]) -> None:
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
    if report.get("failures"):
        count = report["count"] or 1
        out.print("wrong: " + " · ".join(f"{c} {n} ({100 * n / count:.1f}%)"
                                         for c, n in report["failures"].items()),
                  highlight=False, soft_wrap=True)  # fmt: skip
    if "confusion" in report:
        c = report["confusion"]
        out.print(f"EX × EM: both right {c['ex_em']} · EX only {c['ex_not_em']} · "
                  f"EM only {c['em_not_ex']} (exact-set match, other rows) · neither {c['neither']}",
                  highlight=False, soft_wrap=True)  # fmt: skip
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
        wrote(path, out)
