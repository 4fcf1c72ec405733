"""Offline SQL sampling on every Spider database: speed, usefulness, variety, levels, memory.

Runs ``sqlfoundry.synth.sampling.sample_database`` (what the ``sql_generator``
operator runs per database) on every folder of ``spider/database`` in a pool
of ``--workers`` processes, ``--num-per-db`` queries each, seed 0, and reports:

- samples per second of the generator alone (pool start-up included), and
  samples per CPU second of the workers, which does not depend on what else
  the machine runs (the load average is printed too);
- the raw share of candidates that return rows, before the sampler's own check
  drops the others (target >= 90%), and the share of candidates kept;
- distinct SQL skeletons per sample (``sqlfoundry.sql.skeleton``; target >= 0.6);
- the mix of Spider hardness levels, recomputed from the SQL text (each >= 10%);
- peak memory of the process and its workers together (target < 1 GiB);
- a recheck: every kept query run again through ``SafeExecutor`` must return rows;
- 20 random samples, for a reader to judge.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from _common import SPIDER, machine, need

from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.sql.hardness import HARDNESS_LEVELS, spider_hardness
from sqlfoundry.sql.skeleton import skeleton
from sqlfoundry.synth.sampling import sample_database


class PeakMemory:
    """Polls the RSS of this process and its children; ``peak`` is in MiB."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self._error = psutil.Error
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                total = self._proc.memory_info().rss + sum(
                    c.memory_info().rss for c in self._proc.children(recursive=True)
                )
                self.peak = max(self.peak, total / 2**20)
            except self._error:
                pass
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-per-db", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit-dbs", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = need(SPIDER / "database")
    manager = DatabaseManager(root)
    db_ids = manager.db_ids()[: args.limit_dbs or None]
    specs = [manager.spec(db) for db in db_ids]
    print(f"machine: {machine()}")
    print(f"databases: {len(db_ids)}, {args.num_per_db} queries each, {args.workers} workers")
    print("load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))

    context = multiprocessing.get_context("fork")
    with PeakMemory() as memory:
        start = time.perf_counter()
        with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
            outcomes = list(pool.map(sample_database, specs, [args.num_per_db] * len(specs),
                                     [f"{args.seed}:sql_generator:{d}" for d in db_ids]))  # fmt: skip
        wall = time.perf_counter() - start

    queries = [(o.db_id, q) for o in outcomes for q in o.queries]
    totals = Counter()
    for o in outcomes:
        totals.update({k: v for k, v in o.stats.to_dict().items() if isinstance(v, int)})
    failed = [(o.db_id, o.error) for o in outcomes if o.error]
    short = [
        (o.db_id, len(o.queries))
        for o in outcomes
        if not o.error and len(o.queries) < args.num_per_db
    ]
    levels = Counter(spider_hardness(q.sql) for _, q in queries)
    mislabelled = sum(spider_hardness(q.sql) != q.hardness for _, q in queries)
    skeletons = {skeleton(q.sql) for _, q in queries}
    slowest = max(outcomes, key=lambda o: o.stats.profile_seconds + o.stats.sample_seconds)

    with SafeExecutor(manager, workers=args.workers, timeout=30) as executor:
        recheck = executor.run([(q.sql, db) for db, q in queries])
    rerun_ok = sum(r.ok and bool(r.rows) for r in recheck)

    n = len(queries)
    executed = totals["executed"]
    cpu = sum(o.stats.cpu_seconds for o in outcomes)
    rows = [
        ("samples", f"{n}", f"from {len(db_ids) - len(failed)} databases ({len(failed)} without usable tables)"),
        ("samples/s (generator alone)", f"{n / wall:.0f}", f"wall {wall:.1f} s; target: several hundred"),
        ("samples per CPU second", f"{n / cpu:.0f}", f"{cpu:.1f} CPU s in the workers (load-independent)"),
        ("raw candidates returning rows", f"{totals['nonempty'] / executed:.1%}",
         f"{totals['nonempty']} of {executed} run; target >= 90%"),
        ("candidates kept", f"{n / executed:.1%}",
         f"errors {totals['errors']}, empty {totals['empty']}, all-NULL {totals['null_only']}, "
         f"timeouts {totals['timeouts']}"),
        ("drawn but not run", f"{totals['drawn'] - executed}",
         f"unbuildable {totals['unbuildable']}, duplicate {totals['duplicates']}, "
         f"level full {totals['level_full']}, repeated skeleton {totals['repeated_skeleton']}"),
        ("distinct skeletons / sample", f"{len(skeletons) / n:.3f}", "target >= 0.6"),
        ("difficulty mix", " ".join(f"{lv} {levels[lv] / n:.1%}" for lv in HARDNESS_LEVELS),
         "target: each >= 10%"),
        ("label = hardness of the text", f"{n - mislabelled}/{n}", ""),
        ("filled from other levels", f"{totals['filled_from_other_levels']}", ""),
        ("recheck through SafeExecutor", f"{rerun_ok}/{n}", "ok with rows"),
        ("peak RSS, all processes", f"{memory.peak:.0f} MiB", "target < 1024 MiB"),
        ("slowest database", f"{slowest.db_id}",
         f"profile {slowest.stats.profile_seconds:.2f} s + sample {slowest.stats.sample_seconds:.2f} s"),
        ("max profile time", f"{max(o.stats.profile_seconds for o in outcomes):.3f} s", ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<34} {note}")
    if short:
        print(f"databases with fewer than {args.num_per_db}: {short}")
    shapes = Counter(q.shape for _, q in queries)
    print("shapes:", ", ".join(f"{s} {c}" for s, c in shapes.most_common()))
    print("\n20 random samples:")
    for db, q in random.Random(args.seed).sample(queries, min(20, n)):
        print(f"  [{db} | {q.hardness}] {q.sql}")


if __name__ == "__main__":
    main()
