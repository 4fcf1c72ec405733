"""The NL2SQL gateway under load: added latency, throughput, errors and memory.

Three processes on loopback, sharing this machine's cores:

- a fake OpenAI-compatible upstream that answers at once with a SQL reply
  (``tests/llm/fake_openai.py``, started by this script in ``--upstream`` mode);
- the gateway, started with the real ``sqlfoundry serve --config`` (uvicorn,
  one worker): an ``openai``-type service (v2 prompt, the demo bookshop
  database, schema linking to 5 tables / 40 columns, SQL extraction and
  validation) behind an API key;
- this load generator (aiohttp).

Phases, each measured in the same run:

1. **unloaded latency**: one client alternates a request straight to the upstream
   and one through the gateway; added latency = gateway minus direct, by percentile;
2. **throughput**: 64 closed-loop clients on the gateway for ``--seconds``;
3. **added latency at load**: 64 clients paced to ``--rate`` gateway requests/s,
   each also sending the same number of direct requests, for ``--seconds``.

The gateway process's RSS is sampled every half second through phases 2 and 3.
Usage: ``python benchmarks/bench_gateway.py [--seconds 30] [--rate 500]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, machine

KEY = "bench-gateway-key"
SQL = "SELECT title, price FROM books WHERE genre = 'Fantasy' ORDER BY price DESC LIMIT 5"
QUESTIONS = [
    "Which five fantasy books cost the most?",
    "How many customers ordered books by Italian authors?",
    "What is the average rating of reviews for each genre?",
    "List the publishers founded before 1950 and their cities",
]
CONCURRENCY = 64


# ------------------------------------------------------------------ the fake upstream


def serve_upstream() -> None:
    """``--upstream`` mode: the fake endpoint, answering every chat request with SQL."""
    sys.path.insert(0, str(REPO / "tests" / "llm"))
    from fake_openai import FakeOpenAI, Reply

    body = {
        "id": "up", "object": "chat.completion", "created": 0, "model": "fake-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": f"```sql\n{SQL};\n```"}}],
        "usage": {"prompt_tokens": 420, "completion_tokens": 24, "total_tokens": 444},
    }  # fmt: skip
    payload = json.dumps(body).encode()
    fake = FakeOpenAI(latency=0.0, record=False)
    fake.handler = lambda request: (
        Reply(body=payload) if request.path == "/v1/chat/completions" else None
    )

    async def run() -> None:
        await fake._bind()
        print(f"PORT {fake.port}", flush=True)
        assert fake._server is not None
        await fake._server.serve_forever()

    asyncio.run(run())


# ------------------------------------------------------------------ processes


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def start_upstream() -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--upstream"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        sys.exit(f"the fake upstream did not start: {line!r}")
    return proc, int(line.split()[1])


def start_gateway(folder: Path, upstream_port: int, workers: int) -> tuple[subprocess.Popen, int]:
    dbs = folder / "dbs"
    subprocess.run([sys.executable, str(REPO / "examples" / "build_demo_dbs.py"), "--out", str(dbs)],
                   check=True, capture_output=True)  # fmt: skip
    port = free_port()
    config = folder / "gateway.toml"
    config.write_text(f"""
[gateway]
port = {port}
db_root = "{dbs}"
api_keys_env = ["BENCH_GATEWAY_KEYS"]
workers = {workers}

[services.bookshop]
type = "openai"
version = "v2"
db_id = "bookshop"
linking = {{ max_tables = 5, max_columns = 40 }}
upstream = {{ base_url = "http://127.0.0.1:{upstream_port}/v1", model = "fake-model", api_key_env = "" }}

[services.local]
type = "local"
db_id = "bookshop"
local = {{ cache_dir = "{folder / "local-cache"}" }}
""")
    cli = Path(sys.executable).with_name("sqlfoundry")
    env = {**os.environ, "BENCH_GATEWAY_KEYS": KEY}
    proc = subprocess.Popen([str(cli), "serve", "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    return proc, port


async def wait_ready(session, url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            async with session.get(url + "/health") as response:
                # "ok" once the local service's index is built (every worker's, in turn).
                if response.status == 200 and (await response.json())["status"] == "ok":
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(
                "the gateway did not start:\n"
                + (proc.stderr.read().decode() if proc.stderr else "")
            )
        await asyncio.sleep(0.1)


# ------------------------------------------------------------------ load


class _Processes:
    """The gateway's processes (the supervisor and its workers) as one, for CPU times."""

    def __init__(self, pid: int) -> None:
        import psutil

        root = psutil.Process(pid)
        self.procs = [root, *root.children(recursive=True)]

    def cpu_times(self):
        from types import SimpleNamespace

        times = [p.cpu_times() for p in self.procs]
        return SimpleNamespace(user=sum(t.user for t in times), system=sum(t.system for t in times))


class Target:
    """One endpoint to load, with its pre-encoded request bodies."""

    def __init__(self, name: str, url: str, headers: dict[str, str], model: str) -> None:
        self.name = name
        self.url = url
        self.headers = headers
        self.bodies = [
            json.dumps({"model": model, "messages": [{"role": "user", "content": q}]}).encode()
            for q in QUESTIONS
        ]


async def call(session, target: Target, i: int) -> tuple[bool, float]:
    start = time.perf_counter()
    try:
        async with session.post(target.url, data=target.bodies[i % len(target.bodies)],
                                headers=target.headers) as response:  # fmt: skip
            body = await response.read()
            ok = response.status == 200 and b'"choices"' in body
    except Exception:  # noqa: BLE001 - every failure is counted as an error
        ok = False
    return ok, (time.perf_counter() - start) * 1000


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def unloaded(session, gateway: Target, direct: Target, seconds: float) -> dict:
    lat: dict[str, list[float]] = {"gateway": [], "direct": []}
    errors = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        for target in (direct, gateway):
            ok, ms = await call(session, target, i)
            errors += not ok
            lat[target.name].append(ms)
        i += 1
    return {"lat": lat, "errors": errors}


async def closed_loop(session, target: Target, seconds: float) -> dict:
    lat: list[float] = []
    errors = 0
    end = time.monotonic() + seconds

    async def client(k: int) -> None:
        nonlocal errors
        i = k
        while time.monotonic() < end:
            ok, ms = await call(session, target, i)
            errors += not ok
            lat.append(ms)
            i += 1

    start = time.monotonic()
    await asyncio.gather(*(client(k) for k in range(CONCURRENCY)))
    return {"lat": lat, "errors": errors, "seconds": time.monotonic() - start}


async def paced(session, gateway: Target, direct: Target, seconds: float, rate: float) -> dict:
    """64 clients; each sends gateway and direct requests alternately at rate/64 pairs per second."""
    lat: dict[str, list[float]] = {"gateway": [], "direct": []}
    errors = 0
    interval = CONCURRENCY / rate
    start = time.monotonic()
    end = start + seconds

    async def client(k: int) -> None:
        nonlocal errors
        rng = random.Random(k)
        due = start + rng.random() * interval
        i = k
        while due < end:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            for target in (gateway, direct) if i % 2 else (direct, gateway):
                ok, ms = await call(session, target, i)
                errors += not ok
                lat[target.name].append(ms)
            i += 1
            due += interval

    await asyncio.gather(*(client(k) for k in range(CONCURRENCY)))
    return {"lat": lat, "errors": errors, "seconds": time.monotonic() - start}


class Contention:
    """CPU the rest of the machine used during a phase, in cores: other processes, and steal."""

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self.processes = [psutil.Process(pid) for pid in pids]
        self.psutil = psutil

    def snapshot(self) -> tuple[float, float, float, float]:
        total = self.psutil.cpu_times()
        busy = (
            total.user
            + total.nice
            + total.system
            + getattr(total, "irq", 0.0)
            + getattr(total, "softirq", 0.0)
        )
        ours = sum(p.cpu_times().user + p.cpu_times().system for p in self.processes)
        return time.monotonic(), busy, ours, getattr(total, "steal", 0.0)

    @staticmethod
    def between(a: tuple, b: tuple) -> tuple[float, float]:
        seconds = max(1e-9, b[0] - a[0])
        others = max(0.0, (b[1] - a[1]) - (b[2] - a[2])) / seconds  # clock jitter can dip below 0
        return others, (b[3] - a[3]) / seconds


async def sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    import psutil

    process = psutil.Process(pid)
    while not stop.is_set():
        samples.append(process.memory_info().rss / 2**20)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


# ------------------------------------------------------------------ the wire-type decision


def wire_cost(n: int = 5000) -> tuple[float, float]:
    """Microseconds to serialise one response: plain dicts + json.dumps, and through the
    openai.types models as the gateway does (validated, then pydantic's encoder)."""
    from sqlfoundry.serve import wire

    info = {"sql": SQL, "dialect": "sqlite", "valid": True, "errors": [], "preview": None}
    usage = {"prompt_tokens": 420, "completion_tokens": 24, "total_tokens": 444}
    wire.warm_up()
    start = time.perf_counter()
    for _ in range(n):
        wire.dumps({"id": wire.new_id(), "object": "chat.completion", "created": wire.now(),
                    "model": "bookshop", "choices": [wire.choice(0, SQL, "stop", info)],
                    "usage": usage, "system_fingerprint": None, "sqlfoundry": {}}).encode()  # fmt: skip
    plain = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n):
        wire.completion(id=wire.new_id(), model="bookshop", choices=[wire.choice(0, SQL, "stop", info)],
                        usage=usage, info={})  # fmt: skip
    typed = (time.perf_counter() - start) / n * 1e6
    return plain, typed


# ------------------------------------------------------------------ main


async def bench(args: argparse.Namespace) -> int:
    import aiohttp

    upstream_proc, upstream_port = start_upstream()
    with tempfile.TemporaryDirectory(prefix="bench_gateway_") as tmp:
        gateway_proc, port = start_gateway(Path(tmp), upstream_port, args.workers)
        try:
            connector = aiohttp.TCPConnector(limit=4 * CONCURRENCY, limit_per_host=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                base = f"http://127.0.0.1:{port}"
                await wait_ready(session, base, gateway_proc)
                gateway = Target("gateway", base + "/v1/chat/completions",
                                 {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
                                 "bookshop")  # fmt: skip
                direct = Target("direct", f"http://127.0.0.1:{upstream_port}/v1/chat/completions",
                                {"Content-Type": "application/json"}, "fake-model")  # fmt: skip
                local = Target("local", base + "/v1/chat/completions",
                               {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
                               "local")  # fmt: skip
                await closed_loop(session, gateway, 2.0)  # warm-up: imports, caches, pools
                await closed_loop(session, local, 2.0)
                await closed_loop(session, direct, 1.0)
                bare = await closed_loop(session, direct, args.seconds / 2)
                one = await unloaded(session, gateway, direct, min(10.0, args.seconds))

                process = _Processes(gateway_proc.pid)
                rss: list[float] = []
                stop = asyncio.Event()
                sampler = asyncio.create_task(sample_rss(process.procs[-1].pid, rss, stop))
                contention = Contention(
                    [*(p.pid for p in process.procs), upstream_proc.pid, os.getpid()]
                )
                cpu0, c0 = process.cpu_times(), contention.snapshot()
                load = await closed_loop(session, gateway, args.seconds)
                cpu1, c1 = process.cpu_times(), contention.snapshot()
                at_rate = await paced(session, gateway, direct, args.seconds, args.rate)
                c2 = contention.snapshot()
                load["others"] = Contention.between(c0, c1)
                at_rate["others"] = Contention.between(c1, c2)
                cpu2 = process.cpu_times()
                local_load = await closed_loop(session, local, args.seconds / 2)
                cpu3 = process.cpu_times()
                local_load["cpu"] = (cpu3.user + cpu3.system) - (cpu2.user + cpu2.system)
                load["bare"] = bare
                load["local"] = local_load
                stop.set()
                await sampler
        finally:
            gateway_proc.terminate()
            gateway_proc.wait(timeout=10)
            upstream_proc.terminate()
            upstream_proc.wait(timeout=10)

    plain, typed = wire_cost()
    report(
        args,
        one,
        load,
        at_rate,
        rss,
        (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
        plain,
        typed,
    )
    ok = (
        load["errors"] == 0 and at_rate["errors"] == 0 and one["errors"] == 0
        and len(load["lat"]) / load["seconds"] >= 500
        and pct(at_rate["lat"]["gateway"], 50) - pct(at_rate["lat"]["direct"], 50) <= 3
        and pct(at_rate["lat"]["gateway"], 99) - pct(at_rate["lat"]["direct"], 99) <= 20
    )  # fmt: skip
    return 0 if ok or not args.strict else 1


def report(args, one, load, at_rate, rss, cpu_seconds, plain, typed) -> None:
    def row(*cells) -> None:
        print("| " + " | ".join(str(c) for c in cells) + " |")

    print(f"\nMachine: {machine()}")
    print(f"Gateway: `sqlfoundry serve --workers {args.workers}`, uvicorn"
          + _server_stack() + f"; {CONCURRENCY} clients; upstream answers at once.\n")  # fmt: skip
    row("what", "measured", "target")
    row("---", "---", "---")
    phases = (
        ("unloaded, 1 client", one),
        (f"at {args.rate:g} req/s, {CONCURRENCY} clients", at_rate),
    )
    for name, data in phases:
        g, d = data["lat"]["gateway"], data["lat"]["direct"]
        for q, target in ((50, "≤ 3 ms"), (99, "≤ 20 ms")):
            added = pct(g, q) - pct(d, q)
            row(f"added latency p{q}, {name}", f"{added:.2f} ms (gateway {pct(g, q):.2f} − direct {pct(d, q):.2f})",
                target)  # fmt: skip
    throughput = len(load["lat"]) / load["seconds"]
    bare = load["bare"]
    row(f"the bare upstream, {CONCURRENCY} closed-loop clients straight to it",
        f"{len(bare['lat']) / bare['seconds']:.0f} req/s, p50 {pct(bare['lat'], 50):.1f} ms", "")  # fmt: skip
    row(f"throughput, {CONCURRENCY} closed-loop clients, {args.seconds:g} s",
        f"{throughput:.0f} req/s ({len(load['lat'])} requests)", "≥ 2,000 req/s")  # fmt: skip
    local = load["local"]
    local_n = max(1, len(local["lat"]))
    row(f"`local` service, {CONCURRENCY} closed-loop clients, {args.seconds / 2:g} s",
        f"{len(local['lat']) / local['seconds']:.0f} req/s, p50 {pct(local['lat'], 50):.1f} ms, "
        f"CPU {local['cpu'] / local_n * 1000:.2f} ms/request, {local['errors']} errors",
        "≥ 1,000 req/s")  # fmt: skip
    row(
        "latency at full load p50 / p99",
        f"{pct(load['lat'], 50):.1f} / {pct(load['lat'], 99):.1f} ms",
        "",
    )
    row("gateway CPU per request", f"{cpu_seconds / max(1, len(load['lat'])) * 1000:.3f} ms", "")
    errors = one["errors"] + load["errors"] + at_rate["errors"]
    total = len(one["lat"]["gateway"]) + len(load["lat"]) + len(at_rate["lat"]["gateway"])
    row("errors", f"{errors} of {total} gateway requests", "0")
    if rss:
        row("gateway RSS start / end / peak", f"{rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f} MiB "
            f"({len(rss)} samples)", "flat")  # fmt: skip
    for label, data in (("throughput", load), ("paced", at_rate)):
        others, steal = data["others"]
        row(f"CPU taken by other processes / hypervisor steal, {label} phase",
            f"{others:.2f} / {steal:.2f} cores (of {os.cpu_count()})", "")  # fmt: skip
    row("serialising one response: dicts + json.dumps", f"{plain:.1f} µs", "")
    row("the same through openai.types.chat.ChatCompletion (used)", f"{typed:.1f} µs", "")


def _server_stack() -> str:
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f" ({loop} loop, {http} HTTP parser)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of phases 2 and 3")
    parser.add_argument("--rate", type=float, default=500.0, help="gateway requests/s in phase 3")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--workers", type=int, default=2, help="gateway processes")
    parser.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        serve_upstream()
        return
    sys.exit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
