"""Scripting with the CLI: ``--json`` prints one JSON object on stdout and nothing else,
``-q`` prints nothing but errors, ``-`` is stdin / stdout, every output path is checked
before any work (one line naming it), and ``| head`` ends quietly. Files stay in tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqlfoundry.cli import app

runner = CliRunner()
CLI = Path(sys.executable).with_name("sqlfoundry")
QUERIES = [
    ("SELECT count(*) FROM books", "bookshop"),
    ("SELECT title FROM books ORDER BY price DESC LIMIT 3", "bookshop"),
    ("SELECT count(*) FROM patients", "clinic"),
    ("DELETE FROM books", "bookshop"),
]


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    path = tmp_path / "gold.sql"
    path.write_text("".join(f"{sql}\t{db}\n" for sql, db in QUERIES))
    return path


def invoke(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def one_object(stdout: str) -> dict:
    """stdout is one JSON object and nothing else."""
    assert stdout.endswith("\n") and stdout.count("\n") == 1, stdout
    data = json.loads(stdout)
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------- --json


def test_eval_json_is_one_object_with_the_report(demo_root, gold, tmp_path):
    report = tmp_path / "report.json"
    result = invoke("eval", "--gold", str(gold), "--pred", str(gold), "--db-root", str(demo_root),
                    "--workers", "0", "--out", str(report), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "written", "report"]
    assert data["command"] == "eval" and data["written"] == [str(report)]
    assert data["report"]["count"] == 4 and data["report"] == json.loads(report.read_text())
    assert "by difficulty" not in result.stderr  # the rich summary is off, not moved


def test_exec_and_classify_json(demo_root, gold, tmp_path):
    result = invoke("exec", str(gold), str(tmp_path / "r.jsonl"), "--db-root", str(demo_root),
                    "--workers", "0", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "written", "queries", "seconds", "status"]
    assert data["status"] == {"ok": 3, "error": 0, "timeout": 0, "rejected": 1}
    assert result.stderr == ""
    result = invoke("classify", str(gold), str(tmp_path / "c.jsonl"), "--json")
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "written", "queries", "seconds", "hardness", "unreadable"]
    assert data["hardness"] == {"easy": 2, "medium": 1, "hard": 0, "extra": 0}  # + the DELETE


def test_synth_refine_and_export_json(demo_root, tmp_path):
    run_dir = tmp_path / "run"
    result = invoke("synth", "--db-root", str(demo_root), "--db", "bookshop", "--num-per-db", "4",
                    "--workers", "0", "--out", str(run_dir), "--show", "2", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "run_dir", "written", "summary", "usage", "samples"]
    assert data["command"] == "synth" and data["usage"] is None and len(data["samples"]) == 2
    assert data["summary"] == json.loads((run_dir / "summary.json").read_text())
    assert [Path(p).name for p in data["written"]] == [
        "data.jsonl", "rejects.jsonl", "summary.json", "report.html"]  # fmt: skip
    # refine reads its pairs from standard input
    pairs = (run_dir / "data.jsonl").read_text()
    result = invoke("refine", "--input", "-", "--db-root", str(demo_root), "--workers", "0",
                    "--out", str(tmp_path / "refined"), "--json", stdin=pairs)  # fmt: skip
    assert result.exit_code == 0, result.output
    refined = one_object(result.stdout)
    assert refined["command"] == "refine" and refined["summary"]["inputs"] == pairs.count("\n")
    result = invoke("export", str(run_dir), "--format", "openai", "--out", str(tmp_path / "e"),
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "written", "unreadable", "report"]
    assert data["report"]["format"] == "openai" and data["written"] == data["report"]["files"]


def test_pairs_json(demo_root, tmp_path):
    log = tmp_path / "log.sql"
    log.write_text("SELECT count(*) FROM books;\nSELECT name FROM nowhere;\n")
    result = invoke("pairs", "from-log", str(log), "--db-root", str(demo_root), "--db", "bookshop",
                    "--out", str(tmp_path / "p.jsonl"), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "written", "pairs", "unsuccessful", "rejects", "producers",
                          "usage"]  # fmt: skip
    assert data["command"] == "pairs from-log" and data["pairs"] >= 1
    assert data["written"] == [str(tmp_path / "p.jsonl"), str(tmp_path / "p.rejects.jsonl"),
                               str(tmp_path / "p.run")]  # fmt: skip
    result = invoke("pairs", "personas", "--db-root", str(demo_root), "--db", "clinic", "--count", "2",
                    "--out", str(tmp_path / "personas.json"), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "written", "personas", "usage"]
    assert data["personas"] == {"clinic": 2}


def test_prepare_sft_and_run_json(demo_root, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"db_id": "bookshop", "question": "How many books?",
                                 "query": "SELECT count(*) FROM books"}) + "\n")  # fmt: skip
    result = invoke("prepare-sft", "--gold", str(pairs), "--db-root", str(demo_root), "--workers", "0",
                    "--out", str(tmp_path / "sft"), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "out_dir", "written", "summary", "usage", "samples"]
    assert data["summary"]["records"] == 1
    result = invoke("run", "--db-root", str(demo_root), "--limit", "2", "--out", str(tmp_path / "m"),
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = one_object(result.stdout)
    assert list(data) == ["command", "run_dir", "report", "written"]
    assert list(data["report"]["tasks"]) == ["retrieval", "exec_vote"]


# --------------------------------------------------------------------------- -q


def test_quiet_prints_nothing_but_a_warning(demo_root, gold, tmp_path):
    result = invoke("eval", "--gold", str(gold), "--pred", str(gold), "--db-root", str(demo_root),
                    "--workers", "0", "-q")  # fmt: skip
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    result = invoke("synth", "--db-root", str(demo_root), "--db", "clinic", "--num-per-db", "2",
                    "--workers", "0", "--out", str(tmp_path / "s"), "--quiet")  # fmt: skip
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    short = tmp_path / "short.sql"
    short.write_text("SELECT count(*) FROM books\tbookshop\n")
    result = invoke("eval", "--gold", str(gold), "--pred", str(short), "--db-root", str(demo_root),
                    "--workers", "0", "-q")  # fmt: skip
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.startswith("warning:")  # warnings are not silenced
    assert invoke("exec", str(gold), "x.jsonl", "--json", "-q").exit_code == 2


# --------------------------------------------------------------------------- '-'


def test_dash_reads_stdin_and_writes_stdout(demo_root, gold, tmp_path):
    result = invoke("exec", "-", "-", "--db-root", str(demo_root), "--workers", "0",
                    stdin=gold.read_text())  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "rejected"]
    result = invoke("eval", "--gold", str(gold), "--pred", "-", "--db-root", str(demo_root),
                    "--workers", "0", "--items", "-", stdin=gold.read_text())  # fmt: skip
    assert result.exit_code == 0, result.output
    items = [json.loads(x) for x in result.stdout.splitlines()]  # the summary went to stderr
    assert len(items) == 4 and "EX" in result.stderr
    assert list(tmp_path.iterdir()) == [gold]  # no file named '-'


def test_pairs_to_stdout(demo_root, tmp_path):
    log = tmp_path / "log.sql"
    log.write_text("SELECT count(*) FROM books;\nSELECT name FROM nowhere;\n")
    args = [
        "pairs",
        "from-log",
        str(log),
        "--db-root",
        str(demo_root),
        "--db",
        "bookshop",
        "--out",
        "-",
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    pairs = [json.loads(x) for x in result.stdout.splitlines()]
    assert pairs and all(p["db_id"] == "bookshop" for p in pairs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.sql"]  # checkpoints were temporary
    result = invoke(*args, "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "rejects.jsonl").is_file()


def test_dash_misuse_is_one_line(demo_root, gold, tmp_path):
    both = invoke("eval", "--gold", "-", "--pred", "-", "--db-root", str(demo_root))
    assert both.exit_code == 2 and both.stderr.count("\n") == 1
    assert "only one input can be read from standard input" in both.stderr
    two = invoke("eval", "--gold", str(gold), "--pred", str(gold), "--db-root", str(demo_root),
                 "--out", "-", "--items", "-")  # fmt: skip
    assert two.exit_code == 2 and "only one output can go to standard output" in two.stderr
    json_too = invoke("exec", str(gold), "-", "--db-root", str(demo_root), "--json")
    assert json_too.exit_code == 2 and "both write to standard output" in json_too.stderr
    folder = invoke("synth", "--db-root", str(demo_root), "--out", "-")
    assert folder.exit_code == 2 and "a folder is needed here" in folder.stderr
    config_too = invoke("refine", "--input", "-", "--config", "-", "--db-root", str(demo_root))
    assert config_too.exit_code == 2
    assert "standard input ('-'): the input file, --config" in config_too.stderr


def test_export_and_a_config_from_stdin(demo_root, tmp_path):
    records = [{"db_id": "bookshop", "question": "How many books?", "SQL": "SELECT 1",
                "prompt": "Q: How many books?", "cot_reasoning": "SELECT 1"}]  # fmt: skip
    result = invoke("export", "-", "--format", "openai", "--out", str(tmp_path / "e"), "--json",
                    stdin="".join(json.dumps(r) + "\n" for r in records))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert one_object(result.stdout)["report"]["written"] == 1
    piped = invoke("export", "-", "--format", "omnisql", "--out", "-",
                   stdin="".join(json.dumps(r) + "\n" for r in records))  # fmt: skip
    assert piped.exit_code == 0, piped.output
    assert [r["output_seq"] for r in json.loads(piped.stdout)] == ["SELECT 1"]
    several = invoke("export", str(tmp_path / "e"), "--format", "llamafactory", "--out", "-")
    assert several.exit_code == 2 and "writes several files" in several.stderr
    result = invoke("synth", "--db-root", str(demo_root), "--db", "clinic", "--config", "-",
                    "--workers", "0", "--out", str(tmp_path / "s"), "--json",
                    stdin="[synth]\nnum_per_db = 3\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = one_object(result.stdout)["summary"]
    assert summary["inputs"] == 1 and 0 < summary["records"] <= 3  # num_per_db from stdin


def test_symlink_and_fifo_outputs_on_the_command_line(demo_root, gold, tmp_path):
    target = tmp_path / "target.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = invoke("eval", "--gold", str(gold), "--pred", str(gold), "--db-root", str(demo_root),
                    "--workers", "0", "--out", str(link))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and json.loads(target.read_text())["count"] == 4
    fifo = tmp_path / "items.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = invoke("classify", str(gold), str(fifo))
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert fifo.is_fifo() and len(got[0].decode().splitlines()) == 4


# --------------------------------------------------------------------------- checked first


def _bad_outputs(tmp_path: Path, demo_root: Path, gold: Path) -> list[tuple[list[str], str]]:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    bad_file, bad_dir = str(blocker / "x.json"), str(blocker)
    db = ["--db-root", str(demo_root)]
    return [
        (["eval", "--gold", str(gold), "--pred", str(gold), *db, "--html", bad_file], bad_file),
        (["exec", str(gold), bad_file, *db], bad_file),
        (["classify", str(gold), bad_file], bad_file),
        (["synth", *db, "--out", bad_dir], bad_dir),
        (["refine", "--input", str(gold), *db, "--out", bad_dir], bad_dir),
        (["export", str(gold), "--format", "jsonl", "--out", bad_dir], bad_dir),
        (["prepare-sft", "--gold", str(gold), *db, "--out", bad_dir], bad_dir),
        (["search", "--gold", str(gold), *db, "--out", bad_dir], bad_dir),
        (["run", *db, "--out", bad_dir], bad_dir),
        (["pairs", "from-log", str(gold), *db, "--out", bad_file.replace(".json", ".jsonl")],
         bad_file.replace(".json", ".jsonl")),
        (["pairs", "from-schema", *db, "--out", str(tmp_path / "p.jsonl"), "--run-dir", bad_dir],
         bad_dir),
        (["pairs", "personas", *db, "--out", bad_file], bad_file),
    ]  # fmt: skip


def test_every_command_refuses_a_bad_output_path_first_in_one_line(demo_root, gold, tmp_path):
    for args, named in _bad_outputs(tmp_path, demo_root, gold):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and named in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output


def test_eval_fails_before_running_any_query(demo_root, tmp_path):
    forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
    slow = tmp_path / "slow.sql"
    slow.write_text(f"{forever}\tbookshop\n" * 3)
    (tmp_path / "blocker").write_text("")
    for args in (["eval", "--gold", str(slow), "--pred", str(slow), "--items"],
                 ["exec", str(slow)]):  # fmt: skip
        done = subprocess.run([str(CLI), *args, str(tmp_path / "blocker" / "x.jsonl"),
                               "--db-root", str(demo_root), "--timeout", "20", "--workers", "1"],
                              capture_output=True, text=True, timeout=15)  # fmt: skip
        assert done.returncode == 2 and "is a file, not a folder" in done.stderr


# --------------------------------------------------------------------------- | head


def test_a_closed_pipe_ends_quietly(tmp_path):
    big = tmp_path / "big.sql"
    big.write_text("SELECT a FROM t\tdb\n" * 20000)
    for args in (["classify", str(big), "-"], ["classify", str(big), "-", "-q"]):
        proc = subprocess.Popen([str(CLI), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)  # fmt: skip
        assert proc.stdout.readline().startswith(b"{")
        proc.stdout.close()  # what `| head -1` does
        code = proc.wait(timeout=120)
        stderr = proc.stderr.read().decode()
        proc.stderr.close()
        assert code == 141, stderr
        assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_tables_json_from_stdin_serves_every_reader(demo_root, gold):
    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.db.spider_tables import schema_to_spider

    manager = DatabaseManager(root=demo_root)
    tables = [schema_to_spider(manager.schema(d)) for d in ("bookshop", "clinic")]
    result = invoke("eval", "--gold", str(gold), "--pred", str(gold), "--db-root", str(demo_root),
                    "--workers", "0", "--metrics", "ex,em", "--tables", "-", "--json",
                    stdin=json.dumps(tables))  # fmt: skip
    assert result.exit_code == 0, result.output
    report = one_object(result.stdout)["report"]
    assert report["em"] == 0.75  # the gold DELETE is refused, the three queries match
