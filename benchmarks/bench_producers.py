"""Pairs per second through SchemaSynthesizer -> DepthEvolver -> BreadthEvolver -> validate -> dedupe.

Two runs of the same chain on the three demo databases (``count`` pairs per
complexity, the four complexities, one depth evolution and two paraphrases
per pair, every pair's SQL run at the end, exact de-duplication):

* LLM engine: a fake OpenAI-compatible endpoint in its own process
  (``tests/llm/fake_openai.py`` with the pair producers' scripted model,
  ``tests/synth/producer_fakes.py``) answers every request after 100 ms; the
  client has ``max_concurrency`` 32 and its cache off. The endpoint logs when
  each request arrived, so the mean number of requests in flight is measured
  over the whole run and per prompt kind, against the configured 32.
* offline engine: no model; the sampler, the depth rules and the realiser.

Run it from the repo root or this folder; the demo databases are built if missing.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import REPO, demo_dbs, machine

from sqlfoundry.llm import LLMConfig
from sqlfoundry.synth.producers import (
    COMPLEXITIES,
    BreadthEvolver,
    ChainedProducer,
    DeduplicatedProducer,
    DepthEvolver,
    PairDatabase,
    SchemaSynthesizer,
    ValidatedProducer,
)

LATENCY = 0.1
CONCURRENCY = 32
COUNT = 10
DATABASES = ("airline", "bookshop", "clinic")
REPEATS = 3

SERVER = r"""
import json, sys, time
sys.path[:0] = [sys.argv[1] + "/llm", sys.argv[1] + "/synth"]
from fake_openai import FakeOpenAI
from producer_fakes import PairModel

log = open(sys.argv[2], "w", buffering=1)
model = PairModel()

def handler(request):
    if request.path == "/v1/chat/completions":
        kind = model.kind_of((request.body or {}).get("messages", []))
        log.write(json.dumps({"kind": kind, "t": time.time()}) + "\n")
    return model.handler(request)

server = FakeOpenAI(latency=float(sys.argv[3]), record=False)
server.handler = handler
server.start()
print(f"PORT {server.port}", flush=True)
while True:
    time.sleep(3600)
"""


def chain(db: PairDatabase) -> DeduplicatedProducer:
    synthesizers = [SchemaSynthesizer(db.using(d), COUNT, COMPLEXITIES) for d in DATABASES]
    evolved = BreadthEvolver(DepthEvolver(ChainedProducer(*synthesizers), db=db), 2, db=db)
    return DeduplicatedProducer(ValidatedProducer(evolved, db, execute=True), strategy="exact")


async def one_run(root: Path, llm: LLMConfig | None) -> tuple[float, int, int, list[dict]]:
    async with PairDatabase.open(root, llm=llm, seed=0) as db:
        producer = chain(db)
        start = time.perf_counter()
        pairs = await producer.to_pairs()
        seconds = time.perf_counter() - start
    ok = sum(p.success for p in pairs)
    return seconds, ok, len(pairs), producer.report()


def report(rows: list[dict]) -> None:
    for row in rows:
        counts = {k: v for k, v in row.items() if k != "producer"}
        print(f"  {row['producer']:<20} {json.dumps(counts)}")


def in_flight(times: list[float]) -> tuple[float, float]:
    """Mean requests in flight over the window from the first request to the end of the
    last, and that window, for requests that each take LATENCY."""
    window = max(times) + LATENCY - min(times)
    return len(times) * LATENCY / window, window


def main() -> None:
    demo = demo_dbs()
    print(f"machine: {machine()}")
    print(f"chain: {len(DATABASES)} databases x {len(COMPLEXITIES)} complexities x {COUNT} pairs"
          " -> depth 1 -> breadth 2 -> validate (run) -> dedupe exact")  # fmt: skip

    offline = [asyncio.run(one_run(demo, None)) for _ in range(REPEATS)]
    seconds = statistics.median(r[0] for r in offline)
    ok = offline[0][1]
    print(f"\noffline engine: {ok} pairs in {seconds:.2f} s (median of {REPEATS}): "
          f"{ok / seconds:.1f} pairs/s")  # fmt: skip
    report(offline[0][3])

    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "requests.jsonl"
        script = Path(tmp) / "server.py"
        script.write_text(SERVER)
        server = subprocess.Popen([sys.executable, str(script), str(REPO / "tests"), str(log_path),
                                   str(LATENCY)], stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            port = int(server.stdout.readline().split()[1])
            config = LLMConfig(base_url=f"http://127.0.0.1:{port}/v1", model="fake-model",
                               max_concurrency=CONCURRENCY, cache="off", timeout=30)  # fmt: skip
            runs, seen = [], 0
            for _ in range(REPEATS):
                result = asyncio.run(one_run(demo, config))
                logged = log_path.read_text().splitlines()
                runs.append((result, [json.loads(x) for x in logged[seen:]]))
                seen = len(logged)
        finally:
            server.kill()
    median = sorted(runs, key=lambda r: r[0][0])[REPEATS // 2]
    (seconds, ok, total, stats), requests = median
    times = [r["t"] for r in requests]
    mean, window = in_flight(times)
    print(f"\nLLM engine, {LATENCY * 1000:.0f} ms latency, max_concurrency {CONCURRENCY}: {ok} pairs "
          f"({total - ok} unsuccessful kept) in {seconds:.2f} s (median of {REPEATS}): "
          f"{ok / seconds:.1f} pairs/s")  # fmt: skip
    ideal = len(requests) * LATENCY / CONCURRENCY
    print(f"{len(requests)} requests; ideal at full concurrency {ideal:.2f} s; mean in flight "
          f"{mean:.1f} ({mean / CONCURRENCY:.0%} of {CONCURRENCY}) over {window:.2f} s")  # fmt: skip
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in requests:
        by_kind[r["kind"]].append(r["t"])
    print(f"\n{'prompt':<24} {'requests':>8} {'window s':>9} {'mean in flight':>15}")
    for kind, kind_times in sorted(by_kind.items(), key=lambda kv: min(kv[1])):
        kind_mean, kind_window = in_flight(kind_times)
        print(f"{kind:<24} {len(kind_times):>8} {kind_window:>9.2f} {kind_mean:>15.1f}")
    report(stats)


if __name__ == "__main__":
    main()
