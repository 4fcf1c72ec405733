"""The offline retrieval method (``sqlfoundry.methods.retrieval``) on Spider dev.

The method sees only each question and its db_id; the gold SQL is read by the
evaluation harness alone (``sqlfoundry.bench``: ``load("spider:dev")`` and
``evaluate`` in Spider mode, the test-suite ``eval_exec_match`` semantics).
Reports:

- EX over the 1,034 dev questions, and by Spider hardness and database (the 62
  ``wta_1`` questions have no database in the public release, so they count as
  wrong; EX over the other 972 is given too);
- prepare time per database: cold (synthesizing ``--num-per-db`` pairs into a
  fresh cache) and warm (a second method instance loading that cache);
- answer latency p50 / p99 / max.

``--keep-cache DIR`` reuses (and fills) a cache folder instead of a fresh one,
and ``--dump FILE`` writes each question with its prediction and verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import SHARED, machine, need

from sqlfoundry.bench.evaluate import evaluate
from sqlfoundry.bench.execution import EvalItem
from sqlfoundry.bench.registry import BenchRoots, load
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.methods.retrieval import RetrievalMethod


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-per-db", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-cache", type=Path, default=None)
    parser.add_argument("--dump", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()

    base = need(SHARED / "benchmarks")
    need(base / "spider" / "dev.json")
    bench = load("spider:dev", BenchRoots(base=base))
    manager = bench.manager()
    # Only what a user would type reaches the method.
    questions = [(s.question or "", s.db_id) for s in bench.samples]
    db_ids = list(dict.fromkeys(db for _, db in questions))
    print(f"machine: {machine()}")
    print(f"{len(questions)} questions over {len(db_ids)} databases, num_per_db={args.num_per_db}")

    with tempfile.TemporaryDirectory() as tmp:
        cache = args.keep_cache or Path(tmp) / "retrieval"
        cold = RetrievalMethod(manager, cache_dir=cache, num_per_db=args.num_per_db,
                               seed=args.seed)  # fmt: skip
        prepare: dict[str, dict] = {}
        for db_id in db_ids:
            if db_id not in manager:
                prepare[db_id] = {"error": "no database"}
                continue
            info = cold.prepare(db_id)
            prepare[db_id] = {"cold_s": info.seconds, "pairs": info.pairs, "values": info.values,
                              "from_cache": info.from_cache}  # fmt: skip
        warm = RetrievalMethod(manager, cache_dir=cache, num_per_db=args.num_per_db,
                               seed=args.seed)  # fmt: skip
        for db_id, row in prepare.items():
            if "error" not in row:
                info = warm.prepare(db_id)
                assert info.from_cache, db_id
                row["warm_s"] = info.seconds

        predictions: list[str | None] = []
        answers = []
        latencies: list[float] = []
        for question, db_id in questions:
            start = time.perf_counter()
            try:
                ans = warm.answer(question, db_id)
            except SqlfoundryError as err:
                predictions.append(None)
                answers.append({"error": err.message})
                continue
            latencies.append(time.perf_counter() - start)
            predictions.append(ans.sql)
            answers.append({"score": ans.score, "matched": ans.matched_question,
                            "substitutions": ans.substitutions})  # fmt: skip

    items = [
        EvalItem(index=i, db_id=s.db_id, gold=s.sql or "", pred=pred, hardness=s.hardness)
        for i, (s, pred) in enumerate(zip(bench.samples, predictions, strict=True))
    ]
    run = evaluate(items, manager, mode="spider", workers=2, name="spider:dev")
    report = run.report
    runnable = [v for v in run.verdicts if v.db_id in manager]
    ex_runnable = sum(v.ex for v in runnable) / max(1, len(runnable))

    print(f"\nEX, all {report['count']} dev questions: {report['ex']:.3f}")
    print(f"EX, the {len(runnable)} with a database: {ex_runnable:.3f}")
    print("\nby hardness:")
    for level, row in report["by_hardness"].items():
        print(f"  {level:8s} {row['count']:5d}  EX {row['ex']:.3f}")
    print("\nby database (prepare: cold = synthesize + index, warm = load cache + index):")
    for db_id, row in report["by_db"].items():
        p = prepare.get(db_id, {})
        if "error" in p:
            print(f"  {db_id:30s} {row['count']:4d}  EX {row['ex']:.3f}  (no database)")
            continue
        print(f"  {db_id:30s} {row['count']:4d}  EX {row['ex']:.3f}  pairs {p['pairs']:4d}  "
              f"cold {p['cold_s']:.2f} s  warm {p['warm_s']:.2f} s")  # fmt: skip
    cold_times = [p["cold_s"] for p in prepare.values() if "cold_s" in p]
    warm_times = [p["warm_s"] for p in prepare.values() if "warm_s" in p]
    ms = [x * 1000 for x in latencies]
    print(f"\nprepare per database: cold median {statistics.median(cold_times):.2f} s "
          f"(max {max(cold_times):.2f} s, total {sum(cold_times):.1f} s); "
          f"warm median {statistics.median(warm_times):.3f} s")  # fmt: skip
    print(f"answer latency: p50 {percentile(ms, 0.5):.2f} ms, p99 {percentile(ms, 0.99):.2f} ms, "
          f"max {max(ms):.2f} ms over {len(ms)} answers")  # fmt: skip

    if args.json:
        figures = {
            "ex": report["ex"], "ex_runnable": round(ex_runnable, 4), "count": report["count"],
            "by_hardness": report["by_hardness"], "by_db": report["by_db"], "prepare": prepare,
            "latency_ms": {"p50": percentile(ms, 0.5), "p99": percentile(ms, 0.99),
                           "max": max(ms)},
            "num_per_db": args.num_per_db, "seed": args.seed,
        }  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=2))
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as fh:
            for (question, db_id), pred, extra, verdict in zip(
                questions, predictions, answers, run.verdicts, strict=True
            ):
                row = {"db_id": db_id, "question": question, "pred": pred, "ex": verdict.ex,
                       "hardness": verdict.hardness, **extra}  # fmt: skip
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
