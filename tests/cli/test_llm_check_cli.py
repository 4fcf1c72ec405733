"""`sqlfoundry llm-check` against the fake OpenAI-compatible server on 127.0.0.1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("sqlfoundry")


@pytest.fixture
def fake_port():
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "llm" / "fake_openai.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("PORT "), line
        yield int(line.split()[1])
    finally:
        proc.kill()
        proc.wait(timeout=5)


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), "llm-check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        # the session's private caches go on, so a run without --cache-dir stays in tmp
        env={
            "PATH": "/usr/bin:/bin",
            "OPENAI_API_KEY": "sk-test",
            "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"],
            "SQLFOUNDRY_CACHE_DIR": os.environ["SQLFOUNDRY_CACHE_DIR"],
            **(env or {}),
        },  # fmt: skip
    )


def test_flags_reach_the_endpoint_and_the_prompt_is_answered(fake_port, tmp_path):
    result = run(
        "--llm-base-url", f"http://127.0.0.1:{fake_port}/v1", "--llm-model", "fake-model",
        "--prompt", "Say hi", "--cache-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"ok: http://127.0.0.1:{fake_port}/v1 serves fake-model" in result.stdout
    assert "Say hi" in result.stdout
    assert "sk-test" not in result.stdout + result.stderr


def test_config_file_is_read_and_flags_win(fake_port, tmp_path):
    config = tmp_path / "sqlfoundry.toml"
    config.write_text('[llm]\nbase_url = "http://127.0.0.1:1/v1"\nmodel = "fake-model"\n')
    result = run("--config", str(config), "--llm-base-url", f"http://127.0.0.1:{fake_port}/v1")
    assert result.returncode == 0, result.stderr
    assert "serves fake-model" in result.stdout


def test_unreachable_endpoint_fails_fast_with_one_message(tmp_path):
    result = run("--llm-base-url", "http://127.0.0.1:1/v1", "--llm-model", "m")
    assert result.returncode == 2
    assert "http://127.0.0.1:1/v1 model=m: cannot reach the LLM endpoint" in result.stderr
    assert result.stderr.count("error:") == 1


def test_missing_endpoint_says_how_to_set_it():
    result = run()
    assert result.returncode == 2
    assert "no LLM endpoint configured" in result.stderr
    assert "--llm-base-url or OPENAI_BASE_URL" in result.stderr


def test_json_is_one_object(fake_port, tmp_path):
    import json

    result = run("--llm-base-url", f"http://127.0.0.1:{fake_port}/v1", "--llm-model", "fake-model",
                 "--prompt", "Say hi", "--cache-dir", str(tmp_path), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert result.stdout.count("\n") == 1
    assert list(data) == ["command", "ok", "base_url", "model", "models_listed", "answer", "usage"]
    assert data["ok"] is True and "Say hi" in data["answer"] and data["usage"]
