"""SQL-o1's tree search: what a question costs, and whether the endpoint stays busy.

A fake OpenAI-compatible endpoint (``tests/llm/fake_openai.py``) runs in its own
process as a stand-in model: for each chat request it reads the incomplete query
(the prompt's last line) and the tables of the schema, and answers ``n`` whole
queries that start with that prefix (counts, filters, orderings over the first
tables), with a log probability for every word; it logs when each request
arrived and when it was answered. The search runs in this process over the
first ``QUESTIONS`` questions of Spider dev through ``search_items`` (the
checkpointed pipeline the CLI runs), with the cache off, the default settings
(8 iterations, 4 samples, 3 children, the sqlo1 reward) and questions searched
concurrently.

1. At 100 ms per answer with ``max_concurrency`` 16: calls, tokens and wall time
   per question, and the mean number of requests in flight over the run (the
   target is the configured concurrency).
2. At zero latency: this process's CPU time per question, SQL execution included
   (``workers=0`` keeps it in this process); the endpoint's CPU is not in it.

Each is run ``REPEAT`` times; times and the in-flight mean are medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, SHARED, machine, need

QUESTIONS = 100
CONCURRENCY = 16
LATENCY = 0.1
REPEAT = 3

SERVER = r"""
import json, re, sys, time
sys.path.insert(0, sys.argv[1])
from fake_openai import FakeOpenAI, Reply

log = open(sys.argv[2], "w", buffering=1)
SLOT = "The incomplete SQL query:"

def pool(prompt):
    tables = re.findall(r"^CREATE TABLE (\S+) \(", prompt, flags=re.M) or ["sqlite_master"]
    t, u = tables[0], tables[-1]
    return [f"SELECT count(*) FROM {t}", f"SELECT * FROM {t} LIMIT 3",
            f"SELECT count(*) FROM {t} WHERE 1 = 1", f"SELECT * FROM {u} ORDER BY 1 LIMIT 5",
            f"SELECT count(*) FROM {u} GROUP BY 1 HAVING count(*) > 0"]

def handler(request):
    if request.path != "/v1/chat/completions":
        return None
    body = request.body
    prompt = body["messages"][-1]["content"]
    prefix = prompt.rsplit(SLOT, 1)[1].strip()
    options = [q for q in pool(prompt) if q.startswith(prefix)] or [prefix or "SELECT 1"]
    n, seed = int(body.get("n") or 1), int(body.get("seed") or 0)
    choices = []
    for i in range(n):
        text = options[(seed + i) % len(options)]
        words = [w if j == 0 else " " + w for j, w in enumerate(text.split(" "))]
        content = [{"token": w, "logprob": -0.1 * (j % 3 + 1), "top_logprobs": []}
                   for j, w in enumerate(words)]
        choices.append({"index": i, "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop", "logprobs": {"content": content}})
    prompt_tokens = len(prompt.split())
    completion_tokens = sum(len(c["message"]["content"].split()) for c in choices)
    log.write(json.dumps({"t": time.time()}) + "\n")
    return Reply(json={"id": "x", "object": "chat.completion", "model": body.get("model"),
                       "choices": choices, "usage": {"prompt_tokens": prompt_tokens,
                       "completion_tokens": completion_tokens}})

server = FakeOpenAI(latency=float(sys.argv[3]), record=False)
server.handler = handler
server.start()
print(f"PORT {server.port}", flush=True)
while True:
    time.sleep(3600)
"""


def serve(folder: Path, latency: float) -> tuple[subprocess.Popen, str, Path]:
    script, log = folder / "server.py", folder / f"requests-{latency}.jsonl"
    script.write_text(SERVER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(REPO / "tests" / "llm"), str(log), str(latency)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("PORT "):
        proc.kill()
        sys.exit(f"the fake endpoint did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}/v1", log


def run(folder: Path, latency: float, name: str) -> dict:
    from sqlfoundry.bench.registry import BenchRoots, load
    from sqlfoundry.llm import LLMConfig
    from sqlfoundry.methods.search.run import search_items
    from sqlfoundry.synth.sft.inputs import Items

    proc, base_url, log = serve(folder, latency)
    try:
        bench = load(f"spider:dev:first-{QUESTIONS}", BenchRoots(base=SHARED / "benchmarks"))
        items = Items(samples=bench.samples, databases=bench.manager(), name=bench.name)
        config = LLMConfig(base_url=base_url, model="fake-model", cache="off",
                           max_concurrency=CONCURRENCY, timeout=60)  # fmt: skip
        cpu, wall = time.process_time(), time.perf_counter()
        result = search_items(items, folder / name, {}, llm_config=config, workers=0,
                              batch_size=64, concurrent_batches=2)  # fmt: skip
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        proc.kill()
    arrivals = sorted(json.loads(x)["t"] for x in log.read_text().splitlines())
    window = arrivals[-1] + latency - arrivals[0] if arrivals else 0.0
    per = result.report["search"]["per_question"]
    return {
        "questions": QUESTIONS,
        "calls": per["calls"],
        "prompt_tokens": per["prompt_tokens"],
        "completion_tokens": per["completion_tokens"],
        "tree_nodes": per["tree_nodes"],
        "candidates": per["candidates"],
        "wall": wall,
        "cpu": cpu,
        "requests": len(arrivals),
        "in_flight": len(arrivals) * latency / window if window and latency else None,
        "ex": result.report["ex"],
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def median_run(folder: Path, latency: float, name: str) -> dict:
    runs = [run(folder, latency, f"{name}{i}") for i in range(REPEAT)]
    out = dict(runs[0])
    for key in ("wall", "cpu", "in_flight"):
        values = [r[key] for r in runs if r[key] is not None]
        out[key] = statistics.median(values) if values else None
    return out


def main() -> None:
    need(SHARED / "benchmarks" / "spider" / "dev.json")
    print(f"machine: {machine()}")
    print(f"load average before: {loadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.setdefault("OPENAI_API_KEY", "x")
        slow = median_run(folder, LATENCY, "slow")
        fast = median_run(folder, 0.0, "fast")
    print(f"load average after: {loadavg()}")
    print(f"\n{QUESTIONS} Spider dev questions, 8 iterations, 4 samples, 3 children, sqlo1 reward;"
          f" medians of {REPEAT} runs")  # fmt: skip
    print(f"\nendpoint at {LATENCY * 1000:.0f} ms, max_concurrency {CONCURRENCY}:")
    print(f"  per question: {slow['calls']:.2f} calls, {slow['prompt_tokens']:.0f} prompt + "
          f"{slow['completion_tokens']:.0f} completion tokens, {slow['tree_nodes']:.1f} tree "
          f"nodes, {slow['candidates']:.1f} candidates")  # fmt: skip
    ideal = slow["requests"] * LATENCY / CONCURRENCY
    print(f"  wall {slow['wall']:.2f} s in all (ideal {ideal:.2f} s), "
          f"{slow['wall'] / QUESTIONS * 1000:.0f} ms per question; {slow['requests']} requests; "
          f"mean in flight {slow['in_flight']:.1f} of {CONCURRENCY} "
          f"({slow['in_flight'] / CONCURRENCY:.0%})")  # fmt: skip
    print(f"\nendpoint at 0 ms: CPU {fast['cpu'] / QUESTIONS * 1000:.1f} ms per question "
          f"(wall {fast['wall'] / QUESTIONS * 1000:.1f} ms per question, {fast['requests']} "
          f"requests)")  # fmt: skip


if __name__ == "__main__":
    main()
