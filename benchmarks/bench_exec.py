"""``sqlfoundry exec`` against a plain sqlite3 loop, side by side, in the same run.

The 972 runnable Spider dev gold queries (19 databases), in three commands that
take turns in each of ``--repeat`` rounds (start-up included in all):
- the floor: ``python`` running a plain sqlite3 loop (one read-only connection per
  database, ``fetchall``, nothing guarded, nothing written);
- ``sqlfoundry exec`` with its defaults (every core);
- ``sqlfoundry exec --workers 0`` (this process only).
Then, in this process, the library (``SafeExecutor.run``) against the same loop,
and the timeout checks: a never-ending query inside a batch must stop within
timeout + 0.2 s and hold up the rest of the batch by no more than that (medians of 3).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SPIDER, load, machine, need, side_by_side, spider_dev_gold, spread, timed

from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor

CLI = Path(sys.executable).with_name("sqlfoundry")
FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"

# The floor, as its own process: what any tool has to pay to run these queries.
FLOOR = r"""
import sqlite3, sys
from pathlib import Path
root = Path(sys.argv[2])
conns = {}
for line in open(sys.argv[1]):
    sql, db_id = line.rstrip("\n").rsplit("\t", 1)
    conn = conns.get(db_id)
    if conn is None:
        path = root / db_id / f"{db_id}.sqlite"
        conn = conns[db_id] = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.text_factory = lambda b: b.decode(errors="replace")
    conn.execute(sql).fetchall()
"""


def raw_sequential(jobs, files) -> None:
    import sqlite3

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    gold = need(SPIDER / "dev_without_wta_1_gold.sql")
    root = SPIDER / "database"
    jobs = spider_dev_gold()
    manager = DatabaseManager(need(root))
    files = {d: manager.spec(d).path for d in {db for _, db in jobs}}
    print(f"machine: {machine()}")
    print(f"load average before: {load()}")
    print(f"jobs: {len(jobs)} on {len(files)} databases")

    with tempfile.TemporaryDirectory() as tmp:
        floor = Path(tmp) / "floor.py"
        floor.write_text(FLOOR)
        out = Path(tmp) / "out.jsonl"

        def command(*extra: str) -> None:
            subprocess.run([str(CLI), "exec", str(gold), str(out), "--db-root", str(root), *extra],
                           check=True, capture_output=True)  # fmt: skip

        cpu: dict[str, list[float]] = {}
        runs = side_by_side({
            "plain sqlite3 loop (floor)": lambda: subprocess.run(
                [sys.executable, str(floor), str(gold), str(root)], check=True),
            "sqlfoundry exec": command,
            "sqlfoundry exec --workers 0": lambda: command("--workers", "0"),
        }, args.repeat, cpu)  # fmt: skip
    base = statistics.median(runs["plain sqlite3 loop (floor)"])
    cpu_base = statistics.median(cpu["plain sqlite3 loop (floor)"])
    print(f"\nthe whole command, {args.repeat} rounds taking turns; wall, then CPU (user + system)")
    for name, times in runs.items():
        used = statistics.median(cpu[name])
        print(f"{name:<30} {spread(times):<36} {statistics.median(times) / base:.2f}x the floor"
              f" · CPU {used:.3f} s, {used / cpu_base:.2f}x")  # fmt: skip

    raw, _ = timed(lambda: raw_sequential(jobs, files), repeat=5)

    def cold() -> None:
        with SafeExecutor(manager, timeout=30) as ex:
            results = ex.run(jobs)
        assert all(r.ok for r in results), [r for r in results if not r.ok][:3]

    cold_s, _ = timed(cold, repeat=5)
    with SafeExecutor(manager, timeout=30) as ex:
        ex.run(jobs)
        warm_s, _ = timed(lambda: ex.run(jobs), repeat=5)
    print("\nthe library, in this process")
    print(f"raw sequential sqlite3          median {raw:.3f} s")
    print(f"SafeExecutor.run, new executor  median {cold_s:.3f} s  ({cold_s / raw:.2f}x raw)")
    print(f"SafeExecutor.run, reused        median {warm_s:.3f} s  ({warm_s / raw:.2f}x raw)")

    # Timeouts: the same batch with one never-ending query at the front, on 2 workers;
    # 3 rounds, each the batch without it then with it (the first round starts the pool).
    timeout = 1.0
    slow_jobs = [(FOREVER, "concert_singer"), *jobs]
    without, with_slow, stopped = [], [], []
    with SafeExecutor(manager, workers=2, timeout=timeout) as ex:
        ex.run(jobs)
        for _ in range(3):
            without.append(timed(lambda: ex.run(jobs), repeat=1)[0])
            start = time.perf_counter()
            results = ex.run(slow_jobs)
            with_slow.append(time.perf_counter() - start)
            assert results[0].status == "timeout", results[0]
            stopped.append(results[0].elapsed_ms / 1000)
    over = statistics.median(stopped) - timeout
    print(f"\ntimeout {timeout:g} s: stopped after {spread(stopped)} "
          f"(over by {over:.3f} s, target <= 0.2 s)")  # fmt: skip
    extra = statistics.median(with_slow) - statistics.median(without)
    print(f"batch with the slow query {spread(with_slow)} vs {spread(without)} without: "
          f"held up {extra:.3f} s (target <= timeout + 0.2 = {timeout + 0.2:.1f} s)")  # fmt: skip
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
