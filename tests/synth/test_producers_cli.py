"""`sqlfoundry pairs ...` end to end on the demo databases, and pairs flowing on into
`refine`, `export` and `eval`; the LLM engine against the fake endpoint."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from producer_fakes import PairModel
from typer.testing import CliRunner

from sqlfoundry.cli import app

runner = CliRunner()
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "producers"


def pairs_cli(*args: str):
    return runner.invoke(app, ["pairs", *args], catch_exceptions=False)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_from_chat_without_databases_and_its_rejects(tmp_path):
    out = tmp_path / "chat.jsonl"
    result = pairs_cli("from-chat", str(FIXTURES / "chats.jsonl"), "--out", str(out),
                       "--include-failures")  # fmt: skip
    assert result.exit_code == 0, result.output
    records = lines(out)
    assert len(records) == 10 and sum(not r["success"] for r in records) == 1
    assert records[0] == {
        "id": "chats-1-2.0", "db_id": "bookshop", "question": "How many fantasy books do we sell?",
        "SQL": "SELECT count(*) FROM books WHERE genre = 'Fantasy'", "success": True,
        "meta": {"source": f"{FIXTURES / 'chats.jsonl'}:1 message 2", "engine": "offline",
                 "provenance": [{"producer": "message_extractor", "engine": "offline"}]},
    }  # fmt: skip
    rejects = lines(tmp_path / "chat.rejects.jsonl")
    assert [r["source"].rsplit("/", 1)[1] for r in rejects] == [
        "chats.jsonl:3",
        "chats.jsonl:6 message 0",
        "chats.jsonl:6 message 2",
    ]
    assert "10 pairs (1 unsuccessful), 3 rejects" in result.output
    assert "reject: " in result.output and "chats.jsonl:3: invalid JSON" in result.output


def test_from_chat_segmented_validated_to_csv(demo_root, tmp_path):
    out = tmp_path / "chat.csv"
    result = pairs_cli("from-chat", str(FIXTURES / "chats.jsonl"), "--extractor", "segmented",
                       "--db-root", str(demo_root), "--db", "bookshop", "--validate",
                       "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 9 and all(r["success"] == "true" for r in rows)
    assert rows[2]["context"] == ("User: Show me the titles of books that cost more than 30 dollars. | "
                                  "Assistant: Let me look that up. | Assistant: There are 11 such books.")  # fmt: skip


def test_from_log_then_refine_export_and_eval(demo_root, tmp_path):
    out = tmp_path / "log.jsonl"
    result = pairs_cli("from-log", str(FIXTURES / "bookshop_log.sql"), "--db-root", str(demo_root),
                       "--db", "bookshop", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(lines(out)) == 4 and len(lines(tmp_path / "log.rejects.jsonl")) == 3
    refined = tmp_path / "refined"
    done = runner.invoke(app, ["refine", "--input", str(out), "--db-root", str(demo_root), "--out",
                               str(refined), "--workers", "0"], catch_exceptions=False)  # fmt: skip
    assert done.exit_code == 0, done.output
    data = lines(refined / "data.jsonl")
    assert {r["id"] for r in data} >= {"bookshop_log-2", "bookshop_log-11"}
    assert all(r["prompt"] and r["cot_reasoning"] for r in data)
    exported = runner.invoke(app, ["export", str(refined), "--format", "openai", "--out",
                                   str(tmp_path / "ft")], catch_exceptions=False)  # fmt: skip
    assert exported.exit_code == 0 and (tmp_path / "ft" / "openai.jsonl").exists()
    report = tmp_path / "report.json"
    scored = runner.invoke(app, ["eval", "--gold", str(out), "--pred", str(out), "--db-root",
                                 str(demo_root), "--workers", "0", "--out", str(report)],
                           catch_exceptions=False)  # fmt: skip
    assert scored.exit_code == 0, scored.output
    assert (
        json.loads(report.read_text())["ex"] == 1.0 and json.loads(report.read_text())["count"] == 4
    )


def test_personas_teachings_then_from_schema_and_resume(demo_root, tmp_path):
    personas, teachings = tmp_path / "personas.json", tmp_path / "teachings.json"
    assert pairs_cli("personas", "--db-root", str(demo_root), "--count", "2", "--out",
                     str(personas)).exit_code == 0  # fmt: skip
    assert pairs_cli("teachings", "--db-root", str(demo_root), "--db", "clinic", "--out",
                     str(teachings)).exit_code == 0  # fmt: skip
    assert sorted(json.loads(personas.read_text())) == ["airline", "bookshop", "clinic"]
    assert 3 <= len(json.loads(teachings.read_text())["clinic"]) <= 10
    out = tmp_path / "schema.jsonl"
    args = ("from-schema", "--db-root", str(demo_root), "--db", "clinic", "--count", "2",
            "--complexity", "simple,moderate", "--personas", str(personas), "--teachings",
            str(teachings), "--validate", "--success-only", "--dedupe", "exact", "--out", str(out))  # fmt: skip
    first = pairs_cli(*args)
    assert first.exit_code == 0, first.output
    records = lines(out)
    assert len(records) == 8 and {r["meta"]["persona"] for r in records} == {
        p["role"] for p in json.loads(personas.read_text())["clinic"]
    }
    assert (tmp_path / "schema.run" / "producers").is_dir()
    again = pairs_cli(*args)
    assert again.exit_code == 0
    assert lines(out) == records
    assert "│      4 │" in again.output.split("schema_synthesizer")[1].split("\n")[0]  # 4 reused


def test_evolve_depth_and_breadth_keeping_the_input(demo_root, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"db_id": "bookshop", "question": "How many fantasy books?",
                                  "SQL": "SELECT count(*) FROM books WHERE genre = 'Fantasy'"})
                      + "\n{broken\n")  # fmt: skip
    out = tmp_path / "evolved.jsonl"
    result = pairs_cli("evolve", str(source), "--db-root", str(demo_root), "--depth", "1",
                       "--breadth", "2", "--keep-original", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    records = lines(out)
    assert records[0]["question"] == "How many fantasy books?"
    assert len(records) == 3 and len({r["SQL"] for r in records[1:]}) == 1
    assert records[1]["meta"]["evolved_from"].endswith("-d0")
    [reject] = lines(tmp_path / "evolved.rejects.jsonl")
    assert reject["source"] == f"{source}:2" and reject["reason"].startswith("invalid JSON")


def test_bad_options_stop_with_one_line(demo_root, tmp_path):
    out = str(tmp_path / "x.jsonl")
    assert "give --breadth N" in pairs_cli("evolve", "in.jsonl", "--out", out).output
    result = pairs_cli(
        "from-schema", "--db-root", str(demo_root), "--engine", "magic", "--out", out
    )
    # typer refuses a value outside the --engine choices, listing them.
    assert result.exit_code == 2 and "Invalid value for '--engine'" in result.output
    result = pairs_cli("from-schema", "--db-root", str(demo_root), "--db", "nope", "--out", out)
    assert result.exit_code == 2 and "unknown database(s): nope" in result.output
    result = pairs_cli("from-schema", "--db-root", str(demo_root), "--out", str(tmp_path / "x.txt"))
    assert result.exit_code == 2 and "--out must end in .jsonl or .csv" in result.output
    result = pairs_cli("from-schema", "--db-root", str(demo_root), "--engine", "llm", "--out", out)
    assert result.exit_code == 2 and "LLM" in result.output


@pytest.mark.parametrize("command", ["from-schema", "personas"])
def test_the_llm_engine_on_the_command_line(demo_root, tmp_path, fake, command):
    model = PairModel()
    fake.handler = model.handler
    out = tmp_path / ("out.jsonl" if command == "from-schema" else "out.json")
    result = pairs_cli(command, "--db-root", str(demo_root), "--db", "airline", "--engine", "llm",
                       "--llm-base-url", fake.base_url, "--llm-model", "fake-model",
                       "--cache-dir", str(tmp_path / "cache"), "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    if command == "from-schema":
        records = lines(out)
        assert len(records) == 5 and all(r["success"] for r in records)
        assert records[0]["SQL"] == "SELECT count(*) FROM airports"
        assert "schema_synthesizer" in result.output  # the usage table names the producer
    else:
        assert [p["role"] for p in json.loads(out.read_text())["airline"]] == ["Buyer", "Auditor"]
