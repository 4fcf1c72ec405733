"""Text-to-SQL methods through the engine (``sqlfoundry run``): accuracy, overhead, cost.

Three parts, each optional (``--parts accuracy,overhead``):

``accuracy``
    On Spider dev (all 1,034 questions) and Spider-DK (535): the offline method
    (``retrieval``, top 5 kept as candidates) and the execution vote over those
    five (ties to the fastest, Alpha-SQL's rule; and ties to the better ranked),
    scored by the harness in spider mode; oracle best-of-5 apart.
``overhead``
    Every preset over ``--questions`` Spider dev questions against the fake
    endpoint (``tests/methods/fake_methods.py``, answering every prompt kind at
    once, in its own process), LLM cache off. Reported per question: the engine
    process's CPU time while the stages run (``time.process_time``; scoring
    not included), the part of it the LLM client's
    own requests take (measured in the same run: the same number of bare
    ``LLMClient.generate`` calls of the same mean prompt size), and the rest,
    the engine's overhead (target: < 2 ms). A warm-up run on one question per
    database first takes the one-off work (schema introspection, pair synthesis,
    value indexes) out of the figure.
``cost``
    from the same runs: LLM calls, prompt and completion tokens per question
    (the fake counts whitespace-separated words; real tokenizers count about 1.3x).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, SHARED, machine, need

from sqlfoundry.llm import LLMClient, LLMConfig
from sqlfoundry.methods.engine import Engine, read_config

PRESETS: dict[str, dict[str, Any]] = {
    "retrieval": {},
    "zero_shot": {},
    "few_shot": {"pool": "spider-dk", "k": 5},
    "din_sql": {},
    "mac_sql": {},
    "chess": {"selector": "exec_vote"},
    "chess (llm selector)": {},
    "self_consistency": {"n": 5},
}


def run_engine(config: dict[str, Any], run_dir: Path, llm: LLMConfig | None) -> tuple[dict, float]:
    engine = Engine(read_config(config), llm_config=llm)
    engine.prepare()
    start = time.process_time()
    report = engine.run(run_dir)
    return report, time.process_time() - start


def accuracy(base: Path, tmp: Path, cache: Path) -> dict[str, Any]:
    out = {}
    for source in ("spider:dev", "spider-dk"):
        config = {
            "exec_process": ["retrieval", ["vote", "vote_first", "~p"]],
            "dataset": {"source": source},
            "bench": {"root": str(base)},
            "run": {"workers": 2},
            "tasks": [
                {"id": "retrieval", "type": "generate", "method": "retrieval", "candidates": 4,
                 "cache_dir": str(cache), "eval": ["ex", "oracle"]},
                {"id": "vote", "type": "select", "method": "exec_vote", "from": "retrieval",
                 "eval": ["ex"]},
                {"id": "vote_first", "type": "select", "method": "exec_vote", "from": "retrieval",
                 "ties": "first", "eval": ["ex"]},
            ],
        }  # fmt: skip
        wall = time.perf_counter()
        report, _ = run_engine(config, tmp / source.replace(":", "_"), None)
        tasks = report["tasks"]
        out[source] = {
            "questions": tasks["retrieval"]["count"],
            "retrieval_ex": tasks["retrieval"]["ex"],
            "vote_ex": tasks["vote"]["ex"],
            "vote_ties_first_ex": tasks["vote_first"]["ex"],
            "oracle_best_of_5": tasks["retrieval"]["oracle"]["oracle_best_of_5"],
            "by_difficulty": {k: (v["ex"], tasks["vote"]["by_difficulty"][k]["ex"])
                              for k, v in tasks["retrieval"]["by_difficulty"].items()},
            "seconds": round(time.perf_counter() - wall, 1),
        }  # fmt: skip
        print(f"{source}: {out[source]}", flush=True)
    return out


def start_fake(gold: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "methods" / "fake_methods.py"), "--gold", str(gold)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("PORT "):
        process.kill()
        sys.exit(f"the fake endpoint did not start: {line!r}")
    return process, f"http://127.0.0.1:{line.split()[1]}/v1"


def client_cpu_per_call(llm: LLMConfig, words: int, calls: int = 400) -> float:
    """CPU seconds one bare ``generate`` call costs this process (prompt of ``words`` words)."""
    question = "How many singers do we have?"
    messages = [{"role": "user", "content": ("column " * words) + question}]

    async def go() -> float:
        async with LLMClient(llm) as client:
            await client.generate(messages)
            start = time.process_time()
            await asyncio.gather(*(client.generate(messages, seed=i) for i in range(calls)))
            return (time.process_time() - start) / calls

    return asyncio.run(go())


def overhead(base: Path, tmp: Path, cache: Path, count: int) -> dict[str, Any]:
    from sqlfoundry.bench.registry import BenchRoots, load

    bench = load("spider:dev", BenchRoots(base=base))
    samples = [s for s in bench.samples if s.db_id in bench.manager()][:count]
    gold = tmp / "gold.jsonl"
    questions = tmp / "questions.jsonl"
    gold.write_text(
        "".join(json.dumps({"question": s.question, "SQL": s.sql}) + "\n" for s in samples)
    )
    questions.write_text("".join(json.dumps({"id": s.id, "question": s.question, "db_id": s.db_id,
                                             "SQL": s.sql}) + "\n" for s in samples))  # fmt: skip
    warm = tmp / "warm.jsonl"
    firsts = {s.db_id: s for s in samples}
    warm.write_text("".join(json.dumps({"id": f"w-{s.id}", "question": s.question, "db_id": s.db_id,
                                        "SQL": s.sql}) + "\n" for s in firsts.values()))  # fmt: skip
    fake, url = start_fake(gold)
    out: dict[str, Any] = {}
    try:
        llm = LLMConfig(base_url=url, model="fake-model", cache="off", max_concurrency=16,
                        cache_dir=tmp / "llm-cache")  # fmt: skip
        db_root = base / "spider" / "database"
        for name, params in PRESETS.items():
            method = name.split(" ")[0]
            params = dict(params)
            if method in ("retrieval", "few_shot"):
                params["num_per_db"] = 300
            if method == "retrieval":
                params["cache_dir"] = str(cache)
            task = {"id": "t", "type": "generate", "method": method, **params}
            config = {"dataset": {"gold": str(warm), "db_root": str(db_root)}, "tasks": [task],
                      "bench": {"root": str(base)}, "run": {"workers": 2}}  # fmt: skip
            run_engine(config, tmp / f"warm-{name}", llm)
            config["dataset"]["gold"] = str(questions)
            report, _ = run_engine(config, tmp / f"run-{name}", llm)
            entry = report["tasks"]["t"]
            cpu = entry["cpu_seconds"]["stages"]  # the stages, not the scoring
            cost = entry["cost"]
            calls = cost["totals"]["calls"]
            words = int(cost["totals"]["prompt_tokens"] / calls) if calls else 0
            per_call = client_cpu_per_call(llm, words) if calls else 0.0
            n = entry["count"]
            out[name] = {
                "questions": n,
                "cpu_ms_per_question": round(cpu / n * 1000, 2),
                "llm_client_ms_per_question": round(per_call * calls / n * 1000, 2),
                "engine_ms_per_question": round((cpu - per_call * calls) / n * 1000, 2),
                "calls_per_question": cost["calls_per_question"],
                "prompt_tokens_per_question": cost["prompt_tokens_per_question"],
                "completion_tokens_per_question": cost["completion_tokens_per_question"],
                "ex_with_gold_answers": entry.get("ex"),
                "errors": entry["errors"]["records_with_errors"],
            }
            print(f"{name}: {out[name]}", flush=True)
    finally:
        fake.kill()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", default="accuracy,overhead")
    parser.add_argument(
        "--questions", type=int, default=200, help="questions per preset (overhead)"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="keep the offline method's pairs here"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    base = need(SHARED / "benchmarks")
    need(base / "spider" / "dev.json")
    parts = set(args.parts.split(","))
    print(f"machine: {machine()}; load average {os.getloadavg()}", flush=True)
    figures: dict[str, Any] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        cache = args.cache or tmp / "retrieval"
        os.environ.setdefault("SQLFOUNDRY_CACHE_DIR", str(tmp / "cache"))
        os.environ["SQLFOUNDRY_BENCH_ROOT"] = str(base)  # the few-shot pool is a benchmark
        if "accuracy" in parts:
            figures["accuracy"] = accuracy(base, tmp, cache)
        if "overhead" in parts:
            figures["overhead"] = overhead(base, tmp, cache, args.questions)
    figures["load_average_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
