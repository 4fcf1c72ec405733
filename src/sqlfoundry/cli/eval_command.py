"""What ``sqlfoundry eval`` does, apart from its options: importable without typer, so the
command's fast path (:mod:`sqlfoundry.cli.entry`) and the typer command share it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlfoundry.cli.console import escape, fail, out, progress_bar, warn
from sqlfoundry.cli.databases import database_manager
from sqlfoundry.cli.scripting import check_outputs, emit, executor_settings, wrote
from sqlfoundry.core.errors import SqlfoundryError


def run_eval(pred: Path, gold: Path | None, bench: str | None, db_root: Path | None,
             server: str | None, db_password_env: str | None, *, mode: str | None,
             metrics: str, tables: Path | None, report_path: Path | None, items_path: Path | None,
             html: Path | None, workers: int, timeout: float, ves_iterations: int,
             dialect: str, executor: Any = None, ray_address: str | None = None,
             run_dir: Path | None = None) -> None:  # fmt: skip
    """Score the predictions of ``pred`` against the gold; print the summary, write the files asked for."""
    import json

    from sqlfoundry.bench.evaluate import align, evaluate, gold_from_samples
    from sqlfoundry.bench.inputs import read_gold_file, read_predictions
    from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text

    written = check_outputs(
        {"--out": report_path, "--items": items_path, "--html": html}, {"--run-dir": run_dir}
    )
    chosen = [x.strip() for x in metrics.split(",") if x.strip()]
    mode_name = mode
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
    # Only a run that asks for an executor pays for its settings (pydantic) at start-up.
    where = executor_settings({}, executor, ray_address) if executor or ray_address else None
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
                           executor=where if where and where.kind != "local" else None)  # fmt: skip
    except SqlfoundryError as error:
        fail(error)
    run.report["warnings"] = warnings
    if report_path:
        atomic_write_text(report_path, json.dumps(run.report, indent=2, ensure_ascii=False))
    if items_path:
        atomic_write_jsonl(items_path, (v.to_dict() for v in run.verdicts))
    if html:
        from sqlfoundry.bench.html import render_html

        atomic_write_text(html, render_html(run.report, run.verdicts, warnings))
    _eval_summary(run.report, written)
    emit("eval", {"written": written, "report": run.report})


def _eval_summary(report: dict[str, Any], written: list[str]) -> None:
    headline = [f"{k.upper()} {report[k] * 100:.2f}%" for k in ("ex", "em") if k in report]
    headline += [f"{k.upper()} {report[k]:.2f}" for k in ("ves", "r_ves") if k in report]
    out.print(f"[bold]{report['count']} items[/] ({report['mode']} mode, {report['seconds']} s): "
              + " · ".join(headline), highlight=False, soft_wrap=True)  # fmt: skip
    metrics = [k for k in ("ex", "em") if k in report]
    rows = [[name, str(row["count"]), *(f"{row[k] * 100:.1f}%" for k in metrics)]
            for name, row in report["by_difficulty"].items()]  # fmt: skip
    out.table("by difficulty", ["difficulty", "count", *(k.upper() for k in metrics)], rows)
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
