"""What ``sqlfoundry exec`` does, apart from its options: importable without typer or rich,
so the command's fast path (:mod:`sqlfoundry.cli.entry`) and the typer command share it."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlfoundry.cli.console import err, escape, fail, progress_bar
from sqlfoundry.cli.databases import database_manager
from sqlfoundry.cli.scripting import check_outputs, emit, wrote
from sqlfoundry.core.errors import SqlfoundryError


def run_exec(input_path: Path, output: Path, db_root: Path | None, server: str | None,
             db_password_env: str | None, *, timeout: float, workers: int,
             max_rows: int) -> None:  # fmt: skip
    """Run every query of ``input_path`` read-only; one result per line to ``output``."""
    from sqlfoundry.core.io import atomic_write_jsonl, read_records, sql_of
    from sqlfoundry.db.base import ExecResult, json_value
    from sqlfoundry.db.pool import SafeExecutor

    written = check_outputs({"OUTPUT": output})
    manager = database_manager(db_root, server, db_password_env)
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
    progress, advance = progress_bar("exec", len(jobs))
    with progress, SafeExecutor(manager, workers=workers, timeout=timeout) as executor:
        for i, result in zip(slots, executor.run(jobs, progress=advance), strict=True):
            results[i] = result
    elapsed = time.perf_counter() - start
    records = []
    for i, result in enumerate(results):
        assert result is not None
        result.index = i
        records.append(result.to_dict(max_rows=max_rows, raw_rows=True))
    atomic_write_jsonl(output, records, default=json_value)
    counts = Counter(r["status"] for r in records)
    _exec_summary(records, counts, elapsed, output)
    emit("exec", {"written": written, "queries": len(records), "seconds": round(elapsed, 3),
                  "status": {s: counts.get(s, 0) for s in STATUSES}})  # fmt: skip


STATUSES = ("ok", "error", "timeout", "rejected")


def _exec_summary(records: list[dict[str, Any]], counts: Counter, elapsed: float,
                  output: Path) -> None:  # fmt: skip
    parts = " · ".join(f"{s} {counts.get(s, 0)}" for s in STATUSES)
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
        err.print(f"  ... and {len(failures) - 5} more (see {escape(str(output))})",
                  highlight=False, soft_wrap=True)  # fmt: skip
    wrote(output)
