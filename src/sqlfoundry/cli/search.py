"""``sqlfoundry search``: SQL-o1's tree search over one benchmark, scored by execution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sqlfoundry.cli.common import (
    Api,
    BenchOption,
    CacheDir,
    Choose,
    CompareMode,
    ConfigOption,
    DbRoot,
    GoldOption,
    LlmBaseUrl,
    LlmKeyEnv,
    LlmModel,
    PasswordEnv,
    QuestionKey,
    Reward,
    Server,
    WorkersOption,
    check_outputs,
    choice,
    emit,
    err,
    fail,
    llm_config,
    load_config_file,
    load_items,
    out,
    progress_bar,
)
from sqlfoundry.cli.console import escape
from sqlfoundry.core.errors import ConfigError, SqlfoundryError

# [search] keys that set up the run rather than the operator.
RUN_KEYS = ("seed", "workers", "timeout", "batch_size", "concurrent_batches")


def search(
    run_dir: Annotated[Path, typer.Option("--out", help="Run directory (re-run to resume).")],
    bench: BenchOption = None,
    gold: GoldOption = None,
    db_root: DbRoot = None,
    server: Server = None,
    db_password_env: PasswordEnv = None,
    question_key: QuestionKey = None,
    mode: CompareMode = None,
    reward: Annotated[
        Reward | None, typer.Option("--reward", help="The reward (default sqlo1).")
    ] = None,
    iterations: Annotated[
        int | None, typer.Option("--iterations", help="MCTS iterations per question (8).")
    ] = None,
    samples: Annotated[
        int | None, typer.Option("--samples", help="Completions drawn per expansion (4).")
    ] = None,
    children: Annotated[
        int | None, typer.Option("--children", help="Children kept per expansion (3).")
    ] = None,
    max_depth: Annotated[
        int | None, typer.Option("--max-depth", help="Most clause segments in a path (12).")
    ] = None,
    uct_c: Annotated[
        float | None, typer.Option("--uct-c", help="UCT exploration weight (1.0).")
    ] = None,
    choose: Annotated[
        Choose | None,
        typer.Option("--choose", help="By reward (default) or by a vote over execution results."),
    ] = None,
    api: Annotated[
        Api | None, typer.Option("--api", help="chat (default), or completions for base models.")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", help="Sampling temperature (0.8).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Same seed, same search.")] = None,
    config: ConfigOption = None,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key_env: LlmKeyEnv = None,
    cache_dir: CacheDir = None,
    workers: WorkersOption = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds per query.")] = None,
) -> None:
    """Search every question with MCTS over partial SQL, then score the chosen queries.

    Writes RUN_DIR/predictions.jsonl (in input order: pred_sql, every candidate with its
    reward and visits) and RUN_DIR/report.json (EX with the benchmark's semantics; pass@k
    and best-of-n over the candidates apart, under "oracle"). The gold is never shown to
    the search. The \\[search] section of --config takes every mcts_search parameter.
    """
    from sqlfoundry.methods.search.operator import MCTSParams
    from sqlfoundry.methods.search.run import search_items

    check_outputs(folders={"--out": run_dir})
    file_config = load_config_file(config)
    section: dict[str, Any] = dict(file_config.get("search") or {})
    flags = {"reward": choice(reward), "iterations": iterations, "samples": samples,
             "children": children, "max_depth": max_depth, "uct_c": uct_c,
             "choose": choice(choose), "api": choice(api), "temperature": temperature}  # fmt: skip
    run_flags = {"seed": seed, "workers": workers, "timeout": timeout}
    section.update({k: v for k, v in {**flags, **run_flags}.items() if v is not None})
    run = {k: section.pop(k) for k in RUN_KEYS if k in section}
    items = load_items(bench, gold, db_root, server, db_password_env, question_key, mode)
    if not items.samples:
        fail(f"no questions in {items.name}")
    section.setdefault("rows", items.rows)  # 1 for BIRD, 3 otherwise, as at training
    try:
        params = MCTSParams(**section).model_dump()
        cfg = llm_config(file_config, llm_base_url, llm_model, llm_api_key_env, cache_dir, config)
    except SqlfoundryError as error:
        fail(error)
    except ValueError as error:  # pydantic's ValidationError: an unknown key or a bad value
        fail(ConfigError(f"bad search settings: {error}", file=str(config) if config else None))
    progress, _ = progress_bar("search", 0)

    def tick(_: str, done: int, total: int) -> None:
        progress.update(progress.task_ids[0], completed=done, total=total)

    try:
        with progress:
            result = search_items(items, run_dir, params, llm_config=cfg, progress=tick,
                                  seed=int(run.get("seed", 0)), workers=run.get("workers"),
                                  timeout=float(run.get("timeout", 30.0)),
                                  batch_size=int(run.get("batch_size", 64)),
                                  concurrent_batches=int(run.get("concurrent_batches", 2)))  # fmt: skip
    except SqlfoundryError as error:
        fail(error)
    _summary(result.report, run_dir)
    written = [str(run_dir / "predictions.jsonl"), str(run_dir / "report.json")]
    emit("search", {"run_dir": str(run_dir), "written": written, "report": result.report})


def _summary(report: dict[str, Any], run_dir: Path) -> None:
    cost = report["search"]
    per = cost["per_question"]
    out.print(f"[bold]{report['count']} questions[/] ({escape(str(report['benchmark']))}, "
              f"{report['mode']} mode): EX {report['ex'] * 100:.2f}% (the chosen query)",
              highlight=False)  # fmt: skip
    oracle = report.get("oracle")
    if oracle:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in oracle.items()
                          if k.startswith(("pass@", "oracle_")))  # fmt: skip
        out.print(f"oracle (any candidate right; not EX, not comparable to it): {shown}",
                  highlight=False)  # fmt: skip
    out.print(f"per question: {per['calls']} calls, {per['prompt_tokens']:.0f} prompt + "
              f"{per['completion_tokens']:.0f} completion tokens, {per['tree_nodes']} tree nodes, "
              f"{per['candidates']} candidates; {cost['seconds']} s in all", highlight=False)  # fmt: skip
    errors = report.get("errors") or []
    if errors:
        err.print(f"[yellow]{len(errors)} questions failed to run or had no prediction[/]; "
                  f"first: #{errors[0]['index']} {escape(errors[0]['error'] or '')}",
                  highlight=False)  # fmt: skip
    out.print(f"wrote {escape(str(run_dir / 'predictions.jsonl'))} and "
              f"{escape(str(run_dir / 'report.json'))}", highlight=False)  # fmt: skip
