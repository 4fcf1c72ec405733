"""LLM synthesis against OpenDCAI DataFlow's Text-to-SQL pipeline, side by side, in the same run.

A stand-in model (``stand_in_model.py``: the fake OpenAI-compatible endpoint
answering both pipelines' prompts alike) runs in its own process and answers
every request after ``--latency`` seconds (200 ms). Then, taking turns in each
of ``--repeat`` rounds, on the three demo databases, ``--num-per-db`` queries each:

- ``sqlfoundry synth --engine llm`` with its default steps and settings,
  ``max_concurrency`` ``--concurrency`` (100), cache off;
- DataFlow's generation pipeline (``peers/dataflow.py``) with ``max_workers``
  ``--concurrency``; skipped, with a message, when its checkout is absent.

For each: kept samples per second (records at the end / wall time, start-up
included), distinct kept samples (DataFlow keeps repeated SQL), requests per kept
sample (from the endpoint's log; a request for ``n`` samples is one request), and
the CPU time of the pipeline's processes. Then, for sqlfoundry's last run, the
requests of each step and the mean number in flight over its window.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import REPO, demo_dbs, load, machine
from peers import dataflow
from peers._peer import FOLDERS, PEERS, PeerMissing

CLI = Path(sys.executable).with_name("sqlfoundry")
HERE = Path(__file__).resolve().parent


def start_model(log: Path, latency: float) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "stand_in_model.py"), str(REPO / "tests" / "llm"), str(log),
         str(latency)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    return server, int(server.stdout.readline().split()[1])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours(folder: Path, port: int, args: argparse.Namespace) -> dict:
    config = folder / "synth.toml"
    config.write_text(
        f'[llm]\nbase_url = "http://127.0.0.1:{port}/v1"\nmodel = "fake-model"\n'
        f'max_concurrency = {args.concurrency}\ncache = "off"\ntimeout = 60\n'
        '[synth]\nembedder = "endpoint"\n'
    )
    run_dir = folder / "run"
    cmd = [str(CLI), "synth", "--db-root", str(demo_dbs()), "--num-per-db", str(args.num_per_db),
           "--engine", "llm", "--config", str(config), "--out", str(run_dir)]  # fmt: skip
    done = subprocess.run(cmd, env={**os.environ, "OPENAI_API_KEY": "x"}, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"synth failed:\n{done.stderr[-3000:]}")
    records = [json.loads(x) for x in (run_dir / "data.jsonl").read_text().splitlines()]
    return {"kept": len(records), "distinct": len({(r["db_id"], r["SQL"]) for r in records})}


def theirs(folder: Path, port: int, args: argparse.Namespace) -> dict:
    cmd = dataflow.command(demo_dbs(), f"http://127.0.0.1:{port}/v1", "fake-model",
                           args.num_per_db, args.concurrency, folder / "dataflow",
                           args.peers / FOLDERS["dataflow"])  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"DataFlow failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(name: str, runner, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log = folder / "requests.jsonl"
        server, port = start_model(log, args.latency)
        try:
            cpu, start = children_cpu(), time.perf_counter()
            result = runner(folder, port, args)
            result["wall"] = time.perf_counter() - start
            result["cpu"] = children_cpu() - cpu
        finally:
            server.kill()
            server.wait()
        result["log"] = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
    result["requests"] = len(result["log"])
    return result


def in_flight(log: list[dict], latency: float, concurrency: int) -> None:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in log:
        by_kind[r["kind"]].append(r["t"])
    # The steps overlap: each kind's window is its own, and the last row is the run's.
    by_kind["all"] = [r["t"] for r in log]
    print(f"\n{'kind':<16} {'requests':>8} {'window s':>9} {'mean in flight':>15} {'of ideal':>9}")
    for kind, times in by_kind.items():
        times.sort()
        window = times[-1] + latency - times[0]
        mean = len(times) * latency / window
        print(f"{kind:<16} {len(times):>8} {window:>9.2f} {mean:>15.1f} {mean / concurrency:>8.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, default=PEERS)
    parser.add_argument("--num-per-db", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"load average before: {load()}")
    runners = {"sqlfoundry synth --engine llm": ours}
    try:
        dataflow.command(demo_dbs(), "", "", 0, 0, Path(), args.peers / FOLDERS["dataflow"])
        runners["DataFlow text2sql_pipeline_gen"] = theirs
    except PeerMissing as missing:
        print(f"skipped: {missing}")
    runs: dict[str, list[dict]] = {name: [] for name in runners}
    for _ in range(args.repeat):
        for name, runner in runners.items():
            runs[name].append(measure(name, runner, args))
    print(f"\n3 demo databases x {args.num_per_db} queries; endpoint {args.latency * 1000:.0f} ms, "
          f"{args.concurrency} concurrent; {args.repeat} rounds taking turns; medians (min-max)")  # fmt: skip
    print(f"{'pipeline':<32} {'kept/s':>18} {'kept':>5} {'distinct':>8} {'requests/kept':>13} "
          f"{'CPU s':>6} {'CPU ms/kept':>11} {'wall s':>6}")  # fmt: skip
    rates = {}
    for name, results in runs.items():
        rate = [r["kept"] / r["wall"] for r in results]
        rates[name] = statistics.median(rate)
        med = {k: statistics.median(r[k] for r in results)
               for k in ("kept", "distinct", "requests", "cpu", "wall")}  # fmt: skip
        cpu_per_kept = statistics.median(1000 * r["cpu"] / max(1, r["kept"]) for r in results)
        print(f"{name:<32} {rates[name]:>6.1f} ({min(rate):.1f}-{max(rate):.1f}) "
              f"{med['kept']:>5.0f} {med['distinct']:>8.0f} "
              f"{med['requests'] / max(1, med['kept']):>13.2f} {med['cpu']:>6.1f} "
              f"{cpu_per_kept:>11.1f} {med['wall']:>6.1f}")  # fmt: skip
    if len(rates) == 2:
        ours_rate, theirs_rate = rates.values()
        print(f"sqlfoundry keeps {ours_rate / theirs_rate:.2f}x as many samples per second")
    in_flight(runs["sqlfoundry synth --engine llm"][-1]["log"], args.latency, args.concurrency)
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
