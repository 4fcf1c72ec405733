import json

from typer.testing import CliRunner

from sqlfoundry.cli import app

runner = CliRunner()


def test_classify_gold_file_keeps_fields_and_alignment(tmp_path):
    gold = tmp_path / "gold.sql"
    gold.write_text(
        "SELECT count(*) FROM singer\tconcert_singer\n"
        "no tab on this line\n"
        "SELECT name FROM singer WHERE age > 30 ORDER BY age LIMIT 1\tconcert_singer\n"
        "SELECT FROM WHERE\tconcert_singer\n"
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["classify", str(gold), str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4
    assert rows[0]["SQL"] == "SELECT count(*) FROM singer"
    assert rows[0]["db_id"] == "concert_singer"
    assert rows[0]["hardness"] == "easy"
    assert rows[0]["components"]["aggregates"] == 1
    assert rows[1]["hardness"] is None
    assert rows[1]["error"] == f"{gold}:2: expected 'SQL<TAB>db_id'"
    # where + order by + limit = 3 components of the first kind: hard
    assert rows[2]["hardness"] == "hard"
    assert rows[2]["components"]["spider_component1"] == 3
    assert rows[3]["hardness"] is None
    assert rows[3]["error"].startswith(f"{gold}:4: ")


def test_classify_jsonl_accepts_query_field_and_reports_bad_json(tmp_path):
    src = tmp_path / "pairs.jsonl"
    src.write_text(
        json.dumps({"question": "How many?", "query": "SELECT count(*) FROM t"}) + "\n"
        "{not json\n" + json.dumps({"question": "no sql"}) + "\n"
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["classify", str(src), str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["hardness"] for r in rows] == ["easy", None, None]
    assert rows[0]["question"] == "How many?"
    assert rows[1]["error"].startswith(f"{src}:2: invalid JSON")
    assert rows[2]["error"] == f"{src}:3: record has no 'SQL' or 'query' field"


def test_classify_missing_input_file_fails_clearly(tmp_path):
    result = runner.invoke(app, ["classify", str(tmp_path / "nope.sql"), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert "nope.sql: no such file" in result.output
    assert not (tmp_path / "o.jsonl").exists()
