"""``sqlfoundry schema``, ``classify`` and ``exec``: look at databases and run queries."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from sqlfoundry.cli.common import (
    DbRoot,
    PasswordEnv,
    SchemaFormat,
    Server,
    check_outputs,
    database_manager,
    emit,
    err,
    fail,
    progress_bar,
    wrote,
)
from sqlfoundry.cli.console import escape
from sqlfoundry.core.errors import SqlfoundryError


def schema(
    db: Annotated[str, typer.Argument(help="A .sqlite/.db file path, or a db_id.")],
    db_root: DbRoot = None,
    server: Server = None,
    db_password_env: PasswordEnv = None,
    fmt: Annotated[
        SchemaFormat, typer.Option("--format", "-f", help="How to show the schema.")
    ] = SchemaFormat.ddl,
    samples: Annotated[int, typer.Option(help="Distinct sample values per column.")] = 5,
    spider_json: Annotated[
        bool, typer.Option("--spider-json", help="Print a Spider tables.json entry instead.")
    ] = False,
) -> None:
    """Show a database's schema: tables, columns, keys, row counts and sample values."""
    import json

    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.db.render import render
    from sqlfoundry.db.spider_tables import schema_to_spider

    try:
        path = Path(db)
        if path.suffix.lower() in (".sqlite", ".db", ".sqlite3") or path.is_file():
            if not path.is_file():
                fail(f"{db}: no such database file")
            manager = DatabaseManager.for_file(path)
            db_id = path.stem
        else:
            manager = database_manager(db_root, server, db_password_env)
            db_id = db
        info = manager.schema(db_id, sample_values=samples)
    except SqlfoundryError as error:
        fail(error)
    if spider_json:
        print(json.dumps(schema_to_spider(info), indent=2, ensure_ascii=False))
    else:
        print(render(info, fmt.value))


def classify(
    input_path: Annotated[
        Path,
        typer.Argument(
            help="Spider gold file (SQL<TAB>db_id) or JSONL with SQL / query ('-': stdin)."
        ),
    ],
    output: Annotated[
        Path, typer.Argument(help="JSONL: the input fields + hardness + components ('-': stdout).")
    ],
    dialect: Annotated[str, typer.Option(help="SQL dialect of the queries.")] = "sqlite",
) -> None:
    """Add Spider hardness and component counts to every query."""
    from sqlfoundry.core.io import atomic_write_jsonl, read_records
    from sqlfoundry.sql.classify import classify_record

    written = check_outputs({"OUTPUT": output})
    try:
        lines = list(read_records(input_path))
    except SqlfoundryError as error:
        fail(error)
    start = time.perf_counter()
    progress, advance = progress_bar("classify", len(lines))
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
    wrote(output)
    emit("classify", {"written": written, "queries": len(records), "seconds": round(elapsed, 3),
                      "hardness": {h: counts.get(h, 0) for h in levels},
                      "unreadable": len(bad)})  # fmt: skip


def exec_(
    input_path: Annotated[
        Path, typer.Argument(help="Spider gold file (SQL<TAB>db_id) or JSONL ('-': stdin).")
    ],
    output: Annotated[
        Path, typer.Argument(help="Results, one JSON line per input line ('-': stdout).")
    ],
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
    from sqlfoundry.cli.exec_command import run_exec

    run_exec(input_path, output, db_root, server, db_password_env, timeout=timeout,
             workers=workers, max_rows=max_rows)  # fmt: skip
