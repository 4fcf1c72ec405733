"""One benchmark (or file of pairs) searched, then scored.

The questions go through a checkpointed :class:`~sqlfoundry.core.pipeline.Pipeline`
of one ``mcts_search`` step (a re-run resumes; a changed setting re-runs), with
the gold queries taken off the records first, so the search cannot see them.
Then:

- ``RUN_DIR/predictions.jsonl``: one record per question, in input order:
  ``id``, ``db_id``, ``question``, ``pred_sql``, ``candidates`` (each with its
  ``sql``, ``reward``, ``visits``, execution ``status``), ``chosen_by``, ``tree``,
  ``usage``, and ``errors`` when there were any;
- ``RUN_DIR/report.json``: the evaluation harness's report on ``pred_sql`` (EX with
  the benchmark's official semantics, by difficulty and database), the oracle
  metrics over the candidates under ``oracle`` (pass@k and best-of-n: a question
  counts when any candidate is right, which is what SQL-o1's published figure
  measures), and ``search``: the settings and the cost per question.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.search.operator import MCTSSearch
from sqlfoundry.synth.sft.inputs import Items
from sqlfoundry.synth.sft.run import open_context


@dataclass
class SearchRun:
    predictions: list[dict[str, Any]]
    report: dict[str, Any]


def questions_of(samples: list[Sample]) -> list[Sample]:
    """The records the search sees: no gold query, nothing derived from it."""
    return [
        Sample(
            id=s.id,
            db_id=s.db_id,
            question=s.question,
            evidence=s.evidence,
            prompt=s.prompt,
            meta={"source": s.meta.get("source", s.id)},
        )  # fmt: skip
        for s in samples
    ]


def prediction_record(sample: Sample) -> dict[str, Any]:
    """One line of ``predictions.jsonl``."""
    mcts = sample.meta.get("mcts", {})
    out: dict[str, Any] = {
        "id": sample.id,
        "db_id": sample.db_id,
        "question": sample.question,
        "pred_sql": sample.pred_sql,
        "candidates": mcts.get("candidates", []),
        "chosen_by": mcts.get("chosen_by"),
        "tree": mcts.get("tree"),
        "usage": sample.meta.get("usage", {}).get(MCTSSearch.name),
    }
    if sample.meta.get("errors"):
        out["errors"] = sample.meta["errors"]
    return out


def search_items(
    items: Items,
    run_dir: str | Path,
    params: dict[str, Any],
    *,
    llm_config: Any,
    seed: int = 0,
    workers: int | None = None,
    timeout: float = 30.0,
    batch_size: int = 64,
    concurrent_batches: int = 2,
    progress: Callable[[str, int, int], None] | None = None,
) -> SearchRun:
    """Search every item, write the predictions and the report; see the module doc."""
    from sqlfoundry.bench.evaluate import align, evaluate
    from sqlfoundry.bench.inputs import GoldEntry, Prediction

    run_dir = Path(run_dir)
    operator = MCTSSearch(**params)
    pipeline = Pipeline([operator], batch_size=batch_size, concurrent_batches=concurrent_batches)
    start = time.perf_counter()

    async def go() -> list[Sample]:
        async with open_context(items.databases, llm_config=llm_config, workers=workers,
                                timeout=timeout, seed=seed) as ctx:  # fmt: skip
            result = await pipeline.arun(questions_of(items.samples), run_dir, ctx,
                                         progress=progress, input_rejects=items.problems)  # fmt: skip
            return result.samples

    searched = asyncio.run(go())
    seconds = time.perf_counter() - start
    predictions = [prediction_record(s) for s in searched]
    gold = [GoldEntry.from_sample(s) for s in items.samples]
    preds = [Prediction(sql=s.pred_sql or "", candidates=list(s.candidates),
                        error=None if s.pred_sql else _why(s)) for s in searched]  # fmt: skip
    aligned, warnings, _ = align(gold, preds)
    run = evaluate(aligned, items.databases, mode=items.mode, metrics=["ex"],
                   dialect=items.dialect, workers=workers, timeout=timeout, name=items.name)  # fmt: skip
    report = run.report
    report["warnings"] = warnings + [f"{len(items.problems)} input line(s) could not be read; "
                                     "see rejects.jsonl"] * bool(items.problems)  # fmt: skip
    report["search"] = _costs(searched, operator.params.model_dump(), seed, seconds)
    atomic_write_jsonl(run_dir / "predictions.jsonl", predictions)
    atomic_write_text(run_dir / "report.json", json.dumps(report, indent=2, ensure_ascii=False))
    return SearchRun(predictions, report)


def _why(sample: Sample) -> str:
    errors = sample.meta.get("errors") or []
    return errors[-1]["message"] if errors else "no prediction"


def _costs(
    samples: list[Sample], params: dict[str, Any], seed: int, seconds: float
) -> dict[str, Any]:
    usage = [s.meta.get("usage", {}).get(MCTSSearch.name) or {} for s in samples]
    trees = [s.meta.get("mcts", {}).get("tree") or {} for s in samples]

    def mean(values: list[float]) -> float:
        return round(fmean(values), 3) if values else 0.0

    return {
        "settings": params,
        "seed": seed,
        "questions": len(samples),
        "searched": sum(bool(s.pred_sql) for s in samples),
        "seconds": round(seconds, 3),
        "per_question": {
            "calls": mean([u.get("calls", 0) for u in usage]),
            "prompt_tokens": mean([u.get("prompt_tokens", 0) for u in usage]),
            "completion_tokens": mean([u.get("completion_tokens", 0) for u in usage]),
            "cache_hits": mean([u.get("cache_hits", 0) for u in usage]),
            "tree_nodes": mean([t.get("nodes", 0) for t in trees]),
            "candidates": mean([len(s.candidates) for s in samples]),
        },
        "totals": {
            "calls": sum(u.get("calls", 0) for u in usage),
            "prompt_tokens": sum(u.get("prompt_tokens", 0) for u in usage),
            "completion_tokens": sum(u.get("completion_tokens", 0) for u in usage),
        },
    }
