"""``sqlfoundry prepare-sft``: SQL-o1's schema-aware SFT data with progressive SQL generation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sqlfoundry.cli.common import (
    BenchOption,
    CacheDir,
    CompareMode,
    ConfigOption,
    DbRoot,
    GoldOption,
    LlmBaseUrl,
    LlmKeyEnv,
    LlmModel,
    PasswordEnv,
    PsgMode,
    QuestionKey,
    SeedOption,
    Server,
    TimeoutOption,
    WorkersOption,
    check_outputs,
    emit,
    err,
    fail,
    llm_config,
    load_config_file,
    load_items,
    out,
)
from sqlfoundry.cli.console import escape
from sqlfoundry.core.errors import SqlfoundryError


def prepare_sft(
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder (re-run to resume).")],
    bench: BenchOption = None,
    gold: GoldOption = None,
    db_root: DbRoot = None,
    server: Server = None,
    db_password_env: PasswordEnv = None,
    question_key: QuestionKey = None,
    mode: CompareMode = None,
    psg: Annotated[
        bool, typer.Option("--psg", help="Add progressive SQL generation examples.")
    ] = False,
    psg_mode: Annotated[
        PsgMode,
        typer.Option(
            "--psg-mode",
            help="need: one random cut of each item that needs it; progressive: every cut of "
            "those; ratio: one random cut of a random share of all items.",
        ),
    ] = PsgMode.need,
    psg_ratio: Annotated[
        float, typer.Option("--psg-ratio", help="The share of items cut in ratio mode.")
    ] = 0.4,
    rows: Annotated[
        int | None,
        typer.Option("--rows", help="Sample rows per table (default: 1 for BIRD, 3 otherwise)."),
    ] = None,
    max_chars: Annotated[
        int, typer.Option("--max-chars", help="Cut longer strings in the sample rows.")
    ] = 100,
    seed: SeedOption = 0,
    dataset_name: Annotated[
        str, typer.Option("--dataset-name", help="Prefix of the dataset_info.json entries.")
    ] = "sqlo1",
    base_model: Annotated[
        str | None, typer.Option("--base-model", help="The model the LoRA config trains.")
    ] = None,
    chat_template: Annotated[
        str | None,
        typer.Option("--chat-template", help="LlamaFactory template (default: from the model)."),
    ] = None,
    config: ConfigOption = None,
    llm_base_url: LlmBaseUrl = None,
    llm_model: LlmModel = None,
    llm_api_key_env: LlmKeyEnv = None,
    cache_dir: CacheDir = None,
    workers: WorkersOption = None,
    timeout: TimeoutOption = 30.0,
    show: Annotated[int, typer.Option("--show", help="Print this many prompts at the end.")] = 0,
) -> None:
    """SQL-o1's SFT data: schema-aware prompts, PSG examples, LlamaFactory files, a LoRA config.

    input_check -> sql_execution_filter -> sqlo1_prompt \\[-> psg_selector -> psg_cutter].
    With an LLM configured (flags, environment or \\[llm]), an item needs PSG when the model's
    zero-shot answer fails to run or the gold reads 3+ tables (SQL-o1's rule); without one,
    when the gold reads 3+ tables or its Spider hardness is hard or extra.
    """
    import asyncio

    from sqlfoundry.synth.sft.run import SftSettings
    from sqlfoundry.synth.sft.run import prepare_sft as prepare
    from sqlfoundry.synth.sft.training import DEFAULT_BASE_MODEL

    check_outputs(folders={"--out": out_dir})
    file_config = load_config_file(config)
    try:
        cfg = llm_config(file_config, llm_base_url, llm_model, llm_api_key_env, cache_dir,
                         config, require=False)  # fmt: skip
        settings = SftSettings(psg=psg, psg_mode=psg_mode.value, psg_ratio=psg_ratio, rows=rows,
                               max_chars=max_chars, seed=seed, dataset_name=dataset_name,
                               base_model=base_model or DEFAULT_BASE_MODEL,
                               chat_template=chat_template, workers=workers, timeout=timeout)  # fmt: skip
    except SqlfoundryError as error:
        fail(error)
    except ValueError as error:  # pydantic's ValidationError
        fail(f"bad option: {error}")
    items = load_items(bench, gold, db_root, server, db_password_env, question_key, mode)
    try:
        result = asyncio.run(prepare(items, out_dir, settings, llm_config=cfg))
    except SqlfoundryError as error:
        fail(error)
    _summary(result.summary, out_dir, result.files)
    if result.usage is not None:
        from sqlfoundry.llm.usage import print_usage

        print_usage(result.usage, console=err)
    shown = [s for s in result.samples if s.prompt][:show]
    for sample in shown:
        out.rule(escape(f"{sample.id} ({sample.db_id})"))
        out.print(escape(sample.prompt or ""), highlight=False)
        out.print(f"[bold]target:[/] {escape(sample.sql or '')}", highlight=False)
    usage = result.usage.to_dict() if result.usage is not None else None
    emit("prepare-sft", {"out_dir": str(out_dir), "written": [str(f) for f in result.files],
                         "summary": result.summary, "usage": usage,
                         "samples": [{"id": s.id, "db_id": s.db_id, "prompt": s.prompt,
                                      "target": s.sql} for s in shown]})  # fmt: skip


def _summary(summary: dict, out_dir: Path, files: list[Path]) -> None:
    psg = summary["psg"]
    out.print(f"[bold]{summary['items']} items[/] from {escape(summary['input'])}: "
              f"{summary['kept_items']} kept, {summary['rejected']} rejected; "
              f"{summary['records']} training records", highlight=False)  # fmt: skip
    for reason, count in list(summary["reject_reasons"].items())[:5]:
        out.print(f"  rejected {count}: {escape(reason)}", highlight=False)
    if psg["mode"]:
        picked = f"{psg['items_picked']} picked, " if psg["items_picked"] is not None else ""
        out.print(f"PSG ({psg['mode']}; {escape(psg['rule'])}): {picked}{psg['items_cut']} items "
                  f"cut ({psg['share_cut']:.1%} of kept), {psg['examples']} PSG examples",
                  highlight=False)  # fmt: skip
    out.print(f"rows per table: {summary['rows_per_table']}; wrote {escape(str(out_dir))}/ "
              f"({', '.join(f.name for f in files)})", highlight=False)  # fmt: skip
    out.print(f"train: llamafactory-cli train {escape(str(out_dir / 'llamafactory_lora_sft.yaml'))}",
              highlight=False, soft_wrap=True)  # fmt: skip
