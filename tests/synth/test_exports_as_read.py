"""Exports as the training projects read them: OmniSQL's JSON, LlamaFactory's documented
dataset description, a Hugging Face folder loaded by the real ``datasets`` library,
and SQL-only targets whose prompt no longer asks for reasoning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.base import stamp
from sqlfoundry.synth.exporters import export_report
from sqlfoundry.synth.prompt_generator import PromptGenerator, sql_only_prompt

QUESTION = "How many books cost more than 20?"
SQL = "SELECT count(*) FROM books WHERE price > 20"
COT = f"Books priced over 20 are counted.\n```sql\n{SQL}\n```"
REASONING_WORDS = ("reasoning", "step by step", "one step at a time")


def prompted(ctx, template: str, **fields) -> dict:
    """A record whose prompt the prompt generator rendered with ``template``."""
    generator = PromptGenerator(template=template)
    sample = Sample(id="r1", db_id="bookshop", question=QUESTION, sql=SQL, cot=COT, **fields)
    sample.prompt = generator.format_input(sample, ctx)
    stamp(sample, "prompt_generator", "offline", template=generator.format.name)
    return {"id": sample.id, "db_id": "bookshop", "question": QUESTION, "SQL": SQL,
            "prompt": sample.prompt, "cot_reasoning": COT, "meta": sample.meta}  # fmt: skip


# --------------------------------------------------------------------------- target sql


@pytest.mark.parametrize("evidence", [None, "a book's price is in dollars"])
def test_sql_target_prompt_is_what_the_sql_only_format_renders(demo_ctx, tmp_path, evidence):
    record = prompted(demo_ctx, "omnisql", evidence=evidence)
    assert any(w in record["prompt"] for w in REASONING_WORDS)
    expected = prompted(demo_ctx, "omnisql_sql", evidence=evidence)["prompt"]
    report = export_report([record], "openai", tmp_path, target="sql")
    messages = json.loads((tmp_path / "openai.jsonl").read_text())["messages"]
    assert messages == [{"role": "user", "content": expected},
                        {"role": "assistant", "content": f"```sql\n{SQL}\n```"}]  # fmt: skip
    assert not any(w in expected for w in REASONING_WORDS)
    assert "Answer with the SQL query alone" in expected
    assert report.notes == {}
    # The CoT target keeps the prompt that asks for reasoning, as the answer gives it.
    export_report([record], "openai", tmp_path / "cot")
    cot = json.loads((tmp_path / "cot" / "openai.jsonl").read_text())["messages"]
    assert cot[0]["content"] == record["prompt"] and cot[1]["content"] == COT


def test_sql_target_keeps_prompts_it_cannot_rewrite_and_says_so(demo_ctx, tmp_path):
    plain = prompted(demo_ctx, "plain")
    custom = dict(plain, prompt="Think hard, then answer.\n" + plain["prompt"], id="r2",
                  meta={"provenance": [{"operator": "prompt_generator", "template": "mine"}]})  # fmt: skip
    edited = prompted(demo_ctx, "omnisql")
    edited["prompt"] = edited["prompt"].replace("Instructions:", "Rules:")
    report = export_report([plain, custom, edited], "llamafactory", tmp_path, target="sql")
    rows = json.loads((tmp_path / "alpaca.json").read_text())
    assert [r["instruction"] for r in rows] == [plain["prompt"], custom["prompt"], edited["prompt"]]
    assert report.notes == {"target sql: prompt kept as written (not from a built-in format)": 2}
    assert sql_only_prompt(plain["prompt"], "plain") == plain["prompt"]  # already SQL-only


# --------------------------------------------------------------------------- OmniSQL


def test_omnisql_json_is_what_omnisql_train_reads(demo_ctx, tmp_path):
    records = [prompted(demo_ctx, "omnisql"), {"id": "x", "db_id": "bookshop", "SQL": SQL}]
    report = export_report(records, "omnisql", tmp_path)
    assert report.files == [tmp_path / "omnisql.json"]
    assert report.skipped == {"missing field: prompt": 1}
    # OmniSQL's train_and_evaluate/utils/load_sft_dataset.py: json.load(file), then a user
    # turn of data["input_seq"] and an assistant turn of data["output_seq"] per item.
    data = json.load((tmp_path / "omnisql.json").open())
    assert isinstance(data, list) and len(data) == 1
    assert data == [{"input_seq": records[0]["prompt"], "output_seq": COT}]
    export_report(records[:1], "omnisql", tmp_path / "sql", target="sql")
    sql_only = json.loads((tmp_path / "sql" / "omnisql.json").read_text())
    assert sql_only == [{"input_seq": prompted(demo_ctx, "omnisql_sql")["prompt"],
                         "output_seq": f"```sql\n{SQL}\n```"}]  # fmt: skip


# --------------------------------------------------------------------------- LlamaFactory

# LlamaFactory's data/README.md: the keys of a dataset description, its "columns" and
# its "tags" (src/llamafactory/data/parser.py reads exactly these).
LF_KEYS = {"hf_hub_url", "ms_hub_url", "script_url", "cloud_file_name", "file_name",
           "formatting", "ranking", "subset", "split", "folder", "num_samples", "columns", "tags"}  # fmt: skip
LF_COLUMNS = {"prompt", "query", "response", "history", "messages", "system", "tools", "images",
              "videos", "audios", "chosen", "rejected", "kto_tag"}  # fmt: skip
LF_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag",
           "function_tag", "system_tag"}  # fmt: skip


def _lf_check(info: dict, folder: Path) -> None:
    """What LlamaFactory's loader and converters require of a dataset description."""
    for name, entry in info.items():
        assert set(entry) <= LF_KEYS, name
        assert entry.get("formatting", "alpaca") in ("alpaca", "sharegpt", "openai")
        assert set(entry.get("columns", {})) <= LF_COLUMNS, name
        assert set(entry.get("tags", {})) <= LF_TAGS, name
        rows = json.loads((folder / entry["file_name"]).read_text())
        columns = entry.get("columns", {})
        if entry.get("formatting", "alpaca") == "alpaca":
            for row in rows:
                assert isinstance(row[columns.get("prompt", "instruction")], str)
                assert isinstance(row[columns.get("response", "output")], str)
            continue
        tags = entry.get("tags", {})
        role, content = tags.get("role_tag", "from"), tags.get("content_tag", "value")
        user, assistant = tags.get("user_tag", "human"), tags.get("assistant_tag", "gpt")
        for row in rows:
            turns = row[columns.get("messages", "conversations")]
            # SharegptDatasetConverter: user turns at even places, assistant at odd, an even count.
            assert len(turns) % 2 == 0 and turns
            for i, turn in enumerate(turns):
                assert turn[role] == (user if i % 2 == 0 else assistant)
                assert isinstance(turn[content], str)
            if "system" in columns:
                assert isinstance(row[columns["system"]], str)


def test_llamafactory_files_match_its_documented_schema(demo_ctx, tmp_path):
    records = [prompted(demo_ctx, "omnisql"), prompted(demo_ctx, "plain")]
    export_report(records, "llamafactory", tmp_path / "a")
    export_report(records, "llamafactory", tmp_path / "b", target="sql", system="You write SQL.")
    for folder in (tmp_path / "a", tmp_path / "b"):
        _lf_check(json.loads((folder / "dataset_info.json").read_text()), folder)


# --------------------------------------------------------------------------- Hugging Face


def test_hf_folder_loads_with_datasets_and_no_warning(demo_ctx, tmp_path):
    pytest.importorskip("datasets")
    records = [prompted(demo_ctx, "omnisql"), dict(prompted(demo_ctx, "plain"), id="r2")]
    export_report(records, "hf", tmp_path / "hf")
    code = (
        "import datasets, json, sys\n"
        "ds = datasets.load_dataset(sys.argv[1], cache_dir=sys.argv[2])\n"
        "split = ds['train']\n"
        "info = split.info.splits['train']\n"
        "print(json.dumps([split.num_rows, info.num_examples, info.num_bytes,"
        " split[0]['prompt'], split.column_names]))\n"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache")}  # fmt: skip
    done = subprocess.run([sys.executable, "-W", "always", "-c", code, str(tmp_path / "hf"),
                           str(tmp_path / "cache")], capture_output=True, text=True, env=env,
                          timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows, examples, num_bytes, prompt, columns = json.loads(done.stdout.splitlines()[-1])
    table = pq.read_table(tmp_path / "hf" / "data" / "train-00000-of-00001.parquet")
    assert (rows, examples, num_bytes) == (2, 2, table.nbytes)
    assert prompt == records[0]["prompt"] and columns[:4] == ["id", "db_id", "question", "SQL"]
    warnings = [
        x for x in done.stderr.splitlines() if "Generating train split" not in x and x.strip()
    ]
    assert not [x for x in warnings if "warn" in x.lower() or "ignoring" in x.lower()], warnings
