"""``sqlfoundry eval``: score predictions against gold."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sqlfoundry.cli.common import (
    ComparisonMode,
    DbRoot,
    ExecutorOption,
    PasswordEnv,
    RayAddress,
    Server,
    choice,
)


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
    from sqlfoundry.cli.eval_command import run_eval

    run_eval(pred, gold, bench, db_root, server, db_password_env, mode=choice(mode),
             metrics=metrics, tables=tables, report_path=out, items_path=items_path, html=html,
             workers=workers, timeout=timeout, ves_iterations=ves_iterations,
             dialect=dialect, executor=choice(executor), ray_address=ray_address,
             run_dir=run_dir)  # fmt: skip
