"""`sqlfoundry serve`: config files, quick mode, and a real server process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import openai
import pytest
from gateway_testing import answer

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.serve import create_app, load_gateway_config

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("sqlfoundry")


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "serve", *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **(env or {})})  # fmt: skip


@pytest.mark.parametrize("name", ["gateway.toml", "gateway_local.toml"])
def test_example_configs_load_and_build(name, demo_root):
    data = tomllib.loads((REPO / "examples" / name).read_text())
    data["gateway"]["db_root"] = str(demo_root)
    config = load_gateway_config(data, base_dir=REPO / "examples", source=name)
    app = create_app(
        config, env={"SQLFOUNDRY_GATEWAY_KEYS": "k"}
    )  # serving would build the indexes
    assert set(app.state.gateway.services) == set(data["services"])


def test_relative_paths_are_taken_from_the_config_folder(tmp_path, concerts_root):
    (tmp_path / "dbs").symlink_to(concerts_root)
    (tmp_path / "mine.txt").write_text(
        "# name: mine\n# variables: question, schema\n@user\n$schema\n$question\n"
    )
    data = {"gateway": {"db_root": "dbs"},
            "services": {"s": {"type": "openai", "template": "mine.txt", "db_id": "concerts",
                               "upstream": {"base_url": "http://127.0.0.1:1/v1", "model": "m"}},
                         "l": {"type": "local", "local": {"cache_dir": "cache"}}}}  # fmt: skip
    config = load_gateway_config(data, base_dir=tmp_path)
    assert config.gateway.db_root == tmp_path / "dbs"
    assert config.services["s"].template == tmp_path / "mine.txt"
    assert config.services["l"].local.cache_dir == tmp_path / "cache"
    with pytest.raises(ConfigError, match="template file .*missing.txt not found"):
        bad = {**data, "services": {"s": {**data["services"]["s"], "template": "missing.txt"}}}
        load_gateway_config(bad, base_dir=tmp_path)


@pytest.mark.parametrize(
    "services, message",
    [
        ({"s": {"type": "openai"}}, "a openai service needs an [upstream] table"),
        ({"s": {"type": "local", "upstream": {"base_url": "http://x/v1", "model": "m"}}},
         "a local service answers itself"),
        ({"s": {"type": "openai", "upstream": {"base_url": "x", "model": "m"}}}, "is not an http(s) URL"),
        ({"s": {"type": "openai", "dialect": "oracle", "upstream": {"base_url": "http://x/v1", "model": "m"}}},
         "unknown SQL dialect 'oracle'"),
        ({"s": {"type": "openai", "tempreature": 1, "upstream": {"base_url": "http://x/v1", "model": "m"}}},
         "services.s.tempreature: unknown key"),
        ({"bad name": {"type": "local"}}, "service name 'bad name'"),
        ({"s": {"type": "local"}}, "service 's' needs databases: set db_root"),
        ({}, "configure at least one [services.NAME] table"),
    ],
)  # fmt: skip
def test_config_mistakes_are_reported_before_serving(services, message):
    with pytest.raises(ConfigError) as info:
        load_gateway_config({"services": services})
    assert message in str(info.value)


def test_flags_that_do_not_go_together():
    result = run_cli("--config", "x.toml", "--upstream-url", "http://127.0.0.1:1/v1")
    assert result.returncode == 2
    assert "give either --config FILE or the quick-mode flags" in result.stderr
    result = run_cli("--upstream-model", "m")
    assert result.returncode == 2
    assert "quick mode needs --upstream-url URL and --upstream-model NAME" in result.stderr
    result = run_cli("--type", "local")
    assert result.returncode == 2
    assert "quick mode needs --upstream-url and --upstream-model, or --db-root" in result.stderr


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_quick_mode_serves_an_upstream(fake, concerts_root):
    port = free_port()
    proc = subprocess.Popen(
        [str(CLI), "serve", "--upstream-url", fake.base_url, "--upstream-model", "fake-model",
         "--upstream-key-env", "UPSTREAM_KEY", "--api-key", "quick-key", "--db-root", str(concerts_root),
         "--db-id", "concerts", "--port", str(port)],
        stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "UPSTREAM_KEY": "sk-up"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    assert json.loads(r.read())["status"] == "ok"
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    "the server did not start"
                )
                time.sleep(0.1)
        seen = answer(fake, "SELECT count(*) FROM singer")
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="quick-key", max_retries=0
        )
        assert [m.id for m in client.models.list().data] == ["nl2sql"]
        reply = client.chat.completions.create(
            model="nl2sql", messages=[{"role": "user", "content": "How many singers?"}]
        )
        assert reply.choices[0].message.content == "SELECT count(*) FROM singer"
        assert fake.requests[-1].headers["authorization"] == "Bearer sk-up"
        assert "CREATE TABLE singer" in seen.prompt
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert f"sqlfoundry gateway on http://127.0.0.1:{port}" in stderr
    assert "model nl2sql: openai v2 prompt -> fake-model at " + fake.base_url in stderr
    assert "quick-key" not in stderr and "sk-up" not in stderr
