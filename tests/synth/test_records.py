"""Reading input pairs, checking them, and the output record format."""

from __future__ import annotations

from pathlib import Path

from synth_testing import run

from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.records import InputCheck, output_record, read_pairs


def test_read_pairs_keeps_going_past_bad_lines(tmp_path: Path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        '{"db_id": "bookshop", "question": "How many books?", "query": "SELECT count(*) FROM books"}\n'
        "{not json\n"
        '{"db_id": "clinic", "question": "Doctors?", "SQL": "SELECT name FROM doctors", '
        '"evidence": "doctors work here", "source_id": 9}\n'
        "[1, 2]\n"
    )
    samples, problems = read_pairs(path)
    assert [(s.id, s.db_id, s.sql, s.evidence) for s in samples] == [
        ("pair-000001", "bookshop", "SELECT count(*) FROM books", None),
        ("pair-000003", "clinic", "SELECT name FROM doctors", "doctors work here"),
    ]
    assert samples[1].meta == {"source": f"{path}:3", "input": {"source_id": 9}}
    assert [(p["source"], p["reason"].split(":")[0]) for p in problems] == [
        (f"{path}:2", "unreadable line"),
        (f"{path}:4", "unreadable line"),
    ]


def test_input_check_rejects_with_reasons(demo_ctx):
    batch = [
        Sample(
            id="a", db_id="bookshop", question="How many books?", sql="SELECT count(*) FROM books"
        ),
        Sample(id="b", db_id="bookshop", question="?", sql=None),
        Sample(id="c", db_id="nowhere", question="q", sql="SELECT 1"),
        Sample(id="d", db_id="bookshop", question="q", sql="DELETE FROM books"),
        Sample(id="e", db_id="", question=None, sql="SELECT 1"),
    ]
    out = run(InputCheck().process(batch, demo_ctx))
    assert [s.id for s in out.samples] == ["a"]
    reasons = {r.sample.id: r.reason for r in out.rejects}
    assert reasons["b"] == "missing field: SQL"
    assert reasons["c"] == "unknown database: nowhere"
    assert reasons["d"].startswith("not a read-only query: ")
    assert reasons["e"] == "missing field: db_id, question"


def test_output_record_uses_the_established_names():
    sample = Sample(id="x", db_id="d", question="q", sql="SELECT 1", cot="think", prompt="p",
                    component_difficulty="easy", evidence="e", meta={"engine": "offline"})  # fmt: skip
    assert output_record(sample) == {
        "id": "x", "db_id": "d", "question": "q", "SQL": "SELECT 1", "evidence": "e",
        "prompt": "p", "cot_reasoning": "think", "sql_component_difficulty": "easy",
        "sql_execution_difficulty": None, "meta": {"engine": "offline"},
    }  # fmt: skip
