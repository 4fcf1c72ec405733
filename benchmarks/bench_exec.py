"""Batch execution: the 972 runnable Spider dev gold queries through SafeExecutor.

Compares, in the same run:
- raw sequential sqlite3 (one connection per database, fetchall);
- our batch API with 2 workers, cold (pool start-up included) and warm (pool reused).
Then checks timeouts: a never-ending query inside a batch must stop within
timeout + 0.2 s and hold up the rest of the batch by no more than that.
"""

from __future__ import annotations

import sqlite3
import time

from _common import SPIDER, machine, need, spider_dev_gold, timed

from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def raw_sequential(jobs, files) -> None:
    conns: dict[str, sqlite3.Connection] = {}
    for sql, db_id in jobs:
        conn = conns.get(db_id)
        if conn is None:
            conn = conns[db_id] = sqlite3.connect(f"file:{files[db_id]}?mode=ro", uri=True)
            conn.text_factory = lambda b: b.decode(errors="replace")
        conn.execute(sql).fetchall()
    for conn in conns.values():
        conn.close()


def main() -> None:
    jobs = spider_dev_gold()
    manager = DatabaseManager(need(SPIDER / "database"))
    files = {d: manager.spec(d).path for d in {db for _, db in jobs}}
    print(f"machine: {machine()}")
    print(f"jobs: {len(jobs)} on {len(files)} databases")

    raw, _ = timed(lambda: raw_sequential(jobs, files), repeat=5)

    def cold() -> None:
        with SafeExecutor(manager, workers=2, timeout=30) as ex:
            results = ex.run(jobs)
        assert all(r.ok for r in results), [r for r in results if not r.ok][:3]

    cold_s, _ = timed(cold, repeat=5)
    with SafeExecutor(manager, workers=2, timeout=30) as ex:
        ex.run(jobs)
        warm_s, _ = timed(lambda: ex.run(jobs), repeat=5)

    print(f"raw sequential sqlite3     median {raw:.3f} s")
    print(
        f"batch, 2 workers, cold     median {cold_s:.3f} s  ({cold_s / raw:.1f}x raw)  target < 0.5 s"
    )
    print(
        f"batch, 2 workers, warm     median {warm_s:.3f} s  ({warm_s / raw:.1f}x raw)  target < 5x"
    )

    # Timeouts: the same batch with one never-ending query at the front.
    timeout = 1.0
    with SafeExecutor(manager, workers=2, timeout=timeout) as ex:
        ex.run(jobs)
        base, _ = timed(lambda: ex.run(jobs), repeat=3)
        slow_jobs = [(FOREVER, "concert_singer"), *jobs]
        start = time.perf_counter()
        results = ex.run(slow_jobs)
        with_slow = time.perf_counter() - start
    stopped = results[0]
    assert stopped.status == "timeout", stopped
    print(
        f"timeout {timeout:g} s: stopped after {stopped.elapsed_ms / 1000:.3f} s "
        f"(over by {stopped.elapsed_ms / 1000 - timeout:.3f} s, target <= 0.2 s)"
    )
    extra = with_slow - base
    print(
        f"batch with the slow query {with_slow:.3f} s vs {base:.3f} s without: held up "
        f"{extra:.3f} s (target <= timeout + 0.2 = {timeout + 0.2:.1f} s)"
    )


if __name__ == "__main__":
    main()
