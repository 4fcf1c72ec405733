"""``sqlfoundry serve --workers N``: several processes on one port, one set of keys and
one rate limit per key across them."""

from __future__ import annotations

import json
import multiprocessing
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gateway_testing import answer

from sqlfoundry.serve.errors import GatewayError
from sqlfoundry.serve.limits import SharedRateLimiter

CLI = Path(sys.executable).with_name("sqlfoundry")


def _take(path: str, tokens: int, out) -> None:
    limiter = SharedRateLimiter(path, per_minute=6, capacity=5, clock=lambda: 100.0)
    ok = 0
    for _ in range(tokens):
        try:
            limiter.check("key:a")
            ok += 1
        except GatewayError:
            pass
    out.put(ok)


def test_two_processes_share_one_bucket(tmp_path):
    """Two processes asking 5 times each for a key with a burst of 5: 5 in all, not 10."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_take, args=(str(tmp_path / "l.sqlite"), 5, out))
             for _ in range(2)]  # fmt: skip
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
    assert sum(out.get(timeout=5) for _ in procs) == 5


def test_refill_and_retry_after(tmp_path):
    now = [0.0]
    limiter = SharedRateLimiter(tmp_path / "l.sqlite", per_minute=60, capacity=2,
                                clock=lambda: now[0])  # fmt: skip
    limiter.check("k")
    limiter.check("k")
    with pytest.raises(GatewayError) as info:
        limiter.check("k")
    assert info.value.status == 429
    now[0] = 1.0  # one token back after a second
    limiter.check("k")
    limiter.check("other")  # every identity has its own bucket
    limiter.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    request.add_header("Connection", "close")  # a new connection: any worker may take it
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_two_workers_share_keys_and_rate_limits(fake, tmp_path):
    answer(fake, *["SELECT 1"] * 50)
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[gateway]\napi_keys = ["k1"]\nworkers = 2\n'
        "[gateway.rate_limit]\nrequests_per_minute = 6\nburst = 4\n"
        f'[services.s]\ntype = "openai"\nupstream = {{ base_url = "{fake.base_url}", '
        'model = "fake-model" }\n'
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(CLI), "serve", "--config", str(config), "--port", str(port)],
                            stderr=subprocess.PIPE, text=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})  # fmt: skip
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2:  # both workers answer on the one port
            assert proc.poll() is None and time.monotonic() < deadline, "workers did not start"
            try:
                status, health = _get(f"{base}/health")
                pids.add(health["pid"])
            except OSError:
                time.sleep(0.1)
        chat = {
            "model": "s",
            "messages": [{"role": "user", "content": "CREATE TABLE t (x int);\nHow many rows?"}],
        }
        for key in (None, "wrong"):  # refused by whichever worker takes the connection
            assert {_get(f"{base}/v1/chat/completions", key, chat)[0] for _ in range(6)} == {401}
        start = time.monotonic()
        codes = [_get(f"{base}/v1/chat/completions", "k1", chat)[0] for _ in range(12)]
        refilled = int((time.monotonic() - start) * 6 / 60)
        # One bucket of 4 for the key, whichever worker answers (4 per worker would be 8).
        assert 4 <= codes.count(200) <= 4 + refilled, codes
        assert codes.count(429) == 12 - codes.count(200)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert "2 worker processes" in stderr
    assert "k1" not in stderr
