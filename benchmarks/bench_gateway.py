"""The NL2SQL gateway under load: added latency, throughput, errors and memory.

Three processes on loopback, sharing this machine's cores:

- a fake OpenAI-compatible upstream that answers at once with a SQL reply
  (``tests/llm/fake_openai.py``, started by this script in ``--upstream`` mode);
- the gateway, started with the real ``sqlfoundry serve --config`` (uvicorn,
  ``--workers`` processes): an ``openai``-type service (v2 prompt, the demo
  bookshop database, schema linking to 5 tables / 40 columns, SQL extraction and
  validation) and a ``local`` one (the offline method) behind an API key;
- this load generator (aiohttp).

Phases, each measured in the same run:

1. **unloaded latency**: one client alternates a request straight to the upstream
   and one through the gateway; added latency = gateway minus direct, by percentile;
2. **throughput**: 64 closed-loop clients on the gateway for ``--seconds``;
3. **added latency at load**: 64 clients paced to ``--rate`` gateway requests/s,
   each also sending the same number of direct requests, for ``--seconds``;
4. **the ``local`` service**: 64 closed-loop clients for ``--seconds`` / 2;
5. **nothing reused**: phases 2 and 4 again, every question new and every
   upstream answer a new SQL, so the gateway's caches (linked prompts, checked
   answers, the local method's answers) never hit: what a request costs the
   first time. Phase 4's new questions differ only in their number ("cost less
   than 17 dollars"), so they all have one shape;
6. **distinct questions** (when the shared Spider data is there): a ``local``
   service over the 20 Spider dev databases is asked each distinct question of
   Spider dev, Spider-Syn dev and Spider-Realistic once (2,125 once repeats are
   dropped, each with its database), 64 closed-loop clients until they run out or
   ``--seconds`` / 2 pass: what the offline method costs per new question of every
   shape. The pairs of those databases are synthesized into a cache once, before
   the first gateway starts, so each gateway only loads them.

Phases 2 and 4 ask the same four questions over and over (the upstream
answers each with the same SQL), so they measure the gateway with its caches
warm. The whole run is repeated for each ``--workers`` count, the bare upstream
measured again each time. The gateway process's RSS is sampled every half
second through phases 2 and 3.
Usage: ``python benchmarks/bench_gateway.py [--seconds 30] [--rate 500] [--workers 1,2]``.
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

from _common import REPO, SPIDER, machine

KEY = "bench-gateway-key"
SQL = "SELECT title, price FROM books WHERE genre = 'Fantasy' ORDER BY price DESC LIMIT 5"
QUESTIONS = [
    "Which five fantasy books cost the most?",
    "How many customers ordered books by Italian authors?",
    "What is the average rating of reviews for each genre?",
    "List the publishers founded before 1950 and their cities",
]
CONCURRENCY = 64
# A question asked once (phase 5): the number makes each one new.
FRESH_QUESTION = "Which books cost less than {n} dollars?"


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
    fresh = iter(range(1, 1 << 62))

    def reply(request) -> Reply | None:
        if request.path != "/v1/chat/completions":
            return None
        if "less than" not in request.body["messages"][-1]["content"]:
            return Reply(body=payload)
        # A question of phase 5: an answer never given before.
        sql = f"SELECT title, price FROM books WHERE price < {next(fresh)}"
        content = {**body["choices"][0]["message"], "content": f"```sql\n{sql};\n```"}
        return Reply(json={**body, "choices": [{**body["choices"][0], "message": content}]})

    fake = FakeOpenAI(latency=0.0, record=False)
    fake.handler = reply

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


def distinct_questions() -> list[tuple[str, str]]:
    """``(db_id, question)`` of Spider dev, Spider-Syn dev and Spider-Realistic, each
    once, on the dev databases there are; empty when the shared data is absent."""
    sets = [(SPIDER / "dev.json", "question"),
            (SPIDER.parent / "spider_syn" / "dev.json", "SpiderSynQuestion"),
            (SPIDER.parent / "spider_realistic" / "spider-realistic.json", "question")]  # fmt: skip
    found: dict[tuple[str, str], None] = {}
    for path, field in sets:
        if not path.is_file():
            continue
        for item in json.loads(path.read_text()):
            db_id, question = item["db_id"], " ".join(item[field].split())
            if (SPIDER / "database" / db_id / f"{db_id}.sqlite").is_file():
                found[(db_id, question)] = None
    return list(found)


def prepare_databases(folder: Path, spider: list[str]) -> tuple[Path, Path]:
    """The gateways' database folder (the demo databases, and links to the Spider
    databases in ``spider``) and the ``local`` services' pair cache, with the Spider
    databases' pairs synthesized into it here, once for every gateway of the run."""
    dbs, cache = folder / "dbs", folder / "local-cache"
    subprocess.run([sys.executable, str(REPO / "examples" / "build_demo_dbs.py"), "--out", str(dbs)],
                   check=True, capture_output=True)  # fmt: skip
    for db_id in spider:
        (dbs / db_id).symlink_to(SPIDER / "database" / db_id, target_is_directory=True)
    if spider:
        from sqlfoundry.db.manager import DatabaseManager
        from sqlfoundry.methods.retrieval import RetrievalMethod

        start = time.perf_counter()
        method = RetrievalMethod(DatabaseManager(root=dbs), cache_dir=cache)
        for db_id in spider:
            method.prepare(db_id)
        print(f"pairs of {len(spider)} Spider databases cached in {time.perf_counter() - start:.0f} s",
              flush=True)  # fmt: skip
    return dbs, cache


def start_gateway(folder: Path, upstream_port: int, workers: int, cli: Path, dbs: Path,
                  cache: Path, spider: list[str]) -> tuple[subprocess.Popen, int]:  # fmt: skip
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
local = {{ cache_dir = "{cache}" }}
""")
    if spider:
        with config.open("a") as fh:
            fh.write(f"""
[services.spider]
type = "local"
databases = {json.dumps(spider)}
local = {{ cache_dir = "{cache}" }}
""")
    env = {**os.environ, "BENCH_GATEWAY_KEYS": KEY}
    proc = subprocess.Popen([str(cli), "serve", "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    return proc, port


async def wait_ready(session, url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
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
    """One endpoint to load, with its pre-encoded request bodies (or, ``fresh``, a new
    question for every request)."""

    def __init__(self, name: str, url: str, headers: dict[str, str], model: str,
                 fresh: bool = False) -> None:  # fmt: skip
        self.name = name
        self.url = url
        self.headers = headers
        self.model = model
        self.fresh = iter(range(1, 1 << 62)) if fresh else None
        self.bodies = [self._body(q) for q in QUESTIONS]

    def _body(self, question: str) -> bytes:
        messages = [{"role": "user", "content": question}]
        return json.dumps({"model": self.model, "messages": messages}).encode()

    def body(self, i: int) -> bytes:
        if self.fresh is not None:
            return self._body(FRESH_QUESTION.format(n=next(self.fresh)))
        return self.bodies[i % len(self.bodies)]

    def more(self) -> bool:
        """Whether there is a request left to send (always, but for :class:`Distinct`)."""
        return True


class Distinct(Target):
    """Each ``(db_id, question)`` once, in turn, to a service over several databases."""

    def __init__(self, name: str, url: str, headers: dict[str, str], model: str,
                 questions: list[tuple[str, str]]) -> None:  # fmt: skip
        super().__init__(name, url, headers, model)
        self.left = [self._asked(db_id, q) for db_id, q in reversed(questions)]

    def _asked(self, db_id: str, question: str) -> bytes:
        messages = [{"role": "user", "content": question}]
        return json.dumps({"model": self.model, "db_id": db_id, "messages": messages}).encode()

    def body(self, i: int) -> bytes:
        return self.left.pop()

    def more(self) -> bool:
        return bool(self.left)


async def call(session, target: Target, i: int) -> tuple[bool, float]:
    start = time.perf_counter()
    try:
        async with session.post(target.url, data=target.body(i),
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
        while time.monotonic() < end and target.more():
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


async def measured(session, target: Target, process: _Processes, seconds: float) -> dict:
    """A closed-loop phase with the gateway's CPU seconds over it."""
    before = process.cpu_times()
    result = await closed_loop(session, target, seconds)
    after = process.cpu_times()
    result["cpu"] = (after.user + after.system) - (before.user + before.system)
    return result


async def bench(args: argparse.Namespace, workers: int, cli: Path, dbs: Path, cache: Path,
                questions: list[tuple[str, str]]) -> dict:  # fmt: skip
    """One run against the gateway of ``cli`` with ``workers`` processes: every phase's raw
    figures."""
    import aiohttp

    loads = [os.getloadavg()[0]]
    upstream_proc, upstream_port = start_upstream()
    spider = list(dict.fromkeys(db_id for db_id, _ in questions))
    with tempfile.TemporaryDirectory(prefix="bench_gateway_") as tmp:
        gateway_proc, port = start_gateway(Path(tmp), upstream_port, workers, cli, dbs, cache,
                                           spider)  # fmt: skip
        try:
            connector = aiohttp.TCPConnector(limit=4 * CONCURRENCY, limit_per_host=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                base = f"http://127.0.0.1:{port}"
                await wait_ready(session, base, gateway_proc)
                keyed = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
                url = base + "/v1/chat/completions"
                gateway = Target("gateway", url, keyed, "bookshop")
                direct = Target("direct", f"http://127.0.0.1:{upstream_port}/v1/chat/completions",
                                {"Content-Type": "application/json"}, "fake-model")  # fmt: skip
                local = Target("local", url, keyed, "local")
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
                c0 = contention.snapshot()
                load = await measured(session, gateway, process, args.seconds)
                c1 = contention.snapshot()
                at_rate = await paced(session, gateway, direct, args.seconds, args.rate)
                c2 = contention.snapshot()
                load["others"] = Contention.between(c0, c1)
                at_rate["others"] = Contention.between(c1, c2)
                stop.set()
                await sampler
                half = args.seconds / 2
                local_load = await measured(session, local, process, half)
                fresh = {
                    "gateway": await measured(session, Target("gateway", url, keyed, "bookshop",
                                                              fresh=True), process, half),
                    "local": await measured(session, Target("local", url, keyed, "local",
                                                            fresh=True), process, half),
                }  # fmt: skip
                if questions:
                    # One question on each database first: its schema and checks are loaded.
                    await closed_loop(session, Distinct("spider", url, keyed, "spider",
                                                        [(db, "How many rows are there?")
                                                         for db in spider]), 10.0)  # fmt: skip
                    fresh["local, distinct Spider questions"] = await measured(
                        session, Distinct("spider", url, keyed, "spider", questions), process, half
                    )
        finally:
            gateway_proc.terminate()
            gateway_proc.wait(timeout=10)
            upstream_proc.terminate()
            upstream_proc.wait(timeout=10)
    loads.append(os.getloadavg()[0])
    return {"cli": cli, "workers": workers, "one": one, "load": load, "at_rate": at_rate, "bare": bare,
            "local": local_load, "fresh": fresh, "rss": rss, "loads": loads}  # fmt: skip


def passed(run: dict) -> bool:
    """The issue's targets: 2,000 req/s, +1 ms p50 and a 10 ms p99 at 500 req/s, 0 errors."""
    load, at_rate, one = run["load"], run["at_rate"], run["one"]
    g, d = at_rate["lat"]["gateway"], at_rate["lat"]["direct"]
    return (
        load["errors"] == 0 and at_rate["errors"] == 0 and one["errors"] == 0
        and rate(load) >= 2000 and rate(run["local"]) >= 1000
        and pct(g, 50) - pct(d, 50) <= 1 and pct(g, 99) <= 10
    )  # fmt: skip


def rate(phase: dict) -> float:
    return len(phase["lat"]) / phase["seconds"]


def report(args, run: dict) -> None:
    def row(*cells) -> None:
        print("| " + " | ".join(str(c) for c in cells) + " |")

    def cpu(phase: dict) -> str:
        return f"{phase['cpu'] / max(1, len(phase['lat'])) * 1000:.3f} ms"

    workers, one, load, at_rate = run["workers"], run["one"], run["load"], run["at_rate"]
    print(f"\nMachine: {machine()}; load average {run['loads'][0]:.2f} before, "
          f"{run['loads'][1]:.2f} after")  # fmt: skip
    print(f"Gateway: `{run['cli']} serve --workers {workers}`, uvicorn"
          + _server_stack(run["cli"]) + f"; {CONCURRENCY} clients; upstream answers at once.\n")  # fmt: skip
    row("what", "measured", "target")
    row("---", "---", "---")
    bare = run["bare"]
    row(f"the bare upstream, {CONCURRENCY} closed-loop clients straight to it",
        f"{rate(bare):.0f} req/s, p50 / p99 {pct(bare['lat'], 50):.1f} / {pct(bare['lat'], 99):.1f} ms",
        "")  # fmt: skip
    row(f"gateway, {CONCURRENCY} closed-loop clients, {args.seconds:g} s",
        f"{rate(load):.0f} req/s ({len(load['lat'])} requests), "
        f"p50 / p99 {pct(load['lat'], 50):.1f} / {pct(load['lat'], 99):.1f} ms",
        "≥ 2,000 req/s")  # fmt: skip
    row("gateway CPU per request (every gateway process)", cpu(load), "halved")
    for name, data in (("unloaded, 1 client", one),
                       (f"at {args.rate:g} req/s, {CONCURRENCY} clients", at_rate)):  # fmt: skip
        g, d = data["lat"]["gateway"], data["lat"]["direct"]
        for q in (50, 99):
            added = pct(g, q) - pct(d, q)
            target = "+≤ 1 ms" if q == 50 else ("p99 ≤ 10 ms" if "req/s" in name else "")
            row(f"added latency p{q}, {name}",
                f"{added:.2f} ms (gateway {pct(g, q):.2f} − direct {pct(d, q):.2f})", target)  # fmt: skip
    local = run["local"]
    row(f"`local` service, {CONCURRENCY} closed-loop clients, {args.seconds / 2:g} s",
        f"{rate(local):.0f} req/s, p50 {pct(local['lat'], 50):.1f} ms, CPU {cpu(local)}/request, "
        f"{local['errors']} errors", "≥ 1,000 req/s")  # fmt: skip
    for name, phase in run["fresh"].items():
        row(f"{name}, every question and answer new (no cache hit), "
            f"{phase['seconds']:.1f} s, {len(phase['lat'])} requests",
            f"{rate(phase):.0f} req/s, p50 {pct(phase['lat'], 50):.1f} ms, "
            f"CPU {cpu(phase)}/request, {phase['errors']} errors", "")  # fmt: skip
    errors = one["errors"] + load["errors"] + at_rate["errors"]
    total = len(one["lat"]["gateway"]) + len(load["lat"]) + len(at_rate["lat"]["gateway"])
    row("errors", f"{errors} of {total} gateway requests", "0")
    rss = run["rss"]
    if rss:
        row("gateway RSS start / end / peak", f"{rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f} MiB "
            f"({len(rss)} samples)", "flat")  # fmt: skip
    for label, data in (("throughput", load), ("paced", at_rate)):
        others, steal = data["others"]
        row(f"CPU taken by other processes / hypervisor steal, {label} phase",
            f"{others:.2f} / {steal:.2f} cores (of {os.cpu_count()})", "")  # fmt: skip


def _server_stack(cli: Path) -> str:
    """What uvicorn runs on in the environment of ``cli``."""
    found = subprocess.run(
        [str(cli.with_name("python")), "-c", "import importlib.util as u; "
         "print(*(bool(u.find_spec(m)) for m in ('uvloop', 'httptools')))"],
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    loop = "uvloop" if found[:1] == ["True"] else "asyncio"
    http = "httptools" if found[1:] == ["True"] else "h11"
    return f" ({loop} loop, {http} HTTP parser)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of phases 2 and 3")
    parser.add_argument("--rate", type=float, default=500.0, help="gateway requests/s in phase 3")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--workers", default="1,2",
                        help="gateway processes; several counts, comma-separated, run in turn")  # fmt: skip
    parser.add_argument("--sqlfoundry", action="append", type=Path,
                        help="the sqlfoundry command whose gateway to load (default: this "
                             "environment's); given twice, the two take turns in one run")  # fmt: skip
    parser.add_argument("--no-spider", action="store_true",
                        help="leave out phase 6 (distinct Spider questions)")  # fmt: skip
    parser.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        serve_upstream()
        return
    questions = [] if args.no_spider else distinct_questions()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench_gateway_dbs_") as shared:
        dbs, cache = prepare_databases(Path(shared), list(dict.fromkeys(d for d, _ in questions)))
        for workers in [int(w) for w in args.workers.split(",")]:
            for cli in args.sqlfoundry or [Path(sys.executable).with_name("sqlfoundry")]:
                runs.append(asyncio.run(bench(args, workers, cli, dbs, cache, questions)))
                report(args, runs[-1])
    plain, typed = wire_cost()
    print(f"\nSerialising one response: dicts + json.dumps {plain:.1f} µs; through "
          f"openai.types.chat.ChatCompletion (used) {typed:.1f} µs")  # fmt: skip
    ok = all(passed(run) for run in runs)
    sys.exit(0 if ok or not args.strict else 1)


if __name__ == "__main__":
    main()
