"""``prepare-sft`` as a library call: items in, SQL-o1's SFT files out.

The steps are an ordinary checkpointed pipeline::

    input_check -> sql_execution_filter -> sqlo1_prompt [-> psg_selector] [-> psg_cutter]

(the PSG steps with ``psg``; ``ratio`` mode needs no selector). The output
folder is the pipeline's run directory (``data.jsonl``, ``rejects.jsonl``,
``manifest.json``, ``steps/``) plus the ``sqlo1`` export (``alpaca.json``,
``sharegpt.json``, ``dataset_info.json``, ``sqlo1_prompts.json``), the LoRA
config and ``summary.json`` with the counts.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.io import atomic_write_text
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.sft.inputs import Items
from sqlfoundry.synth.sft.prompt import MAX_CHARS
from sqlfoundry.synth.sft.training import DEFAULT_BASE_MODEL, LORA_CONFIG, cutoff_len, lora_config


class SftSettings(BaseModel):
    """How to prepare the data; CLI flags fill it.

    Attributes:
        psg: add progressive-SQL-generation examples.
        psg_mode: ``need`` / ``progressive`` / ``ratio`` (see ``psg_cutter``).
        psg_ratio: the share of items cut in ``ratio`` mode.
        rows: rows per table in the prompt (None: the data's default, 1 for BIRD, else 3).
        max_chars: longer strings in those rows are cut.
        seed: every random choice derives from it.
        dataset_name: the ``dataset_info.json`` entries are ``<name>_alpaca`` / ``_sharegpt``.
        base_model / chat_template: what the LoRA config trains.
        workers / timeout: the SQL worker processes and seconds per query.
        batch_size: records per batch and per checkpoint.
    """

    model_config = ConfigDict(extra="forbid")

    psg: bool = False
    psg_mode: Literal["need", "progressive", "ratio"] = "need"
    psg_ratio: float = Field(0.4, ge=0.0, le=1.0)
    rows: int | None = Field(None, ge=0, le=50)
    max_chars: int = Field(MAX_CHARS, ge=8)
    seed: int = 0
    dataset_name: str = Field("sqlo1", min_length=1)
    base_model: str = DEFAULT_BASE_MODEL
    chat_template: str | None = None
    workers: int | None = Field(None, ge=0)
    timeout: float = Field(30.0, gt=0)
    batch_size: int = Field(256, ge=1)


@dataclass
class SftResult:
    """The records, the counts (``summary.json``), the files written and the LLM usage."""

    samples: list[Sample]
    summary: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    usage: Any = None


def load_operators() -> None:
    """Import the operators the preparation names, so they are registered."""
    from sqlfoundry.synth import execution_filter, records  # noqa: F401
    from sqlfoundry.synth.sft import operators  # noqa: F401


def build_steps(settings: SftSettings, rows: int, llm: bool) -> Pipeline:
    """The preparation pipeline; ``llm`` picks SQL-o1's model rule for the PSG selector."""
    load_operators()
    names: list[tuple[str, dict[str, Any]]] = [
        ("input_check", {}),
        ("sql_execution_filter", {}),
        ("sqlo1_prompt", {"rows": rows, "max_chars": settings.max_chars}),
    ]
    if settings.psg:
        if settings.psg_mode != "ratio":
            names.append(("psg_selector", {"engine": "llm" if llm else "offline"}))
        names.append(("psg_cutter", {"mode": settings.psg_mode, "ratio": settings.psg_ratio}))
    operators = [build(name, params) for name, params in names]
    return Pipeline(operators, batch_size=settings.batch_size,
                    concurrent_batches=4 if llm and settings.psg else 1)  # fmt: skip


@contextlib.asynccontextmanager
async def open_context(
    databases: Any,
    *,
    llm_config: Any = None,
    workers: int | None = None,
    timeout: float = 30.0,
    seed: int = 0,
) -> AsyncIterator[RunContext]:
    """The SQL worker pool, and the LLM client when ``llm_config`` names an endpoint.

    The client checks the endpoint before its first request the cache cannot
    answer, so a resumed or fully cached run makes no call at all."""
    from sqlfoundry.db.pool import SafeExecutor

    executor = SafeExecutor(databases, workers=workers, timeout=timeout)
    llm = None
    try:
        if llm_config is not None and llm_config.is_configured:
            from sqlfoundry.llm import LLMClient

            llm = LLMClient(llm_config)
        yield RunContext(databases=databases, executor=executor, llm=llm, seed=seed)
    finally:
        executor.close()
        if llm is not None:
            await llm.aclose()


async def prepare_sft(
    items: Items,
    out_dir: str | Path,
    settings: SftSettings,
    *,
    llm_config: Any = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SftResult:
    """Run the preparation over ``items`` into ``out_dir`` (resumable); see the module doc."""
    from sqlfoundry.synth.exporters import export_report
    from sqlfoundry.synth.records import output_record

    out = Path(out_dir)
    rows = items.rows if settings.rows is None else settings.rows
    use_llm = llm_config is not None and llm_config.is_configured
    pipeline = build_steps(settings, rows, use_llm)
    start = time.perf_counter()
    async with open_context(items.databases, llm_config=llm_config if use_llm else None,
                            workers=settings.workers, timeout=settings.timeout,
                            seed=settings.seed) as ctx:  # fmt: skip
        result = await pipeline.arun(items.samples, out, ctx, progress=progress,
                                     input_rejects=items.problems, record=output_record)  # fmt: skip
        usage = ctx.llm.usage if ctx.llm is not None else None
    records = [output_record(s) for s in result.samples]
    export = export_report(records, "sqlo1", out, dataset_name=settings.dataset_name)
    config = lora_config(out, f"{settings.dataset_name}_alpaca", base_model=settings.base_model,
                         template=settings.chat_template,
                         cutoff=cutoff_len(s.prompt + (s.sql or "") for s in result.samples
                                           if s.prompt))  # fmt: skip
    atomic_write_text(out / LORA_CONFIG, config)
    summary = summarize(items, result.samples, result.rejects, settings, rows, use_llm)
    summary.update(seconds=round(time.perf_counter() - start, 3),
                   llm_usage=usage.to_dict() if usage is not None else None,
                   export=export.to_dict())  # fmt: skip
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False))
    files = [out / "data.jsonl", out / "rejects.jsonl", *export.files, out / LORA_CONFIG,
             out / "summary.json"]  # fmt: skip
    return SftResult(result.samples, summary, files, usage)


def summarize(
    items: Items,
    samples: list[Sample],
    rejects: list[dict[str, Any]],
    settings: SftSettings,
    rows: int,
    use_llm: bool,
) -> dict[str, Any]:
    """The counts a person checks: items in, rejected and why, records out, the PSG share."""
    full = [s for s in samples if not s.meta.get("sqlo1", {}).get("incomplete_sql")]
    cut = [s for s in samples if s.meta.get("sqlo1", {}).get("incomplete_sql")]
    cut_items = {s.meta["sqlo1"]["psg_of"] for s in cut}
    picked = sum(bool(s.meta.get("sqlo1", {}).get("psg_need")) for s in full)
    reasons = Counter(r.get("reason", "?") for r in rejects)
    if not settings.psg:
        rule = None
    elif settings.psg_mode == "ratio":
        rule = f"ratio: each item picked with probability {settings.psg_ratio}"
    elif use_llm:
        rule = "model: the zero-shot answer fails to run, or the gold reads 3+ tables"
    else:
        rule = "no model: the gold reads 3+ tables, or its Spider hardness is hard/extra"
    return {
        "input": items.name,
        "items": len(items.samples) + len(items.problems),
        "rejected": sum(reasons.values()),
        "reject_reasons": dict(reasons.most_common()),
        "kept_items": len(full),
        "records": len(samples),
        "psg": {
            "mode": settings.psg_mode if settings.psg else None,
            "rule": rule,
            "items_picked": picked if settings.psg and settings.psg_mode != "ratio" else None,
            "items_cut": len(cut_items),
            "share_cut": round(len(cut_items) / len(full), 4) if full else 0.0,
            "examples": len(cut),
        },
        "rows_per_table": rows,
        "seed": settings.seed,
        "dataset_name": settings.dataset_name,
    }
