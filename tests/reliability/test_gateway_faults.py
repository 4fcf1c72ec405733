"""The gateway under faults: model-written writes, open quick mode, a dead upstream."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fake_openai import FakeRequest, Reply
from reliability_testing import cli_env, sqlfoundry
from starlette.testclient import TestClient

from sqlfoundry.serve import create_app, load_gateway_config
from sqlfoundry.serve.config import GatewaySettings

pytestmark = pytest.mark.timeout(120)


def _answering(text: str):
    def handler(request: FakeRequest) -> Reply | None:
        if request.path != "/v1/chat/completions":
            return None
        return Reply(json={"id": "u", "object": "chat.completion", "created": 0,
                           "model": "fake-model",
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": text}}]})  # fmt: skip

    return handler


def _config(demo_root: Path, base_url: str) -> dict:
    return {"gateway": {"db_root": str(demo_root)},
            "services": {"shop": {"type": "openai", "db_id": "bookshop",
                                  "upstream": {"base_url": base_url, "model": "fake-model"},
                                  "postprocess": {"validate": True}}}}  # fmt: skip


def _ask(client: TestClient) -> dict:
    reply = client.post("/v1/chat/completions", json={
        "model": "shop", "messages": [{"role": "user", "content": "Remove the cheap books"}]})  # fmt: skip
    assert reply.status_code == 200, reply.text
    return reply.json()["choices"][0]["sqlfoundry"]


@pytest.mark.parametrize("sql", ["DELETE FROM books WHERE price < 5",
                                 "UPDATE books SET price = 0", "DROP TABLE books",
                                 "SELECT 1; DELETE FROM books"])  # fmt: skip
def test_a_model_written_write_is_invalid_with_the_reason(fake, demo_root: Path, sql: str):
    fake.handler = _answering(f"```sql\n{sql}\n```")
    with TestClient(create_app(load_gateway_config(_config(demo_root, fake.base_url)),
                               env={})) as client:  # fmt: skip
        verdict = _ask(client)
    assert verdict["valid"] is False
    assert any("read-only" in e or "not a query" in e or "statement" in e
               for e in verdict["errors"]), verdict  # fmt: skip


def test_a_query_stays_valid(fake, demo_root: Path):
    fake.handler = _answering("SELECT title FROM books WHERE price < 5")
    with TestClient(create_app(load_gateway_config(_config(demo_root, fake.base_url)),
                               env={})) as client:  # fmt: skip
        verdict = _ask(client)
    assert verdict["valid"] is True and verdict["errors"] == []


def test_health_reports_each_upstream(fake, demo_root: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"  # closed once the block ends
    config = _config(demo_root, fake.base_url)
    config["services"]["down"] = {**config["services"]["shop"],
                                  "upstream": {"base_url": dead, "model": "m"}}  # fmt: skip
    with TestClient(create_app(load_gateway_config(config), env={})) as client:
        health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert health["services"]["shop"]["upstream"]["state"] == "up"
    down = health["services"]["down"]["upstream"]
    assert down["state"] == "down" and down["url"] == dead and "unreachable" in down["detail"]


def test_quick_mode_refuses_an_empty_key_and_an_unsaid_open_gateway(demo_root: Path,
                                                                      tmp_path: Path):  # fmt: skip
    env = cli_env(tmp_path)
    env.pop("SQLFOUNDRY_GATEWAY_API_KEY", None)
    empty = sqlfoundry("serve", "--db-root", str(demo_root), "--api-key", "", env=env, timeout=60)
    assert empty.returncode == 2 and "--api-key is empty" in empty.stderr
    unset = sqlfoundry("serve", "--db-root", str(demo_root), env=env, timeout=60)
    assert unset.returncode == 2 and "--no-auth" in unset.stderr
    from_env = sqlfoundry("serve", "--db-root", str(demo_root),
                          env={**env, "SQLFOUNDRY_GATEWAY_API_KEY": ""}, timeout=60)  # fmt: skip
    # an empty variable reads as no key at all: still refused, never an open gateway
    assert from_env.returncode == 2 and "--no-auth" in from_env.stderr
    both = sqlfoundry("serve", "--db-root", str(demo_root), "--api-key", "k", "--no-auth",
                      env=env, timeout=60)  # fmt: skip
    assert both.returncode == 2


def test_the_gateway_binds_to_loopback_by_default():
    assert GatewaySettings().host == "127.0.0.1"
