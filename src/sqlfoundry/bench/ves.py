"""BIRD's valid efficiency score: repeated timing of gold and prediction.

For each correct item, gold and prediction run alternately ``iterations``
times (BIRD uses 100); each round gives gold time / prediction time; rounds
outside mean ± 3 standard deviations are dropped and the rest averaged. Runs
are sequential in this process, so the two queries never compete for a core.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

from sqlfoundry.bench.execution import ItemVerdict
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.db.base import Database
from sqlfoundry.db.manager import DatabaseManager


def clean_outliers(values: Sequence[float]) -> list[float]:
    """Keep the values strictly within mean ± 3 population standard deviations."""
    if not values:
        return []
    mean = statistics.fmean(values)
    spread = statistics.pstdev(values)
    return [v for v in values if mean - 3 * spread < v < mean + 3 * spread]


def _time(db: Database, sql: str, timeout: float) -> float:
    start = time.perf_counter()
    db._run(sql, timeout, None)
    return time.perf_counter() - start


def measure_time_ratios(
    verdicts: Sequence[ItemVerdict],
    manager: DatabaseManager,
    *,
    iterations: int = 100,
    timeout: float = 30.0,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Fill ``ves_ratio`` of every correct verdict; wrong ones keep None (they score 0)."""
    open_dbs: dict[str, Database] = {}
    try:
        for v in verdicts:
            if v.ex and v.pred_sql:
                try:
                    db = open_dbs.get(v.db_id) or open_dbs.setdefault(
                        v.db_id, manager.open(v.db_id)
                    )
                    ratios = []
                    for _ in range(iterations):
                        pred_time = _time(db, v.pred_sql, timeout)
                        gold_time = _time(db, v.gold_sql, timeout)
                        ratios.append(gold_time / pred_time if pred_time > 0 else 0.0)
                    kept = clean_outliers(ratios) or ratios
                    v.ves_ratio = sum(kept) / len(kept)
                except SqlfoundryError as err:
                    # A query that ran once but fails when timed scores 0, as in BIRD.
                    v.ves_ratio = 0.0
                    v.error = v.error or f"timing failed: {err.message}"
            if progress:
                progress(1)
    finally:
        for db in open_dbs.values():
            db.close()
