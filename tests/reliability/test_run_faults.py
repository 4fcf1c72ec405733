"""Runs under faults: a dead sampling worker, an endpoint that sends nothing usable,
malformed or failing answers, corrupt and duplicate databases."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from fake_openai import FakeRequest, Reply
from reliability_testing import cli_env, sqlfoundry

from llm_operators import AskOnce
from sqlfoundry.core.context import RunContext
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.llm import LLMClient, LLMConfig
from sqlfoundry.synth import sql_generator
from sqlfoundry.synth.sql_generator import SQLGenerator

pytestmark = pytest.mark.timeout(240)


# ------------------------------------------------------------------ a dead sampling worker

_real_sample = sql_generator.sample_database


def _dies_on_clinic(spec, *args):
    if spec.db_id == "clinic":
        os._exit(9)  # as the OOM killer would leave it: no exception, no answer
    return _real_sample(spec, *args)


def test_a_dead_sampling_worker_fails_only_its_database(demo_root: Path, monkeypatch):
    # The pool forks, so its workers see the patched function.
    monkeypatch.setattr(sql_generator, "sample_database", _dies_on_clinic)
    manager = DatabaseManager(root=demo_root)
    seeds = [Sample(id=db, db_id=db) for db in ("airline", "bookshop", "clinic")]
    with SafeExecutor(manager, workers=2, timeout=10) as executor:
        ctx = RunContext(databases=manager, executor=executor, seed=1)
        out = asyncio.run(SQLGenerator(num_per_db=6).process(seeds, ctx))
    made = {s.db_id for s in out.samples}
    assert made == {"airline", "bookshop"}
    (dead,) = [r for r in out.rejects if r.sample.db_id == "clinic"]
    assert "sampling worker process died" in dead.reason


# ------------------------------------------------------------------ nothing usable


def _chat(text: str):
    def handler(request: FakeRequest) -> Reply | None:
        if request.path != "/v1/chat/completions":
            return None
        n = int((request.body or {}).get("n") or 1)
        return Reply(json={"id": "x", "object": "chat.completion", "created": 0,
                           "model": "fake-model",
                           "choices": [{"index": i, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": text}}
                                       for i in range(n)]})  # fmt: skip

    return handler


def test_a_run_that_yields_nothing_fails_naming_the_reason(fake, demo_root: Path,
                                                           tmp_path: Path):  # fmt: skip
    fake.handler = _chat("Sorry, I cannot help with that.")
    result = sqlfoundry("synth", "--db-root", str(demo_root), "--db", "clinic", "--num-per-db",
                        "4", "--engine", "llm", "--llm-base-url", fake.base_url, "--llm-model",
                        "fake-model", "--workers", "0", "--out", str(tmp_path / "run"),
                        env=cli_env(tmp_path, OPENAI_API_KEY="x"))  # fmt: skip
    assert result.returncode == 1, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("error:"))
    assert "0 records" in line and "unparsable answer" in line
    assert "Sorry, I cannot help with that." in line


def test_an_offline_run_with_nothing_to_sample_fails(tmp_path: Path):
    root = tmp_path / "dbs" / "empty"
    root.mkdir(parents=True)
    conn = sqlite3.connect(root / "empty.sqlite")
    conn.execute("CREATE TABLE t (a INTEGER)")
    conn.close()
    result = sqlfoundry("synth", "--db-root", str(tmp_path / "dbs"), "--num-per-db", "3",
                        "--out", str(tmp_path / "run"), env=cli_env(tmp_path))  # fmt: skip
    assert result.returncode == 1
    assert "0 records from 1 inputs" in result.stderr and "no usable tables" in result.stderr


# ------------------------------------------------------------------ failed requests are not final


async def _run(fake, tmp_path: Path):
    config = LLMConfig(base_url=fake.base_url, model="fake-model", cache_dir=tmp_path / "cache",
                       max_retries=1, retry_base_delay=0.01, retry_max_delay=0.02)  # fmt: skip
    async with LLMClient(config, env={}) as client:
        ctx = RunContext(llm=client)
        pipeline = Pipeline([AskOnce()], batch_size=2)
        return await pipeline.arun(
            [Sample(id=f"q{i}", db_id="x") for i in range(4)], tmp_path / "run", ctx
        )


def test_a_failed_request_is_not_checkpointed_and_a_rerun_retries_it(fake, tmp_path: Path):
    broken = {"q1": Reply(body=b"<html>proxy error</html>", content_type="text/html"),
              "q2": Reply(status=503, json={"error": {"message": "overloaded"}})}  # fmt: skip
    fake.handler = lambda r: broken.get(r.body["messages"][0]["content"]) if r.body else None
    first = asyncio.run(_run(fake, tmp_path))
    assert len(first.samples) == 2 and len(first.rejects) == 2
    step = next((tmp_path / "run" / "steps").iterdir())
    # The failed batch is written for the steps after it, but marked unfinished.
    assert not (step / "done").exists() and list(step.glob("unfinished-*"))
    fake.handler = None  # the endpoint recovers
    second = asyncio.run(_run(fake, tmp_path))
    assert [s.id for s in second.samples] == ["q0", "q1", "q2", "q3"] and not second.rejects
    assert (step / "done").exists() and not list(step.glob("unfinished-*"))


def test_a_malformed_200_is_retried_in_a_run(fake, tmp_path: Path):
    fake.script.append(Reply(body=b'{"choices": [ {"mess'))
    result = asyncio.run(_run(fake, tmp_path))
    assert len(result.samples) == 4 and not result.rejects


# ------------------------------------------------------------------ corrupt and duplicate files


def test_a_corrupt_database_is_one_line_and_the_others_go_on(demo_root: Path, tmp_path: Path):
    root = tmp_path / "dbs"
    (root / "bad").mkdir(parents=True)
    shutil.copytree(demo_root / "bookshop", root / "bookshop")
    bad = root / "bad" / "bad.sqlite"
    shutil.copy(demo_root / "bookshop" / "bookshop.sqlite", bad)
    size = bad.stat().st_size
    with bad.open("r+b") as f:  # the catalogue reads; the table pages do not
        f.seek(8192)
        f.write(bytes(range(256)) * ((size - 12288) // 256))
    result = sqlfoundry("synth", "--db-root", str(root), "--num-per-db", "5", "--out",
                        str(tmp_path / "run"), env=cli_env(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rejects = [json.loads(x) for x in (tmp_path / "run" / "rejects.jsonl").read_text().splitlines()]
    (why,) = [r["reason"] for r in rejects if r["sample"]["db_id"] == "bad"]
    assert "bad.sqlite is not a readable SQLite database" in why
    assert (tmp_path / "run" / "data.jsonl").read_text().strip()


def test_a_db_id_found_twice_is_warned_with_the_file_that_wins(demo_root: Path, tmp_path: Path):
    root = tmp_path / "dbs"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
    shutil.copy(demo_root / "bookshop" / "bookshop.sqlite", root / "a" / "bookshop.sqlite")
    shutil.copy(demo_root / "bookshop" / "bookshop.sqlite", root / "b" / "bookshop.db")
    result = sqlfoundry("schema", "bookshop", "--db-root", str(root), "-f", "compact",
                        env=cli_env(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    warning = " ".join(result.stderr.split())
    assert "bookshop is found 2 times" in warning
    assert "using" in warning and "a/bookshop.sqlite" in warning and "b/bookshop.db" in warning
