"""`sqlfoundry synth` and `sqlfoundry refine` end to end on the demo databases.

Offline engine by default; the LLM engine runs against the fake endpoint. Also:
resume after kill -9, checkpoint reuse, and what a bad input file does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from synth_testing import answer_with, in_styles, judge_answer, styles_asked
from typer.testing import CliRunner

from sqlfoundry.cli import app
from sqlfoundry.synth.quality import CHECK_KINDS

runner = CliRunner()
FIELDS = ("db_id", "question", "SQL", "prompt", "cot_reasoning", "sql_component_difficulty",
          "sql_execution_difficulty", "meta")  # fmt: skip
CLI = Path(sys.executable).with_name("sqlfoundry")


def synth(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["synth", *args], env=env, catch_exceptions=False)


def records(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "data.jsonl").read_text().splitlines()]


def test_synth_offline_on_the_demo_databases(demo_root: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    result = synth("--db-root", str(demo_root), "--num-per-db", "20", "--seed", "3",
                   "--out", str(run_dir), "--workers", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = records(run_dir)
    assert len(data) >= 50  # 60 generated; a few may be filtered with a reason
    assert {r["db_id"] for r in data} == {"bookshop", "clinic", "airline"}
    for r in data:
        assert set(FIELDS) <= set(r)
        assert r["question"] and r["SQL"] and r["prompt"] and r["cot_reasoning"]
        assert r["question"] in r["prompt"]
        assert r["cot_reasoning"].rstrip().endswith("```")
        assert r["SQL"] in r["cot_reasoning"]
        assert r["sql_component_difficulty"] in ("easy", "medium", "hard", "extra")
        assert r["sql_execution_difficulty"] is None  # offline: no model to measure it
        assert r["meta"]["engine"] == "offline"
    assert len({r["id"] for r in data}) == len(data)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [s["operator"] for s in summary["steps"]] == [
        "sql_generator", "sql_execution_filter", "sql_semantic_filter", "question_generator",
        "sql_consistency_filter", "prompt_generator", "cot_generator", "component_classifier",
        "execution_classifier",
    ]  # fmt: skip
    assert summary["records"] == len(data)
    assert sum(summary["component_difficulty"].values()) == len(data)
    assert summary["execution_difficulty"] == {"not graded (offline engine)": len(data)}
    assert summary["per_database"] == dict(sorted(Counter(r["db_id"] for r in data).items()))
    quality = summary["quality"]
    assert quality["questions"] == len(data)
    assert quality["semantic_checks"]["checked"] == summary["steps"][2]["in"]
    assert set(quality["semantic_checks"]["dropped"]) == {
        "ties", "fan_out", "degenerate", "tautology", "contrived"
    }  # fmt: skip
    # The generator ran the same checks on its candidates: what they turned down is counted.
    generator = quality["generator_checks"]
    turned_down = sum(generator["dropped"].values())
    assert turned_down == summary["steps"][0]["rejected"] > 0
    assert generator["checked"] == summary["steps"][0]["out"] + turned_down
    assert {r["reason"] for r in summary["rejects"]["sql_generator"]} <= set(CHECK_KINDS)
    assert "semantic checks in the generator: " in result.output
    assert quality["contrived_filter_share"] == 0.0  # the generator writes none
    assert 0 <= quality["whose_share"] <= 0.15 and quality["mean_words"] > 4
    assert 0 < quality["distinct_2"] <= 1
    html = (run_dir / "report.html").read_text()
    assert "<svg" in html and "Component difficulty" in html
    assert "not graded (offline engine)" in html and ">None<" not in html
    assert "<h2>Quality</h2>" in html and "questions with &quot;whose&quot;" in html
    assert "candidates the generator turned down: ties check" in html
    assert "<h2>Records per database</h2>" in html
    # the samples shown come from every level and every database
    shown = html.split("<h2>Samples</h2>", 1)[1]
    assert all(f"<td>{db}</td>" in shown for db in ("bookshop", "clinic", "airline"))
    assert "<script" not in html and 'src="http' not in html and "<link" not in html  # offline
    assert "records from 3 inputs" in result.output


def test_same_seed_same_data_and_rerun_reuses_every_step(demo_root: Path, tmp_path: Path):
    args = ["--db-root", str(demo_root), "--num-per-db", "8", "--seed", "5", "--workers", "0"]
    assert synth(*args, "--out", str(tmp_path / "a")).exit_code == 0
    assert synth(*args, "--out", str(tmp_path / "b")).exit_code == 0
    assert records(tmp_path / "a") == records(tmp_path / "b")
    again = synth(*args, "--out", str(tmp_path / "a"))
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert all(s["reused"] for s in summary["steps"]), again.output
    assert records(tmp_path / "a") == records(tmp_path / "b")


def test_changing_one_step_reruns_it_and_the_later_ones(demo_root: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    args = [
        "--db-root",
        str(demo_root),
        "--num-per-db",
        "6",
        "--workers",
        "0",
        "--out",
        str(run_dir),
    ]
    assert synth(*args).exit_code == 0
    config = tmp_path / "synth.toml"
    config.write_text('[synth.ops.prompt_generator]\ntemplate = "plain"\n')
    assert synth(*args, "--config", str(config)).exit_code == 0
    steps = json.loads((run_dir / "summary.json").read_text())["steps"]
    assert [s["reused"] for s in steps] == [True] * 5 + [False] * 4


def test_bad_config_fails_before_any_work(demo_root: Path, tmp_path: Path):
    config = tmp_path / "synth.toml"
    config.write_text("[synth.ops.cot_generator]\nno_such_param = 1\n")
    result = runner.invoke(app, ["synth", "--db-root", str(demo_root), "--out",
                                 str(tmp_path / "run"), "--config", str(config)])  # fmt: skip
    assert result.exit_code == 2
    assert "bad parameters for operator cot_generator" in result.output
    assert not (tmp_path / "run").exists()


def test_llm_engine_without_an_endpoint_fails_fast(demo_root: Path, tmp_path: Path):
    env = {"OPENAI_BASE_URL": "", "SQLFOUNDRY_LLM_MODEL": ""}
    result = runner.invoke(app, ["synth", "--db-root", str(demo_root), "--engine", "llm",
                                 "--out", str(tmp_path / "run")], env=env)  # fmt: skip
    assert result.exit_code == 2
    assert "error:" in result.output and "base_url" in result.output.replace("base URL", "base_url")


def _step_in_progress(run_dir: Path) -> bool:
    for step in (run_dir / "steps").glob("*"):
        if not (step / "done").exists() and len(list(step.glob("rejects-*.jsonl"))) >= 2:
            return True
    return False


def test_kill_9_mid_step_then_resume(demo_root: Path, tmp_path: Path):
    """Interrupted hard in the middle of a step, the same command finishes the run:
    the data equals an uninterrupted run's, with no duplicates and nothing lost."""
    config = tmp_path / "small_batches.toml"
    config.write_text("[synth]\nbatch_size = 3\n")
    base = [str(CLI), "synth", "--db-root", str(demo_root), "--num-per-db", "40", "--seed", "9",
            "--workers", "0", "--config", str(config)]  # fmt: skip
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*base, "--out", str(killed_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if killed_dir.exists() and _step_in_progress(killed_dir):
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed_dir / "data.jsonl").exists()

    subprocess.run([*base, "--out", str(killed_dir)], env=env, check=True, capture_output=True)
    subprocess.run([*base, "--out", str(clean_dir)], env=env, check=True, capture_output=True)
    resumed, clean = records(killed_dir), records(clean_dir)
    assert len({r["id"] for r in resumed}) == len(resumed)
    assert resumed == clean
    assert len(clean) > 60


def test_refine_pairs_with_bad_lines(demo_root: Path, tmp_path: Path):
    pairs = tmp_path / "pairs.jsonl"
    good = [
        {"db_id": "bookshop", "question": "How many books are there?",
         "SQL": "SELECT count(*) FROM books"},
        {"db_id": "clinic", "question": "What are the last names of all doctors?",
         "query": "SELECT last_name FROM doctors", "evidence": "doctors are staff who treat patients"},
    ]  # fmt: skip
    lines = [json.dumps(good[0]), "{broken", json.dumps(good[1]),
             json.dumps({"db_id": "bookshop", "question": "Delete them"} | {"SQL": "DELETE FROM books"}),
             json.dumps({"db_id": "nowhere", "question": "q", "SQL": "SELECT 1"}),
             json.dumps({"db_id": "bookshop", "SQL": "SELECT 1"})]  # fmt: skip
    pairs.write_text("\n".join(lines) + "\n")
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["refine", "--input", str(pairs), "--db-root", str(demo_root),
                                 "--out", str(run_dir), "--workers", "0"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{pairs}:2" in result.output
    rejects = [json.loads(x) for x in (run_dir / "rejects.jsonl").read_text().splitlines()]
    by_source = {r.get("source") or r["sample"]["meta"]["source"]: r["reason"] for r in rejects}
    assert by_source[f"{pairs}:2"].startswith("unreadable line")
    assert by_source[f"{pairs}:4"].startswith("not a read-only query")
    assert by_source[f"{pairs}:5"] == "unknown database: nowhere"
    assert by_source[f"{pairs}:6"] == "missing field: question"
    data = records(run_dir)
    originals = [r for r in data if "seed_sql" not in r["meta"]]
    assert [r["question"] for r in originals] == [good[0]["question"], good[1]["question"]]
    assert originals[1]["evidence"] == good[1]["evidence"]
    variants = [r for r in data if "seed_sql" in r["meta"]]
    for v in variants:
        assert v["SQL"] != v["meta"]["seed_sql"] and v["question"]


@pytest.mark.slow
def test_synth_llm_engine_against_the_fake_endpoint(demo_root: Path, tmp_path: Path, fake):
    """Every LLM step goes through the endpoint; the fake answers each prompt kind."""

    asked = in_styles(lambda style: {"question": "What are the last names of the doctors?"})

    def answer(messages, n, index):
        text = messages[-1]["content"]
        if "Target complexity" in text:
            return (
                "```sql\nSELECT last_name FROM doctors\n```"
                if index == 0
                else "```sql\nSELECT count(*) FROM patients\n```"
            )
        if "Verdict: yes" in text:  # the consistency judge
            return judge_answer(text, "The query lists the doctors' last names.\nVerdict: yes")
        if styles_asked(messages):  # question_candidates: several questions for one SQL
            return asked(messages, n, index)
        return "Let me think.\n```sql\nSELECT last_name FROM doctors\n```"

    fake.handler = answer_with(answer)
    env = {"OPENAI_API_KEY": "x"}
    result = synth("--db-root", str(demo_root), "--db", "clinic", "--num-per-db", "2",
                   "--engine", "llm", "--llm-base-url", fake.base_url, "--llm-model", "fake-model",
                   "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "run"),
                   "--workers", "0", env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["llm_usage"]["total"]["calls"] > 0
    assert summary["records"] >= 1  # an empty run now fails (exit 1), so this one made some


def test_custom_step_list_from_a_yaml_config(demo_root: Path, tmp_path: Path):
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        "synth:\n"
        "  steps:\n"
        "    - op: sql_generator\n"
        "      num_per_db: 4\n"
        "      difficulty_mix: {easy: 1.0}\n"
        "    - op: sql_execution_filter\n"
        "      drop_empty: true\n"
        "    - op: question_generator\n"
    )
    run_dir = tmp_path / "run"
    result = synth("--db-root", str(demo_root), "--db", "bookshop", "--config", str(config),
                   "--out", str(run_dir), "--workers", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [s["operator"] for s in summary["steps"]] == [
        "sql_generator", "sql_execution_filter", "question_generator"]  # fmt: skip
    data = records(run_dir)
    assert len(data) == 4 and all(r["question"] and r["prompt"] is None for r in data)
