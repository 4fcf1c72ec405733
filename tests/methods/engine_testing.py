"""Running the engine in tests: a config dict in, the report and the run directory's records out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlfoundry.llm import LLMConfig
from sqlfoundry.methods.engine import Engine, read_config


def engine_for(config: dict[str, Any], llm: dict[str, Any] | None = None) -> Engine:
    """A prepared engine; ``llm`` is the ``[llm]`` table (None: no LLM)."""
    cfg = read_config(config)
    engine = Engine(cfg, llm_config=LLMConfig(**llm) if llm else None)
    engine.prepare()
    return engine


def run_config(config: dict[str, Any], run_dir: Path, llm: dict[str, Any] | None = None) -> dict:
    """Run ``config`` into ``run_dir``; returns the report."""
    return engine_for(config, llm).run(run_dir)


def predictions(run_dir: Path, task: str) -> list[dict[str, Any]]:
    path = run_dir / "tasks" / task / "predictions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dataset(gold: Path, db_root: Path, **extra: Any) -> dict[str, Any]:
    return {"gold": str(gold), "db_root": str(db_root), **extra}
