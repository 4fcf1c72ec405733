"""A task's metrics, from the evaluation harness (:mod:`sqlfoundry.bench`).

- ``ex`` (and ``em`` when the dataset has a tables.json): the official
  semantics of the dataset's mode; ``ex_squrve``: Squrve's looser match, named
  apart; ``oracle``: pass@k and best-of-k over ``candidates``, apart from EX;
- ``reduce``: recall / precision of the ``schema_subset`` against the gold
  SQL's references, and the reduction rate; ``parse``: the same for
  ``schema_links``, plus value recall (:mod:`sqlfoundry.bench.schema_metrics`);
- always: the cost per question (LLM calls, prompt and completion tokens, cache
  hits, LLM wait p50 / p95) and the errors (records with an error, records with
  no prediction, by stage and kind).

A record without gold SQL is not scored (and counted as such).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlfoundry.bench.evaluate import evaluate
from sqlfoundry.bench.execution import EvalItem
from sqlfoundry.bench.schema_metrics import SchemaItem, link_scores, normalise_value, subset_scores
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.calls import USAGE_KEYS


def default_metrics(outputs: set[str]) -> list[str]:
    """What to score a task by when its config does not say: everything it writes."""
    metrics = []
    if "pred_sql" in outputs:
        metrics += ["ex", "em"]
    if "candidates" in outputs:
        metrics.append("oracle")
    if "schema_subset" in outputs:
        metrics.append("reduce")
    if "schema_links" in outputs:
        metrics.append("parse")
    return metrics


def score(
    records: Sequence[Sample], dataset: Any, metrics: Sequence[str], *,
    workers: int | None = None, timeout: float = 30.0,
) -> dict[str, Any]:  # fmt: skip
    """The report entry of one task (see the module doc)."""
    gold = [r for r in records if (r.sql or "").strip()]
    out: dict[str, Any] = {"count": len(records), "scored": len(gold)}
    execution = [m for m in metrics if m in ("ex", "em", "ex_squrve", "oracle")]
    if gold and execution:
        out.update(_execution(gold, dataset, execution, workers, timeout))
    if gold and "reduce" in metrics:
        out["reduce"] = subset_scores(_schema_items(gold, dataset, "subset"), dataset.dialect)
    if gold and "parse" in metrics:
        out["parse"] = link_scores(_schema_items(gold, dataset, "links"), dataset.dialect)
    out["cost"] = cost(records)
    out["errors"] = error_counts(records)
    return out


def _execution(records: Sequence[Sample], dataset: Any, metrics: Sequence[str],
               workers: int | None, timeout: float) -> dict[str, Any]:  # fmt: skip
    items = [
        EvalItem(index=i, db_id=r.db_id, gold=r.sql or "", pred=r.pred_sql or "",
                 hardness=r.hardness, difficulty=r.difficulty,
                 candidates=list(r.candidates) if "oracle" in metrics else [],
                 gold_alternatives=r.meta.get("gold_alternatives") or [])
        for i, r in enumerate(records)
    ]  # fmt: skip
    wanted = ["ex"]
    if "em" in metrics and dataset.tables_json is not None and dataset.tables_json.is_file():
        wanted.append("em")
    if "ex_squrve" in metrics:
        wanted.append("ex_squrve")
    run = evaluate(items, dataset.manager, mode=dataset.mode, metrics=wanted,
                   dialect=dataset.dialect, workers=workers, timeout=timeout,
                   tables_json=dataset.tables_json, name=dataset.name)  # fmt: skip
    report = run.report
    out: dict[str, Any] = {k: report[k] for k in ("ex", "em", "ex_squrve") if k in report}
    out["mode"] = report["mode"]
    out["by_difficulty"] = report["by_difficulty"]
    if "oracle" in report:
        out["oracle"] = report["oracle"]
    out["verdicts"] = [v.to_dict() for v in run.verdicts]
    return out


def _schema_items(records: Sequence[Sample], dataset: Any, what: str) -> list[SchemaItem]:
    items = []
    for record in records:
        try:
            schema = dataset.manager.schema(record.db_id, sample_values=0)
        except SqlfoundryError:
            continue
        columns_of = {t.name.lower(): [c.name.lower() for c in t.columns] for t in schema.tables}
        tables: set[str] = set()
        columns: set[tuple[str, str]] = set()
        values: set[str] | None = None
        if what == "subset" and record.schema_subset is not None:
            for table, cols in record.schema_subset.items():
                key = table.lower()
                tables.add(key)
                for column in cols or columns_of.get(key, []):
                    columns.add((key, column.lower()))
        elif what == "links" and record.schema_links is not None:
            links = record.schema_links
            tables = {str(t).lower() for t in links.get("tables") or ()}
            for name in links.get("columns") or ():
                table, _, column = str(name).lower().rpartition(".")
                columns.add((table, column))
                tables.add(table)
            values = {normalise_value(v) for v in links.get("values") or ()}
        else:
            continue  # the stage failed on this record: nothing to score
        items.append(SchemaItem(record.sql or "", columns_of, tables, columns, values))
    return items


def cost(records: Sequence[Sample]) -> dict[str, Any]:
    """Per question: LLM calls, tokens, cache hits; LLM wait p50 / p95; and totals."""
    totals = dict.fromkeys(USAGE_KEYS, 0.0)
    waits = []
    by_stage: dict[str, dict[str, float]] = {}
    for record in records:
        wait = 0.0
        for stage, counts in (record.meta.get("usage") or {}).items():
            entry = by_stage.setdefault(stage, dict.fromkeys(USAGE_KEYS, 0.0))
            for key in USAGE_KEYS:
                entry[key] += counts.get(key, 0)
                totals[key] += counts.get(key, 0)
            wait += counts.get("seconds", 0.0)
        waits.append(wait)
    n = max(len(records), 1)
    return {
        "calls_per_question": round(totals["calls"] / n, 3),
        "prompt_tokens_per_question": round(totals["prompt_tokens"] / n, 1),
        "completion_tokens_per_question": round(totals["completion_tokens"] / n, 1),
        "cache_hits": int(totals["cache_hits"]),
        "llm_wait_p50_s": round(_percentile(waits, 0.5), 4),
        "llm_wait_p95_s": round(_percentile(waits, 0.95), 4),
        "totals": {k: (round(v, 3) if k == "seconds" else int(v)) for k, v in totals.items()},
        "by_stage": {
            s: {k: (round(v, 3) if k == "seconds" else int(v)) for k, v in c.items()}
            for s, c in by_stage.items()
        },  # fmt: skip
    }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, int(q * 100) - 1)]


def error_counts(records: Sequence[Sample]) -> dict[str, Any]:
    """Records with an error, records with no prediction, and errors by stage and kind."""
    by = Counter()
    with_errors = 0
    for record in records:
        errors = record.meta.get("errors") or []
        with_errors += bool(errors)
        for e in errors:
            by[f"{e.get('stage')}/{e.get('kind')}"] += 1
    return {
        "records_with_errors": with_errors,
        "without_prediction": sum(1 for r in records if not (r.pred_sql or "").strip()),
        "by_stage": dict(sorted(by.items())),
    }
