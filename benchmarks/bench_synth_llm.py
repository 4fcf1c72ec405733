"""The LLM engine under load: does the synthesis pipeline keep the endpoint at its concurrency?

A fake OpenAI-compatible endpoint (``tests/llm/fake_openai.py``) runs in its own
process and answers every chat request after 100 ms, with content that fits the
prompt: SQL for the SQL generator, a question for the question generator,
reasoning that ends in the given SQL for the CoT generator, a query for the
execution classifier. It logs when each request arrived and what kind it was.
``sqlfoundry synth --engine llm`` then runs on the demo databases with
``max_concurrency`` 32 and the cache off.

For each LLM step: requests, the window from its first request to the end of its
last, the mean number of requests in flight over that window, and that mean
against the configured concurrency (the ideal). Run it from the repo root or
this folder; the demo databases are built if missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import REPO, demo_dbs, machine

CLI = Path(sys.executable).with_name("sqlfoundry")
LATENCY = 0.1
CONCURRENCY = 32

SERVER = r"""
import json, re, sys, time
sys.path.insert(0, sys.argv[1])
from fake_openai import FakeOpenAI, Reply

log = open(sys.argv[2], "w", buffering=1)
seq = [0]

def kind_and_text(messages, index):
    text = "\n".join(str(m.get("content", "")) for m in messages)
    if "Target complexity" in text:
        tables = re.findall(r"CREATE TABLE [`\"]?(\w+)", text)
        seq[0] += 1
        table = tables[seq[0] % len(tables)] if tables else "sqlite_master"
        return "sql_generator", f"```sql\nSELECT * FROM {table} LIMIT {seq[0] + index}\n```"
    if "Correct SQL query:" in text:
        sql = text.split("Correct SQL query:", 1)[1].split("```sql", 1)[1].split("```", 1)[0].strip()
        return "cot_generator", f"1. Find the rows.\n2. Assemble the query.\n```sql\n{sql}\n```"
    if "Verdict: yes" in text:
        return "consistency_judge", "The query reads the asked rows.\nVerdict: yes"
    if "SQL query:" in text and "style" in text.lower():
        styles = re.findall(r"^\d+\. ([\w-]+): ", text, flags=re.MULTILINE) or ["one"]
        return "question_generator", json.dumps({"questions": [
            {"style": s, "question": f"Which rows are listed ({s}, variant {index})?", "evidence": ""}
            for s in styles]})
    return "execution_classifier", "```sql\nSELECT 1\n```"

def handler(request):
    if request.path == "/v1/embeddings":
        log.write(json.dumps({"kind": "embeddings", "t": time.time(), "n": 1}) + "\n")
        return None  # the fake's own vectors
    if request.path != "/v1/chat/completions":
        return None
    body = request.body or {}
    n = int(body.get("n") or 1)
    kinds, choices = set(), []
    for i in range(n):
        kind, content = kind_and_text(body.get("messages", []), i)
        kinds.add(kind)
        choices.append({"index": i, "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop"})
    log.write(json.dumps({"kind": kinds.pop(), "t": time.time(), "n": n}) + "\n")
    usage = {"prompt_tokens": 100, "completion_tokens": 20 * n, "total_tokens": 100 + 20 * n}
    return Reply(json={"id": "x", "object": "chat.completion", "created": 0,
                       "model": body.get("model"), "choices": choices, "usage": usage})

server = FakeOpenAI(latency=float(sys.argv[3]))
server.handler = handler
server.start()
print(f"PORT {server.port}", flush=True)
while True:
    time.sleep(3600)
"""


def main() -> None:
    demo = demo_dbs()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log_path = folder / "requests.jsonl"
        script = folder / "server.py"
        script.write_text(SERVER)
        server = subprocess.Popen(
            [sys.executable, str(script), str(REPO / "tests" / "llm"), str(log_path), str(LATENCY)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            port = int(server.stdout.readline().split()[1])
            config = folder / "synth.toml"
            config.write_text(
                f'[llm]\nbase_url = "http://127.0.0.1:{port}/v1"\nmodel = "fake-model"\n'
                f'max_concurrency = {CONCURRENCY}\ncache = "off"\ntimeout = 30\n'
                '[synth]\nembedder = "endpoint"\nbatch_size = 64\n'
                "[synth.ops.question_generator]\nnum_candidates = 3\n"
            )
            env = {**os.environ, "OPENAI_API_KEY": "x"}
            cmd = [str(CLI), "synth", "--db-root", str(demo), "--num-per-db", "100", "--engine",
                   "llm", "--config", str(config), "--out", str(folder / "run"), "--workers", "2"]  # fmt: skip
            start = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if done.returncode != 0:
                sys.exit(f"synth failed:\n{done.stderr[-3000:]}")
            rejects = folder / "run" / "rejects.jsonl"
            if rejects.exists():
                reasons = defaultdict(int)
                for line in rejects.read_text().splitlines():
                    r = json.loads(line)
                    reasons[(r.get("operator"), str(r.get("reason"))[:70])] += 1
                for (op, why), n in sorted(reasons.items(), key=lambda x: -x[1])[:8]:
                    print(f"rejected {n:>4}  {op}: {why}")
        finally:
            server.kill()
        requests = [json.loads(x) for x in log_path.read_text().splitlines()]
        summary = json.loads((folder / "run" / "summary.json").read_text())

    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in requests:
        by_kind[r["kind"]].append(r["t"])
    print(f"\n{len(requests)} requests in {wall:.1f} s wall; {summary['records']} records; "
          f"endpoint latency {LATENCY * 1000:.0f} ms; max_concurrency {CONCURRENCY}")  # fmt: skip
    print(f"\n{'step':<22} {'requests':>8} {'window s':>9} {'mean in flight':>15} {'of ideal':>9}")
    for kind in (
        "sql_generator",
        "question_generator",
        "consistency_judge",
        "cot_generator",
        "execution_classifier",
    ):
        times = sorted(by_kind.get(kind, []))
        if not times:
            continue
        window = times[-1] + LATENCY - times[0]
        mean = len(times) * LATENCY / window
        print(f"{kind:<22} {len(times):>8} {window:>9.2f} {mean:>15.1f} {mean / CONCURRENCY:>8.0%}")
    calls = summary["llm_usage"]["total"]["calls"] if summary.get("llm_usage") else 0
    print(
        f"\nusage: {calls} calls recorded by the client; embeddings requests "
        f"{len(by_kind.get('embeddings', []))}"
    )
    print(
        f"requests per kept sample: {len(requests) / max(1, summary['records']):.2f} "
        f"({len(requests)} requests, {summary['records']} records)"
    )


if __name__ == "__main__":
    main()
