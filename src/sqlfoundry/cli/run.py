"""``sqlfoundry run``: Text-to-SQL methods as configured pipelines, run and scored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sqlfoundry.cli.common import (
    CacheDir,
    DbRoot,
    ExecutorOption,
    LlmBaseUrl,
    LlmKeyEnv,
    LlmModel,
    RayAddress,
    check_outputs,
    emit,
    err,
    executor_settings,
    fail,
    llm_config,
    load_config_file,
    out,
    steps_progress,
)
from sqlfoundry.cli.console import escape
from sqlfoundry.core.errors import SqlfoundryError

DEMO_DBS = Path("examples/demo_dbs")


def run(
    config: Annotated[
        Path | None,
        typer.Argument(
            help="Run config: TOML/YAML/JSON with \\[dataset] and \\[\\[tasks]], or Squrve's "
            "JSON ('-': stdin). "
            "Without one, the demo runs: the offline method and the execution vote on the "
            "demo databases.",
            show_default=False,
        ),
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Run directory (re-run to resume); default runs/<config name>."),
    ] = None,
    db_root: DbRoot = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Run only the first N questions of each dataset.")
    ] = None,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key_env: LlmKeyEnv = None,
    cache_dir: CacheDir = None,
    executor: ExecutorOption = None,
    ray_address: RayAddress = None,
) -> None:
    """Run the tasks of a config (reducers, linkers, generators, selectors, method presets),
    then score every task: EX, EM, oracle pass@k, linking recall, cost per question."""
    from sqlfoundry.core.io import input_name, is_stdio
    from sqlfoundry.methods.engine import Engine, read_config
    from sqlfoundry.methods.engine.config import demo_config

    if run_dir is None:
        name = "demo-methods" if config is None else "stdin" if is_stdio(config) else config.stem
        run_dir = Path("runs") / name
    check_outputs(folders={"--out": run_dir})
    try:
        if config is None:
            cfg = demo_config(db_root or DEMO_DBS)
        else:
            data = load_config_file(config)
            cfg = read_config(data, source=input_name(config), base_dir=config.parent)
            if db_root is not None:
                _set_db_root(cfg, db_root)
        if limit is not None:
            _set_limit(cfg, limit)
        llm = llm_config({"llm": cfg.llm}, llm_base_url, llm_model, llm_api_key_env, cache_dir,
                         config, require=False)  # fmt: skip
        where = executor_settings({"executor": cfg.executor}, executor, ray_address)
        engine = Engine(cfg, llm_config=llm, executor=where)
        engine.prepare()
    except SqlfoundryError as error:
        fail(error)
    err.print(f"[bold]run[/] {escape(str(config or 'demo'))} -> {escape(str(run_dir))}: "
              f"{', '.join(b.id for b in engine.builds.values())}", highlight=False)  # fmt: skip
    progress = _Progress()
    try:
        with progress.bar:
            report = engine.run(run_dir, progress=progress)
    except SqlfoundryError as error:
        fail(error)
    _summary(report, run_dir)
    emit("run", {"run_dir": str(run_dir), "report": report,
                 "written": [str(run_dir / "report.json"), str(run_dir / "report.html")]})  # fmt: skip


def _set_db_root(cfg: Any, db_root: Path) -> None:
    datasets = [cfg.dataset] + [t.dataset for t in cfg.tasks]
    for dataset in datasets:
        if dataset is not None and dataset.gold is not None:
            dataset.db_root = db_root


def _set_limit(cfg: Any, limit: int) -> None:
    for dataset in [cfg.dataset] + [t.dataset for t in cfg.tasks]:
        if dataset is not None:
            dataset.limit = min(limit, dataset.limit or limit)


class _Progress:
    """One bar per (task, stage), on stderr."""

    def __init__(self) -> None:
        self.bar = steps_progress()
        self._tasks: dict[tuple[str, str], Any] = {}

    def __call__(self, task: str, operator: str, done: int, total: int) -> None:
        key = (task, operator)
        if key not in self._tasks:
            self._tasks[key] = self.bar.add_task(f"{task}: {operator}", total=total)
        # The total may change: with an LLM the steps run at once, and a step learns how
        # many batches it has as the step before it makes records.
        self.bar.update(self._tasks[key], completed=done, total=total)


def _pct(value: Any) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, (int, float)) else "-"


def _summary(report: dict[str, Any], run_dir: Path) -> None:
    table = Table(
        title=f"{len(report['tasks'])} tasks, {report['seconds']} s", title_justify="left"
    )
    for name in ("task", "method", "questions", "EX", "EM", "oracle best-of-k",
                 "link R/P (cols)", "calls/q", "tokens/q", "errors"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("task", "method") else "right")
    for task_id, e in report["tasks"].items():
        oracle = e.get("oracle") or {}
        best = next((v for k, v in oracle.items() if k.startswith("oracle_best_of")), None)
        part = e.get("parse") or e.get("reduce")
        link = (f"{_pct(part['columns']['recall'])}/{_pct(part['columns']['precision'])}"
                if part else "-")  # fmt: skip
        cost = e["cost"]
        tokens = cost["prompt_tokens_per_question"] + cost["completion_tokens_per_question"]
        table.add_row(task_id, f"{e['type']} {e['method']}", str(e["count"]), _pct(e.get("ex")),
                      _pct(e.get("em")), _pct(best), link, f"{cost['calls_per_question']:.2f}",
                      f"{tokens:.0f}", str(e["errors"]["records_with_errors"]))  # fmt: skip
    out.print(table)
    out.print(f"wrote {escape(str(run_dir / 'report.json'))} and "
              f"{escape(str(run_dir / 'report.html'))}", highlight=False, soft_wrap=True)  # fmt: skip
