"""Offline synthesis at scale: the real ``sqlfoundry synth`` command on every Spider database.

Runs ``sqlfoundry synth --db-root spider/database --num-per-db 100`` (offline
engine, 2 SQL workers) into a fresh run directory and reports, from that run:

- verified samples per second (records in data.jsonl / wall time of the command,
  start-up included; target >= 100/s on 2 cores);
- the share of generated SQL that executes with non-empty results before
  filtering (the execution filter's input vs what it keeps, plus empty results,
  measured by re-running the generator's output; target >= 90%);
- distinct SQL skeletons per sample (target >= 0.6);
- the difficulty mix (target: each level >= 10%);
- peak memory of the command and its workers (target < 1 GiB);
- 20 random samples, for a reader to judge the questions.

``--num-per-db`` and ``--limit-dbs`` make a quicker run. ``--sizes 30,100,300`` runs
the command once per queries-per-database instead and prints, for each size, the
records, samples/s, CPU time against wall time (the workers included: 2x is both cores
busy), peak PSS of the command and its workers, and the load average: peak memory must
stay flat (<= 400 MiB) whatever the size.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import SPIDER, cpu_seconds, load, machine, need

CLI = Path(sys.executable).with_name("sqlfoundry")


def run_measuring_memory(cmd: list[str]) -> tuple[float, float, float]:
    """Run ``cmd``; return (wall seconds, peak MiB of the command and its workers together,
    as proportional set size, CPU seconds of the command and its workers)."""
    import psutil

    cpu_start = cpu_seconds()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = biggest = 0
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            # PSS: pages shared by forked workers are counted once, split among them.
            procs = [watched, *watched.children(recursive=True)]
            infos = [p.memory_full_info() for p in procs]
            peak = max(peak, sum(i.pss for i in infos))
            biggest = max(biggest, max(i.rss for i in infos))
        except psutil.Error:
            pass
        time.sleep(0.1)
    print(f"largest single process RSS: {biggest / 2**20:.0f} MiB")
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"synth failed:\n{proc.stderr.read().decode()[-3000:]}")
    return wall, peak / 2**20, cpu_seconds() - cpu_start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-per-db", type=int, default=100)
    parser.add_argument("--limit-dbs", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directory here")
    parser.add_argument("--sizes", default="", help="e.g. 30,100,300: one run per size")
    args = parser.parse_args()
    root = need(SPIDER / "database")
    print(f"machine: {machine()}")
    if args.sizes:
        sizes_table(root, [int(n) for n in args.sizes.split(",")], args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.keep or Path(tmp) / "run"
        wall, peak, cpu = run_measuring_memory(_command(root, args.num_per_db, run_dir, args))
        summary = json.loads((run_dir / "summary.json").read_text())
        data = [json.loads(x) for x in (run_dir / "data.jsonl").read_text().splitlines()]
        generated_sql = _generated(run_dir)

    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.db.pool import SafeExecutor
    from sqlfoundry.sql.skeleton import skeleton

    # Before filtering: every generated query, run again here.
    with SafeExecutor(DatabaseManager(root=root), workers=args.workers, timeout=30) as ex:
        results = ex.run([(s["sql"], s["db_id"]) for s in generated_sql])
    non_empty = sum(1 for r in results if r.ok and r.rows)
    skeletons = len({skeleton(r["SQL"]) for r in data})
    levels = Counter(r["sql_component_difficulty"] for r in data)
    steps = {s["operator"]: s for s in summary["steps"]}

    n = len(data)
    rows = [
        ("databases", f"{summary['databases']}", ""),
        ("SQL generated", f"{len(generated_sql)}", ""),
        ("verified samples", f"{n}", ""),
        ("wall time (whole command)", f"{wall:.1f} s", ""),
        ("verified samples / s", f"{n / wall:.1f}", ">= 350 (both cores)"),
        ("CPU time (command + workers)", f"{cpu:.1f} s = {cpu / wall:.2f}x wall", "-> 2x wall"),
        ("load average at the end", load(), ""),
        ("non-empty before filtering", f"{non_empty / max(1, len(results)):.1%}", ">= 90%"),
        ("distinct skeletons / sample", f"{skeletons / max(1, n):.3f}", ">= 0.6"),
        *[
            (f"level {k}", f"{levels[k] / max(1, n):.1%}", ">= 10%")
            for k in ("easy", "medium", "hard", "extra")
        ],  # fmt: skip
        ("peak PSS (command + workers)", f"{peak:.0f} MiB", "<= 400 MiB at any size"),
    ]
    print(f"\n{'what':<30} {'measured':>12}  target")
    for what, value, target in rows:
        print(f"{what:<30} {value:>12}  {target}")
    print("\nsteps (seconds):", ", ".join(f"{k} {v['seconds']:.1f}" for k, v in steps.items()))
    print("\n20 random samples:")
    for r in random.Random(0).sample(data, min(20, n)):
        print(f"- [{r['db_id']}, {r['sql_component_difficulty']}] {r['question']}\n  `{r['SQL']}`")


def _command(root: Path, num_per_db: int, run_dir: Path, args: argparse.Namespace) -> list[str]:
    cmd = [str(CLI), "synth", "--db-root", str(root), "--num-per-db", str(num_per_db),
           "--seed", "0", "--workers", str(args.workers), "--out", str(run_dir)]  # fmt: skip
    if args.limit_dbs:
        for db in sorted(p.name for p in root.iterdir() if p.is_dir())[: args.limit_dbs]:
            cmd += ["--db", db]
    return cmd


def sizes_table(root: Path, sizes: list[int], args: argparse.Namespace) -> None:
    """One run per size: records, samples/s, CPU against wall, peak PSS, load."""
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            # --keep: each size's run stays in <keep>/<n>-per-db (to compare outputs with cmp).
            run_dir = args.keep / f"{n}-per-db" if args.keep else Path(tmp) / "run"
            before = load()
            wall, peak, cpu = run_measuring_memory(_command(root, n, run_dir, args))
            records = sum(1 for _ in (run_dir / "data.jsonl").open())
        rows.append((n, records, wall, cpu, peak, f"{before} -> {load()}"))
        print(f"{n}/db: {records} records, {wall:.1f} s, {records / wall:.1f}/s, "
              f"CPU {cpu / wall:.2f}x wall ({1000 * cpu / records:.2f} ms a record), "
              f"peak PSS {peak:.0f} MiB", flush=True)  # fmt: skip
    print(f"\n{'per db':>6} {'records':>8} {'wall s':>7} {'samples/s':>9} {'CPU/wall':>8} "
          f"{'CPU ms/rec':>10} {'peak PSS':>9}  load average")  # fmt: skip
    for n, records, wall, cpu, peak, loads in rows:
        print(f"{n:>6} {records:>8} {wall:>7.1f} {records / wall:>9.1f} {cpu / wall:>7.2f}x "
              f"{1000 * cpu / records:>10.2f} {peak:>5.0f} MiB  {loads}")  # fmt: skip


def _generated(run_dir: Path) -> list[dict]:
    """The generator step's output: every SQL it wrote, before any filter."""
    step = next(p for p in sorted((run_dir / "steps").iterdir()) if "-sql_generator-" in p.name)
    out = []
    for batch in sorted(step.glob("batch-*.jsonl")):
        out.extend(json.loads(x) for x in batch.read_text().splitlines() if x)
    return out


if __name__ == "__main__":
    main()
