"""Aggregate metrics over item verdicts: accuracy, breakdowns, oracle metrics, linking."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from math import comb, sqrt
from typing import Any

from sqlfoundry.bench.execution import ItemVerdict

HARDNESS_ORDER = ("easy", "medium", "hard", "extra")
BIRD_ORDER = ("simple", "moderate", "challenging")


def share(hits: int, total: int) -> float:
    """``hits / total`` rounded to 4 places; 0.0 when there is nothing to count."""
    return round(hits / total, 4) if total else 0.0


def breakdown(verdicts: Sequence[ItemVerdict], key: str, metrics: Iterable[str]) -> dict[str, Any]:
    """Count and accuracy of each metric per value of ``key`` (hardness, difficulty, db_id)."""
    groups: dict[str, list[ItemVerdict]] = defaultdict(list)
    for v in verdicts:
        groups[str(getattr(v, key) or "unknown")].append(v)
    order = {k: i for i, k in enumerate((*HARDNESS_ORDER, *BIRD_ORDER))}
    out = {}
    for name in sorted(groups, key=lambda k: (order.get(k, len(order)), k)):
        members = groups[name]
        row: dict[str, Any] = {"count": len(members)}
        for metric in metrics:
            row[metric] = share(sum(bool(getattr(v, metric)) for v in members), len(members))
        out[name] = row
    return out


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from n samples of which c are correct."""
    if k > n:
        k = n
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def oracle_metrics(verdicts: Sequence[ItemVerdict]) -> dict[str, Any] | None:
    """pass@k and best-of-k over candidates. These are oracle metrics, not EX."""
    with_candidates = [v for v in verdicts if v.candidates_correct]
    if not with_candidates:
        return None
    n = min(len(v.candidates_correct) for v in with_candidates)
    ks = sorted({k for k in (1, 2, 4, 8, 16, n) if k <= n})
    total = len(verdicts)
    out: dict[str, Any] = {
        "note": "oracle metrics: an item counts if any of its k candidates is right; not EX",
        "items_with_candidates": len(with_candidates),
        "candidates_per_item": n,
    }
    for k in ks:
        # Items without candidates count as misses: the denominator never shrinks.
        out[f"pass@{k}"] = round(
            sum(pass_at_k(len(v.candidates_correct), sum(v.candidates_correct), k)
                for v in with_candidates) / total, 4
        )  # fmt: skip
    out[f"oracle_best_of_{n}"] = share(sum(any(v.candidates_correct) for v in verdicts), total)
    return out


def ves_scores(verdicts: Sequence[ItemVerdict]) -> dict[str, float]:
    """BIRD's VES (mean of sqrt(time ratio) x 100) and mini-dev's reward-based R-VES."""
    total = len(verdicts)
    if not total:
        return {"ves": 0.0, "r_ves": 0.0}
    ves = sum(sqrt(v.ves_ratio) * 100 for v in verdicts if v.ex and v.ves_ratio) / total
    r_ves = sum(sqrt(reward(v.ves_ratio if v.ex else 0.0)) * 100 for v in verdicts) / total
    return {"ves": round(ves, 2), "r_ves": round(r_ves, 2)}


def reward(ratio: float | None) -> float:
    """BIRD mini-dev's reward for a time ratio (gold time / predicted time)."""
    if not ratio:
        return 0.0
    if ratio >= 2:
        return 1.25
    if ratio >= 1:
        return 1.0
    if ratio >= 0.5:
        return 0.75
    if ratio >= 0.25:
        return 0.5
    return 0.25


def linking_scores(
    pairs: Iterable[tuple[set, set]],
) -> dict[str, float]:
    """Micro recall and precision of predicted against gold sets, plus exact-set share."""
    tp = fp = fn = exact = count = 0
    for gold, pred in pairs:
        tp += len(gold & pred)
        fp += len(pred - gold)
        fn += len(gold - pred)
        exact += gold == pred
        count += 1
    return {
        "recall": share(tp, tp + fn),
        "precision": share(tp, tp + fp),
        "exact": share(exact, count),
        "count": count,
    }
