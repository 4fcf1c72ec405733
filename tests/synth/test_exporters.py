"""Training exports: the exact files each format writes for two records."""

from __future__ import annotations

import json
import sys

import pyarrow.parquet as pq
import pytest
import yaml

from sqlfoundry.core.errors import ConfigError, MissingDependencyError
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.exporters import COLUMNS, EXPORT_FORMATS, export, export_report

COT = "Count the rows of books.\n```sql\nSELECT count(*) FROM books\n```"
SALARY_SQL = "SELECT first_name FROM doctors WHERE annual_salary > 200000"

RECORDS = [
    {
        "id": "bookshop-0001",
        "db_id": "bookshop",
        "question": "How many books are there?",
        "SQL": "SELECT count(*) FROM books",
        "prompt": "Schema: books(...)\nQuestion: How many books are there?",
        "cot_reasoning": COT,
        "sql_component_difficulty": "easy",
        "sql_execution_difficulty": None,
        "meta": {"engine": "offline", "execution": {"row_count": 1}},
    },
    {
        "id": "clinic-0002",
        "db_id": "clinic",
        "question": "Which doctors earn more than 200000?",
        "SQL": SALARY_SQL,
        "evidence": "a high earner's salary is over 200000",
        "prompt": "Schema: doctors(...)\nQuestion: Which doctors earn more than 200000?",
        "cot_reasoning": None,
        "sql_component_difficulty": "easy",
        "sql_execution_difficulty": "medium",
        "meta": {"engine": "llm", "note": "café"},
    },
]
P1, P2 = RECORDS[0]["prompt"], RECORDS[1]["prompt"]
SQL2_BLOCK = f"```sql\n{SALARY_SQL}\n```"


def test_llamafactory_writes_alpaca_sharegpt_and_dataset_info(tmp_path):
    report = export_report(RECORDS, "llamafactory", tmp_path)
    assert [p.name for p in report.files] == ["alpaca.json", "sharegpt.json", "dataset_info.json"]
    assert report.written == 2 and not report.skipped
    assert report.notes == {"no cot_reasoning: answered with the SQL": 1}
    assert (tmp_path / "alpaca.json").read_text() == (
        "[\n"
        "  {\n"
        '    "instruction": "Schema: books(...)\\nQuestion: How many books are there?",\n'
        '    "input": "",\n'
        '    "output": "Count the rows of books.\\n```sql\\nSELECT count(*) FROM books\\n```"\n'
        "  },\n"
        "  {\n"
        '    "instruction": "Schema: doctors(...)\\nQuestion: Which doctors earn more than '
        '200000?",\n'
        '    "input": "",\n'
        '    "output": "```sql\\nSELECT first_name FROM doctors WHERE annual_salary > '
        '200000\\n```"\n'
        "  }\n"
        "]\n"
    )
    assert json.loads((tmp_path / "sharegpt.json").read_text()) == [
        {"conversations": [{"from": "human", "value": P1}, {"from": "gpt", "value": COT}]},
        {"conversations": [{"from": "human", "value": P2}, {"from": "gpt", "value": SQL2_BLOCK}]},
    ]
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info == {
        "sqlfoundry_alpaca": {
            "file_name": "alpaca.json",
            "formatting": "alpaca",
            "columns": {"prompt": "instruction", "query": "input", "response": "output"},
        },
        "sqlfoundry_sharegpt": {
            "file_name": "sharegpt.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                     "assistant_tag": "gpt"},
        },
    }  # fmt: skip
    # Every file dataset_info.json names exists, and every column it maps is in the data.
    for entry in info.values():
        rows = json.loads((tmp_path / entry["file_name"]).read_text())
        assert all(set(entry["columns"].values()) <= set(row) for row in rows)


def test_llamafactory_with_system_prompt_sql_target_and_an_existing_registry(tmp_path):
    (tmp_path / "dataset_info.json").write_text('{"identity": {"file_name": "identity.json"}}')
    export(RECORDS, "llamafactory", tmp_path, target="sql", system="You write SQLite.",
           dataset_name="spider_synth")  # fmt: skip
    alpaca = json.loads((tmp_path / "alpaca.json").read_text())
    assert alpaca[0] == {
        "instruction": P1,
        "input": "",
        "output": "```sql\nSELECT count(*) FROM books\n```",
        "system": "You write SQLite.",
    }
    sharegpt = json.loads((tmp_path / "sharegpt.json").read_text())
    assert sharegpt[1]["system"] == "You write SQLite."
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    # The datasets already registered there are kept.
    assert list(info) == ["identity", "spider_synth_alpaca", "spider_synth_sharegpt"]
    assert info["spider_synth_alpaca"]["columns"]["system"] == "system"
    assert info["spider_synth_sharegpt"]["columns"] == {"messages": "conversations",
                                                        "system": "system"}  # fmt: skip


def test_openai_chat_jsonl(tmp_path):
    files = export(RECORDS, "openai", tmp_path, system="You write SQLite.")
    assert files == [tmp_path / "openai.jsonl"]
    lines = files[0].read_text().splitlines()
    assert lines[1] == (
        '{"messages": [{"role": "system", "content": "You write SQLite."}, '
        '{"role": "user", "content": "Schema: doctors(...)\\nQuestion: Which doctors earn more '
        'than 200000?"}, {"role": "assistant", "content": "```sql\\nSELECT first_name FROM '
        'doctors WHERE annual_salary > 200000\\n```"}]}'
    )
    assert json.loads(lines[0]) == {
        "messages": [
            {"role": "system", "content": "You write SQLite."},
            {"role": "user", "content": P1},
            {"role": "assistant", "content": COT},
        ]
    }
    export(RECORDS, "openai", tmp_path)
    first = json.loads((tmp_path / "openai.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]


def test_jsonl_and_csv(tmp_path):
    export(RECORDS, "jsonl", tmp_path)
    lines = (tmp_path / "data.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {**RECORDS[0], "evidence": None},
        RECORDS[1],
    ]
    assert list(json.loads(lines[0])) == list(COLUMNS)
    assert "café" in lines[1]

    export(RECORDS, "jsonl", tmp_path / "flat", flatten=True)
    flat = json.loads((tmp_path / "flat" / "data.jsonl").read_text().splitlines()[1])
    assert flat["meta"] == '{"engine": "llm", "note": "café"}'

    export(RECORDS, "csv", tmp_path)
    assert (tmp_path / "data.csv").read_bytes().decode() == (
        "id,db_id,question,SQL,evidence,prompt,cot_reasoning,sql_component_difficulty,"
        "sql_execution_difficulty,meta\r\n"
        "bookshop-0001,bookshop,How many books are there?,SELECT count(*) FROM books,,"
        '"Schema: books(...)\nQuestion: How many books are there?",'
        '"Count the rows of books.\n```sql\nSELECT count(*) FROM books\n```",easy,,'
        '"{""engine"": ""offline"", ""execution"": {""row_count"": 1}}"\r\n'
        "clinic-0002,clinic,Which doctors earn more than 200000?,"
        "SELECT first_name FROM doctors WHERE annual_salary > 200000,"
        "a high earner's salary is over 200000,"
        '"Schema: doctors(...)\nQuestion: Which doctors earn more than 200000?",,easy,medium,'
        '"{""engine"": ""llm"", ""note"": ""café""}"\r\n'
    )


def _flat_rows() -> list[dict]:
    """RECORDS as the table formats store them: every column, meta as JSON text."""
    rows = []
    for record in RECORDS:
        row = {c: record.get(c) for c in COLUMNS}
        row["meta"] = json.dumps(record["meta"], ensure_ascii=False, sort_keys=True)
        rows.append(row)
    return rows


def test_parquet_reads_back(tmp_path):
    files = export(RECORDS, "parquet", tmp_path)
    assert files == [tmp_path / "data.parquet"]
    table = pq.read_table(files[0])
    assert table.column_names == list(COLUMNS)
    assert {str(t) for t in table.schema.types} == {"string"}
    assert table.to_pylist() == _flat_rows()


def test_hf_folder_has_the_parquet_and_a_card_pointing_at_it(tmp_path):
    report = export_report(RECORDS, "hf", tmp_path, name="Demo SQL")
    assert report.files == [tmp_path / "data/train-00000-of-00001.parquet", tmp_path / "README.md"]
    assert pq.read_table(report.files[0]).to_pylist() == _flat_rows()
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("---\n")
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["configs"] == [
        {"config_name": "default",
         "data_files": [{"split": "train", "path": "data/train-00000-of-00001.parquet"}]}
    ]  # fmt: skip
    for config in front["configs"]:
        for files in config["data_files"]:
            assert (tmp_path / files["path"]).is_file()
    assert front["dataset_info"]["features"] == [{"name": c, "dtype": "string"} for c in COLUMNS]
    table = pq.read_table(report.files[0])
    assert front["dataset_info"]["splits"] == [
        {"name": "train", "num_bytes": table.nbytes, "num_examples": 2}
    ]
    assert front["dataset_info"]["download_size"] == report.files[0].stat().st_size
    assert front["pretty_name"] == "Demo SQL"
    assert "# Demo SQL" in card
    assert "| medium | 1 |" in card


def test_records_without_what_a_format_needs_are_skipped_and_counted(tmp_path):
    no_prompt = {**RECORDS[0], "id": "x", "prompt": None}
    nothing = {**RECORDS[1], "id": "y", "SQL": None, "cot_reasoning": None}
    batch = [*RECORDS, no_prompt, nothing, "not a record"]

    report = export_report(batch, "openai", tmp_path)
    assert report.written == 2
    assert report.skipped == {
        "missing field: prompt": 1,
        "missing field: cot_reasoning and SQL": 1,
        "not a record (expected a JSON object)": 1,
    }
    assert len((tmp_path / "openai.jsonl").read_text().splitlines()) == 2
    assert "skipped 3" in report.summary()

    report = export_report([*RECORDS, nothing], "llamafactory", tmp_path, target="sql")
    assert report.skipped == {"missing field: SQL": 1} and report.written == 2

    # Table formats keep every record.
    report = export_report([*RECORDS, no_prompt], "csv", tmp_path)
    assert report.written == 3 and not report.skipped


def test_extra_fields_follow_the_standard_columns(tmp_path):
    records = [{**RECORDS[0], "hardness": "easy", "tags": ["a", "b"]}, RECORDS[1]]
    export(records, "parquet", tmp_path)
    table = pq.read_table(tmp_path / "data.parquet")
    assert table.column_names == [*COLUMNS, "hardness", "tags"]
    assert table.column("tags").to_pylist() == ['["a", "b"]', None]


def test_samples_are_accepted(tmp_path):
    sample = Sample(id="s1", db_id="bookshop", question="q", sql="SELECT 1", prompt="p",
                    cot="c", component_difficulty="easy")  # fmt: skip
    export([sample], "jsonl", tmp_path)
    row = json.loads((tmp_path / "data.jsonl").read_text())
    assert (row["SQL"], row["cot_reasoning"], row["sql_component_difficulty"]) == (
        "SELECT 1", "c", "easy"
    )  # fmt: skip


def test_bad_format_options_and_missing_pyarrow(tmp_path, monkeypatch):
    assert set(EXPORT_FORMATS) == {
        "llamafactory",
        "openai",
        "omnisql",
        "parquet",
        "hf",
        "jsonl",
        "csv",
        "sqlo1",
    }
    with pytest.raises(ConfigError, match="unknown export format 'yaml'"):
        export(RECORDS, "yaml", tmp_path)
    with pytest.raises(ConfigError, match="target"):
        export(RECORDS, "openai", tmp_path, target="answer")
    with pytest.raises(ConfigError, match="flatten") as err:
        export(RECORDS, "csv", tmp_path, flatten=True)
    assert err.value.hint == "its options: none"
    (tmp_path / "dataset_info.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        export(RECORDS, "llamafactory", tmp_path)
    assert (tmp_path / "dataset_info.json").read_text() == "{not json"

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError) as err:
        export(RECORDS, "parquet", tmp_path / "pq")
    assert err.value.hint == "pip install 'sqlfoundry[export]'"


def test_writes_leave_no_temporary_files(tmp_path):
    for fmt in EXPORT_FORMATS:
        export(RECORDS, fmt, tmp_path / fmt)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "csv/data.csv",
        "hf/README.md",
        "hf/data/train-00000-of-00001.parquet",
        "jsonl/data.jsonl",
        "llamafactory/alpaca.json",
        "llamafactory/dataset_info.json",
        "llamafactory/sharegpt.json",
        "omnisql/omnisql.json",
        "openai/openai.jsonl",
        "parquet/data.parquet",
        "sqlo1/alpaca.json",
        "sqlo1/dataset_info.json",
        "sqlo1/sharegpt.json",
        "sqlo1/sqlo1_prompts.json",
    ]
