"""`sqlfoundry search` end to end: a file of pairs, a scripted model on the fake endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI
from search_testing import GROWING, ScriptedModel
from typer.testing import CliRunner

from sqlfoundry.cli import app

runner = CliRunner()

SCRIPT = GROWING


@pytest.fixture
def fake(fake: FakeOpenAI) -> FakeOpenAI:
    fake.handler = ScriptedModel(SCRIPT).handler
    return fake


def gold_file(path: Path, first: str, second: str = "SELECT name FROM singer") -> Path:
    rows = [{"db_id": "singers", "question": "How many singers are there?", "query": first},
            {"db_id": "singers", "question": "List the singers' names.", "query": second}]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def search(fake: FakeOpenAI, root: Path, gold: Path, out: Path, *extra: str):
    args = ["search", "--gold", str(gold), "--db-root", str(root), "--llm-base-url",
            fake.base_url, "--llm-model", "fake-model", "--cache-dir", str(out.parent / "cache"),
            "--samples", "2", "--iterations", "4", "--workers", "0", "--out", str(out), *extra]  # fmt: skip
    return runner.invoke(app, args, catch_exceptions=False)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_search_writes_predictions_and_a_report_with_the_oracle_apart(fake, root, tmp_path):
    gold = gold_file(tmp_path / "gold.jsonl", "SELECT count(*) FROM singer")
    result = search(fake, root, gold, tmp_path / "run")
    assert result.exit_code == 0, result.output
    predictions = lines(tmp_path / "run" / "predictions.jsonl")
    assert [p["id"] for p in predictions] == ["gold-0", "gold-1"]
    first = predictions[0]
    assert first["pred_sql"] == "SELECT count(*) FROM singer" and first["chosen_by"] == "reward"
    assert [(c["sql"], c["visits"]) for c in first["candidates"]] == [
        ("SELECT count(*) FROM singer", 2), ("SELECT name FROM singer", 1),
        ("SELECT count(*) FROM singer WHERE age > 30", 1)]  # fmt: skip
    assert first["candidates"][0]["reward"] == pytest.approx(0.697)
    assert first["usage"]["calls"] == 4 and first["tree"]["nodes"] == 6
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    # The scripted model ignores the question: both get count(*); the second is wrong.
    assert report["count"] == 2 and report["ex"] == 0.5
    # ...but each has the right query among its candidates: the oracle says 1.0, apart.
    assert report["oracle"]["oracle_best_of_3"] == 1.0 and report["oracle"][
        "pass@1"
    ] == pytest.approx(1 / 3, abs=1e-4)
    assert report["search"]["per_question"]["calls"] == 4.0
    assert report["search"]["settings"]["reward"] == "sqlo1"
    assert "EX 50.00%" in result.output and "oracle" in result.output
    # The harness reads the predictions file as it is, candidates and all.
    scored = runner.invoke(app, ["eval", "--gold", str(gold), "--db-root", str(root), "--pred",
                                 str(tmp_path / "run" / "predictions.jsonl"), "--workers", "0",
                                 "--out", str(tmp_path / "eval.json")])  # fmt: skip
    assert scored.exit_code == 0, scored.output
    again = json.loads((tmp_path / "eval.json").read_text())
    assert (again["ex"], again["oracle"]["pass@1"]) == (0.5, report["oracle"]["pass@1"])


def test_a_wrong_gold_changes_the_score_and_nothing_else(fake, root, tmp_path):
    for name in ("right", "wrong"):
        (tmp_path / name).mkdir()
    right = gold_file(tmp_path / "right" / "gold.jsonl", "SELECT count(*) FROM singer")
    wrong = gold_file(tmp_path / "wrong" / "gold.jsonl", "SELECT year FROM concert", "SELECT 1")
    assert search(fake, root, right, tmp_path / "a").exit_code == 0
    requests_right = [r.body for r in fake.requests if r.path.endswith("completions")]
    fake.reset()
    fake.handler = ScriptedModel(SCRIPT).handler
    assert search(fake, root, wrong, tmp_path / "b").exit_code == 0
    requests_wrong = [r.body for r in fake.requests if r.path.endswith("completions")]

    def searched(run: Path) -> list[dict]:
        return [
            {k: v for k, v in p.items() if k != "usage"} for p in lines(run / "predictions.jsonl")
        ]

    assert searched(tmp_path / "a") == searched(tmp_path / "b")
    # the second run found every answer in the shared cache: the same requests, none sent
    assert requests_right and not requests_wrong
    score = [json.loads((tmp_path / r / "report.json").read_text())["ex"] for r in ("a", "b")]
    assert score == [0.5, 0.0]


def test_a_second_run_resumes_from_its_checkpoint(fake, root, tmp_path):
    gold = gold_file(tmp_path / "gold.jsonl", "SELECT count(*) FROM singer")
    assert search(fake, root, gold, tmp_path / "run").exit_code == 0
    sent = fake.count()
    result = search(fake, root, gold, tmp_path / "run")
    assert result.exit_code == 0 and fake.count() == sent
    changed = search(fake, root, gold, tmp_path / "run", "--reward", "consistency")
    assert changed.exit_code == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["search"]["settings"]["reward"] == "consistency"


def test_settings_from_a_config_file_and_bad_ones(fake, root, tmp_path):
    gold = gold_file(tmp_path / "gold.jsonl", "SELECT count(*) FROM singer")
    config = tmp_path / "search.toml"
    config.write_text('[search]\nreward = "mixed"\nchoose = "vote"\nseed = 3\n')
    result = search(fake, root, gold, tmp_path / "run", "--config", str(config))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["search"]["settings"]["choose"] == "vote" and report["search"]["seed"] == 3
    config.write_text("[search]\nbeam_width = 3\n")
    bad = search(fake, root, gold, tmp_path / "bad", "--config", str(config))
    assert bad.exit_code == 2 and "beam_width" in bad.output
    echo = search(fake, root, gold, tmp_path / "bad", "--api", "chat", "--reward", "nope")
    assert echo.exit_code == 2 and "reward" in echo.output


def test_no_logprobs_fails_with_one_clear_line(fake, root, tmp_path):
    fake.handler = ScriptedModel(SCRIPT, logprobs=False).handler
    gold = gold_file(tmp_path / "gold.jsonl", "SELECT count(*) FROM singer")
    result = search(fake, root, gold, tmp_path / "run")
    assert result.exit_code == 2
    assert (
        "returned no log probabilities" in result.output and "--reward consistency" in result.output
    )


def test_unreadable_gold_lines_are_reported_and_the_rest_searched(fake, root, tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"db_id": "singers", "question": "How many?", "query": "SELECT 1"}\n'
                    "not json\n" '{"question": "no database"}\n')  # fmt: skip
    result = search(fake, root, gold, tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert len(lines(tmp_path / "run" / "predictions.jsonl")) == 1
    rejects = lines(tmp_path / "run" / "rejects.jsonl")
    assert [r["source"] for r in rejects] == [f"{gold}:2", f"{gold}:3"]
    assert rejects[1]["reason"] == "missing field: db_id"


def test_the_prompt_file_of_prepare_sft_is_searched_as_it_is(fake, root, tmp_path):
    gold = gold_file(tmp_path / "gold.jsonl", "SELECT count(*) FROM singer")
    prepared = runner.invoke(app, ["prepare-sft", "--gold", str(gold), "--db-root", str(root),
                                   "--rows", "2", "--workers", "0", "--out", str(tmp_path / "sft")],
                             env={"OPENAI_BASE_URL": "", "SQLFOUNDRY_LLM_MODEL": ""})  # fmt: skip
    assert prepared.exit_code == 0, prepared.output
    prompts = json.loads((tmp_path / "sft" / "sqlo1_prompts.json").read_text())
    result = search(fake, root, tmp_path / "sft" / "sqlo1_prompts.json", tmp_path / "run")
    assert result.exit_code == 0, result.output
    sent = [r.body["messages"] for r in fake.requests if r.path == "/v1/chat/completions"]
    for prompt in prompts:  # each question's first request is its prompt, as prepared
        assert [{"role": "user", "content": prompt["input"]}] in sent
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["count"] == 2 and report["ex"] == 0.5  # the targets are the gold


def test_search_json_is_one_object_with_the_report(fake, root, tmp_path):
    gold = gold_file(tmp_path / "gold.jsonl", "SELECT count(*) FROM singer")
    result = search(fake, root, gold, tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    data = json.loads(result.stdout)
    assert list(data) == ["command", "run_dir", "written", "report"]
    assert data["report"] == json.loads((tmp_path / "run" / "report.json").read_text())
    quiet = search(fake, root, gold, tmp_path / "run", "-q")  # resumed
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
