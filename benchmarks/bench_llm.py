"""LLM client throughput: 2,000 chat requests at max_concurrency=64 against a 100 ms endpoint.

The fake OpenAI-compatible endpoint (tests/llm/fake_openai.py) runs in its own
process and answers every request after exactly 100 ms, so the ideal is
64 / 0.1 s = 640 requests/s and anything below it is client overhead. The
client's CPU time is this process's CPU time (the server's is not in it),
divided by the number of requests.

Runs the batch runner through the full client path with the default transport
(aiohttp): with the disk cache off, then with the cache on (a fresh cache folder,
so every request misses and is written), then the same batch again from that
cache (zero HTTP calls). Last, the openai-SDK transport with the cache off, for
comparison: the SDK's per-request overhead is what the aiohttp transport avoids.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time

from _common import REPO, machine

from sqlfoundry.llm import LLMClient, LLMConfig, LLMRequest, run_batch

REQUESTS = 2000
CONCURRENCY = 64
LATENCY = 0.1
IDEAL = CONCURRENCY / LATENCY
TARGET = 0.85
REPEAT = 3


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "llm" / "fake_openai.py"), "--latency", str(LATENCY)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        sys.exit(f"the fake endpoint did not start: {line!r}")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}/v1"


def requests(tag: str) -> list[LLMRequest]:
    return [
        LLMRequest([{"role": "user", "content": f"{tag} question number {i}: how many singers?"}])
        for i in range(REQUESTS)
    ]


async def one_run(config: LLMConfig, batch: list[LLMRequest]) -> tuple[float, float, int]:
    """Wall seconds, client CPU seconds and failed items for one batch on a fresh client."""
    async with LLMClient(config, env={}) as client:
        await client.preflight()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        items = await run_batch(client, batch, operator="bench")
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
    return wall, cpu, sum(not item.ok for item in items)


def median_run(config: LLMConfig, tag: str, repeat: int) -> tuple[float, float, int]:
    """The run with the median wall time out of ``repeat``, each with fresh prompts."""
    runs = sorted(asyncio.run(one_run(config, requests(f"{tag}{r}"))) for r in range(repeat))
    return runs[len(runs) // 2]


async def round_trip(config: LLMConfig, count: int = 20) -> float:
    """Median seconds of one request at concurrency 1: the endpoint's latency as seen here."""
    async with LLMClient(config, env={}) as client:
        times = []
        for i in range(count):
            start = time.perf_counter()
            await client.generate([{"role": "user", "content": f"alone {i}"}])
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(label: str, wall: float, cpu: float, failed: int, target: bool = True) -> None:
    rate = REQUESTS / wall
    line = (
        f"{label:40} {wall:6.2f} s  {rate:7.1f} req/s  {rate / IDEAL:6.1%} of ideal  "
        f"client CPU {cpu / REQUESTS * 1000:.3f} ms/request"
    )
    if target:
        line += f"  (target >= {TARGET:.0%}: {'ok' if rate >= TARGET * IDEAL else 'MISSED'})"
    if failed:
        line += f"  {failed} FAILED"
    print(line)


def main() -> None:
    print(f"machine: {machine()}")
    print(
        f"{REQUESTS} requests, max_concurrency={CONCURRENCY}, endpoint latency "
        f"{LATENCY * 1000:.0f} ms -> ideal {IDEAL:.0f} req/s"
    )
    proc, base_url = start_server()
    try:
        with tempfile.TemporaryDirectory() as cache_dir:
            common = dict(base_url=base_url, model="fake-model", max_concurrency=CONCURRENCY)
            off = LLMConfig(**common, cache="off")
            on = LLMConfig(**common, cache="on", cache_dir=cache_dir)
            sdk = LLMConfig(**common, cache="off", transport="openai")
            asyncio.run(one_run(off, requests("warm-up")[:200]))  # imports, first connections
            asyncio.run(one_run(sdk, requests("warm-up")[:200]))
            alone = asyncio.run(round_trip(off))
            print(
                f"one request alone: {alone * 1000:.1f} ms round trip "
                f"-> practical ceiling {CONCURRENCY / alone:.0f} req/s"
            )
            report(
                f"default (aiohttp), cache off, median of {REPEAT}", *median_run(off, "off", REPEAT)
            )
            report("default, cache on, all misses", *asyncio.run(one_run(on, requests("on"))))
            wall, cpu, failed = asyncio.run(one_run(on, requests("on")))
            print(
                f"{'default, cache on, all hits':40} {wall:6.2f} s  {REQUESTS / wall:7.0f} req/s  "
                f"client CPU {cpu / REQUESTS * 1000:.3f} ms/request  (zero HTTP calls)"
            )
            report(
                "transport=openai, cache off",
                *asyncio.run(one_run(sdk, requests("sdk"))),
                target=False,
            )
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
