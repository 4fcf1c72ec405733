"""`sqlfoundry prepare-sft` end to end, and `sqlfoundry export --format sqlo1`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from synth_testing import answer_with
from typer.testing import CliRunner

from sqlfoundry.cli import app

runner = CliRunner()


def prepare(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["prepare-sft", "--workers", "0", *args], env=env,
                         catch_exceptions=False)  # fmt: skip


def load(path: Path):
    return json.loads(path.read_text())


@pytest.fixture
def bench_env(spider_root: Path) -> dict[str, str]:
    return {"SQLFOUNDRY_BENCH_ROOT": str(spider_root.parent), "OPENAI_BASE_URL": "",
            "SQLFOUNDRY_LLM_MODEL": ""}  # fmt: skip


def test_spider_dev_with_psg(bench_env, tmp_path):
    out = tmp_path / "sft"
    result = prepare("--bench", "spider:dev:first-60", "--psg", "--seed", "1", "--out", str(out),
                     env=bench_env)  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = load(out / "summary.json")
    assert (summary["items"], summary["kept_items"], summary["rejected"]) == (60, 60, 0)
    psg = summary["psg"]
    assert psg["rule"].startswith("no model: the gold reads 3+ tables")
    assert psg["items_cut"] == psg["examples"] <= psg["items_picked"]
    assert summary["records"] == 60 + psg["examples"]
    assert psg["share_cut"] == round(psg["items_cut"] / 60, 4) and 0 < psg["share_cut"] < 1
    alpaca = load(out / "alpaca.json")
    assert len(alpaca) == summary["records"] == len(load(out / "sharegpt.json"))
    whole = [r for r in alpaca if r["instruction"].endswith("The incomplete SQL query:")]
    cut = [r for r in alpaca if not r["instruction"].endswith("The incomplete SQL query:")]
    assert len(whole) == 60 and len(cut) == psg["examples"]
    for row in cut:  # the prefix is the prompt's last line; the answer is the whole query
        prefix = row["instruction"].rsplit("\n", 1)[1]
        assert row["output"].startswith(prefix) and row["output"] != prefix
        assert not row["output"].startswith("```")
    info = load(out / "dataset_info.json")
    assert set(info) == {"sqlo1_alpaca", "sqlo1_sharegpt"}
    prompts = load(out / "sqlo1_prompts.json")
    assert len(prompts) == 60 and set(prompts[0]) == {"id", "db_id", "question", "input", "target"}
    assert prompts[0]["target"] == "SELECT count(*) FROM singer"
    config = yaml.safe_load((out / "llamafactory_lora_sft.yaml").read_text())
    assert config["dataset"] == "sqlo1_alpaca" and config["dataset_dir"] == str(out.resolve())
    assert (config["stage"], config["finetuning_type"], config["template"]) == (
        "sft",
        "lora",
        "qwen",
    )
    assert f"llamafactory-cli train {out / 'llamafactory_lora_sft.yaml'}" in result.output

    # The same command gives the same files; another seed cuts elsewhere.
    again = prepare("--bench", "spider:dev:first-60", "--psg", "--seed", "1", "--out",
                    str(tmp_path / "again"), env=bench_env)  # fmt: skip
    assert again.exit_code == 0
    assert (tmp_path / "again" / "alpaca.json").read_text() == (out / "alpaca.json").read_text()
    other = prepare("--bench", "spider:dev:first-60", "--psg", "--seed", "2", "--out",
                    str(tmp_path / "other"), env=bench_env)  # fmt: skip
    assert other.exit_code == 0
    assert (tmp_path / "other" / "alpaca.json").read_text() != (out / "alpaca.json").read_text()


def test_without_psg_every_item_once_and_progressive_mode(bench_env, tmp_path):
    plain = prepare(
        "--bench", "spider:dev:first-20", "--out", str(tmp_path / "plain"), env=bench_env
    )
    assert plain.exit_code == 0
    assert load(tmp_path / "plain" / "summary.json")["records"] == 20
    progressive = prepare("--bench", "spider:dev:first-20", "--psg", "--psg-mode", "progressive",
                          "--out", str(tmp_path / "prog"), env=bench_env)  # fmt: skip
    summary = load(tmp_path / "prog" / "summary.json")["psg"]
    assert progressive.exit_code == 0 and summary["examples"] > summary["items_cut"]
    ratio = prepare("--bench", "spider:dev:first-20", "--psg", "--psg-mode", "ratio",
                    "--psg-ratio", "1.0", "--out", str(tmp_path / "ratio"), env=bench_env)  # fmt: skip
    summary = load(tmp_path / "ratio" / "summary.json")["psg"]
    # every item with more than one clause is cut once
    assert ratio.exit_code == 0 and summary["items_picked"] is None and summary["items_cut"] == 20


def test_spider_train_without_its_questions_says_so(bench_env, tmp_path):
    result = prepare("--bench", "spider:train:first-5", "--out", str(tmp_path / "t"), env=bench_env)
    assert result.exit_code == 0
    summary = load(tmp_path / "t" / "summary.json")
    # this copy of Spider has train_gold.sql only (no train_spider.json): no questions to train on
    assert summary["reject_reasons"] == {"missing field: question": 5} and summary["records"] == 0


def test_a_file_of_pairs_with_another_question_key_and_bad_lines(demo_root, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        json.dumps({"db_id": "bookshop", "SpiderQuestion": "How many books?",
                    "query": "SELECT count(*) FROM books"}) + "\n"
        + json.dumps({"db_id": "bookshop", "SpiderQuestion": "Broken?", "query": "SELECT nope FROM books"})
        + "\n{not json\n"
    )  # fmt: skip
    result = prepare("--gold", str(pairs), "--db-root", str(demo_root), "--question-key",
                     "SpiderQuestion", "--rows", "1", "--out", str(tmp_path / "o"),
                     env={"OPENAI_BASE_URL": "", "SQLFOUNDRY_LLM_MODEL": ""})  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = load(tmp_path / "o" / "summary.json")
    assert (summary["items"], summary["kept_items"], summary["rows_per_table"]) == (3, 1, 1)
    rejects = [json.loads(x) for x in (tmp_path / "o" / "rejects.jsonl").read_text().splitlines()]
    assert rejects[0]["source"] == f"{pairs}:3" and "invalid JSON" in rejects[0]["reason"]
    assert rejects[1]["reason"] == "execution failed: no such column: nope"
    missing = prepare("--gold", str(pairs), "--db-root", str(demo_root), "--question-key", "Q",
                      "--out", str(tmp_path / "m"))  # fmt: skip
    assert missing.exit_code == 2 and "no item of" in missing.output


def test_sqlo1s_rule_with_a_model(demo_root, tmp_path, fake):
    fake.handler = answer_with(lambda messages, n, i: "SELECT nope FROM books")
    pairs = tmp_path / "pairs.json"
    pairs.write_text(json.dumps([{"db_id": "bookshop", "question": "How many books?",
                                  "SQL": "SELECT count(*) FROM books"}]))  # fmt: skip
    result = prepare("--gold", str(pairs), "--db-root", str(demo_root), "--psg", "--llm-base-url",
                     fake.base_url, "--llm-model", "fake-model", "--cache-dir",
                     str(tmp_path / "cache"), "--out", str(tmp_path / "o"))  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = load(tmp_path / "o" / "summary.json")
    assert summary["psg"]["rule"].startswith("model: the zero-shot answer fails")
    assert summary["psg"]["items_cut"] == 1  # the zero-shot answer failed, so the easy item is cut
    assert summary["llm_usage"]["operators"]["psg_selector"]["calls"] == 1


def test_export_sqlo1_writes_the_same_files_and_skips_other_records(bench_env, tmp_path, demo_root):
    out = tmp_path / "sft"
    assert (
        prepare(
            "--bench", "spider:dev:first-10", "--psg", "--out", str(out), env=bench_env
        ).exit_code
        == 0
    )
    exported = runner.invoke(app, ["export", str(out), "--format", "sqlo1", "--out",
                                   str(tmp_path / "x")])  # fmt: skip
    assert exported.exit_code == 0, exported.output
    for name in ("alpaca.json", "sharegpt.json", "sqlo1_prompts.json"):
        assert (tmp_path / "x" / name).read_text() == (out / name).read_text()
    synth = runner.invoke(app, ["synth", "--db-root", str(demo_root), "--num-per-db", "3",
                                "--workers", "0", "--out", str(tmp_path / "s")])  # fmt: skip
    assert synth.exit_code == 0
    skipped = runner.invoke(app, ["export", str(tmp_path / "s"), "--format", "sqlo1", "--out",
                                  str(tmp_path / "y")])  # fmt: skip
    assert skipped.exit_code == 0 and "no SQL-o1 prompt" in skipped.output
