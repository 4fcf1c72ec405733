"""Tables and columns named in any script: 顧客, заказы, élèves, Ölçüm.

A non-ASCII initial once sent the alias chooser (and the CTE namer of the
rewrites) into an endless loop: synth, refine and the gateway's local mode hung
at 100% CPU. Every command now runs on such a database, each under a timeout.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from reliability_testing import CLI, cli_env, sqlfoundry

from sqlfoundry.synth.rewrites.base import fresh_name, is_plain_identifier
from sqlfoundry.synth.sampling.styles import _initials

pytestmark = pytest.mark.timeout(300)

NAMES = ["顧客", "Ölçüm", "élèves", "заказы", "Ölçüm_değer", "顧客 注文"]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_short_aliases_of_unicode_tables_are_found_at_once(dialect):
    taken = {"t", "t2", "ö"}
    for name in NAMES:
        alias = _initials(name, taken, dialect)
        assert alias.isascii() and alias.isidentifier() and alias not in taken, (name, alias)


@pytest.mark.timeout(10)
def test_fresh_names_for_unicode_bases_are_bare_identifiers():
    assert fresh_name("élèves_stats", set()) == "eleves_stats"
    assert fresh_name("Ölçüm_cm", set()) == "Olcum_cm"
    for base in ["顧客_subset", "заказы_новый", "顧客"]:
        name = fresh_name(base, {"t", "subset"})
        assert is_plain_identifier(name), (base, name)


@pytest.fixture(scope="module")
def synth_run(unicode_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("unicode_synth")
    result = sqlfoundry("synth", "--db-root", str(unicode_root), "--num-per-db", "30",
                        "--seed", "0", "--out", str(tmp / "run"), env=cli_env(tmp))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return tmp / "run"


def test_schema_lists_the_unicode_tables(unicode_root: Path, tmp_path: Path):
    result = sqlfoundry("schema", "unicode_db", "--db-root", str(unicode_root), "-f", "compact",
                        env=cli_env(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ["顧客", "заказы", "élèves", "Ölçüm", "öğrenci"]:
        assert name in result.stdout


def test_synth_makes_records_over_every_unicode_table(synth_run: Path):
    records = [json.loads(line) for line in (synth_run / "data.jsonl").read_text().splitlines()]
    assert len(records) >= 10
    sql = " ".join(r["SQL"] for r in records)
    assert sum(name in sql for name in ["顧客", "заказы", "élèves", "Ölçüm"]) >= 3
    assert all(r["question"] and r["cot_reasoning"] for r in records)


def test_refine_and_eval_on_the_synthesized_pairs(synth_run: Path, unicode_root: Path,
                                                   tmp_path: Path):  # fmt: skip
    env = cli_env(tmp_path)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join((synth_run / "data.jsonl").read_text().splitlines(True)[:6]))
    refined = sqlfoundry("refine", "--input", str(pairs), "--db-root", str(unicode_root),
                         "--out", str(tmp_path / "refined"), env=env)  # fmt: skip
    assert refined.returncode == 0, refined.stderr
    assert (tmp_path / "refined" / "data.jsonl").read_text().strip()
    records = [json.loads(line) for line in (synth_run / "data.jsonl").read_text().splitlines()]
    (tmp_path / "pred.sql").write_text("".join(" ".join(r["SQL"].split()) + "\n" for r in records))
    report = tmp_path / "report.json"
    scored = sqlfoundry("eval", "--gold", str(synth_run / "data.jsonl"), "--pred",
                        str(tmp_path / "pred.sql"), "--db-root", str(unicode_root), "--out",
                        str(report), env=env)  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert json.loads(report.read_text())["ex"] == 1.0


def test_a_method_runs_on_the_unicode_questions(synth_run: Path, unicode_root: Path,
                                                tmp_path: Path):  # fmt: skip
    config = tmp_path / "run.toml"
    config.write_text(f'[dataset]\ngold = "{synth_run / "data.jsonl"}"\ndb_root = "{unicode_root}"\n'
                      '\n[[tasks]]\nid = "offline"\ntype = "generate"\nmethod = "retrieval"\n'
                      'eval = ["ex"]\n')  # fmt: skip
    result = sqlfoundry("run", str(config), "--out", str(tmp_path / "out"), env=cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["tasks"]["offline"]["ex"] > 0


def test_the_gateway_local_mode_answers_on_unicode_tables(unicode_root: Path, tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([str(CLI), "serve", "--db-root", str(unicode_root), "--no-auth",
                             "--port", str(port)], env=cli_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, health = time.monotonic() + 180, {}
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as reply:
                    health = json.loads(reply.read())
                if health["status"] != "starting":
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert health.get("status") == "ok", (health, proc.poll())
        body = {"model": "nl2sql", "db_id": "unicode_db",
                "messages": [{"role": "user", "content": "How many élèves are there?"}]}  # fmt: skip
        request = urllib.request.Request(base + "/v1/chat/completions",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as reply:
            answer = json.loads(reply.read())
        choice = answer["choices"][0]["sqlfoundry"]
        assert choice["valid"] is True and "élèves" in choice["sql"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
