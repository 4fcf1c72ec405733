"""The engine: tasks, composition, exec_process, the run directory, resuming, errors per question."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_testing import dataset, engine_for, predictions, run_config
from fake_openai import error_reply

from sqlfoundry.core.errors import ConfigError, LLMUnreachableError
from sqlfoundry.methods.engine.config import RunConfig, parse_exec_process, read_config

IDS = ("demo-1", "demo-9", "demo-16", "demo-24")


def tasks_config(gold: Path, root: Path, tasks: list[dict], **extra) -> dict:
    return {"dataset": dataset(gold, root), "tasks": tasks, **extra}


# ----------------------------------------------------------------- exec_process


def _plan_config(*ids: str) -> RunConfig:
    return RunConfig.model_validate({
        "dataset": {"source": "spider:dev"},
        "tasks": [{"id": i, "type": "generate", "method": "zero_shot"} for i in ids],
    })  # fmt: skip


@pytest.mark.parametrize(
    ("value", "kind", "items"),
    [
        (["a", "b"], "sequence", ["a", "b"]),
        (["a", ["b", "c", "~p"], "d"], "sequence", ["a", ("parallel", ["b", "c"]), "d"]),
        (["a", "b", "*p"], "parallel", ["a", "b"]),
        (["a", ["b", "c"], "~s"], "sequence", ["a", ("sequence", ["b", "c"])]),
        ({"type": "sequence", "tasks": ["a", {"type": "para", "tasks": ["b", "c"]}, "d"]},
         "sequence", ["a", ("parallel", ["b", "c"]), "d"]),
    ],
)  # fmt: skip
def test_exec_process_reads_both_squrve_forms(value, kind, items):
    plan = parse_exec_process(value, _plan_config("a", "b", "c", "d"))
    shown = [i if isinstance(i, str) else (i.kind, i.items) for i in plan.items]
    assert (plan.kind, shown) == (kind, items)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"tasks": ["a", "b"]}, 'an exec_process table needs type = "sequence" or "parallel"'),
        ({"type": "sideways", "tasks": ["a"]}, "exec_process type 'sideways' is not sequence"),
        (["a", "zz"], "exec_process names unknown task(s): zz"),
        (["a", ["a", "b", "~p"]], "exec_process runs task(s) twice: a"),
        ([], "exec_process has an empty list"),
    ],
)
def test_exec_process_mistakes_are_config_errors(value, message):
    with pytest.raises(ConfigError) as info:
        parse_exec_process(value, _plan_config("a", "b"))
    assert message in info.value.message


def test_a_task_reading_from_another_must_run_after_it():
    config = RunConfig.model_validate({
        "dataset": {"source": "spider:dev"},
        "tasks": [{"id": "gen", "type": "generate", "method": "retrieval", "candidates": 3},
                  {"id": "vote", "type": "select", "method": "exec_vote", "from": "gen"}],
    })  # fmt: skip
    assert parse_exec_process(["gen", "vote"], config).items == ["gen", "vote"]
    for wrong in (["vote", "gen"], ["gen", "vote", "~p"]):
        with pytest.raises(ConfigError, match="must run after it"):
            parse_exec_process(wrong, config)


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"id": "x", "type": "generate"}, "a generate task needs a method"),
        ({"id": "x", "type": "complex", "method": "din_sql", "steps": ["y"]}, "has steps, not a method"),
        ({"id": "x", "type": "guess", "method": "din_sql"}, "tasks.0.type"),
        ({"id": "x", "type": "generate", "method": "zero_shot", "eval": ["bleu"]}, "unknown metric(s) bleu"),
        ({"id": "x", "type": "complex", "steps": ["nope"]}, "step 'nope' is not a task id"),
    ],
)  # fmt: skip
def test_config_mistakes_name_the_task_and_key(task, message):
    with pytest.raises(ConfigError) as info:
        read_config({"dataset": {"source": "spider:dev"}, "tasks": [task]}, source="run.toml")
    assert message in str(info.value) and "run.toml" in str(info.value)


def test_a_method_that_does_not_exist_lists_the_ones_that_do(questions_file, demo_root):
    config = tasks_config(questions_file(IDS), demo_root,
                          [{"id": "s", "type": "select", "method": "coin_flip"}])  # fmt: skip
    with pytest.raises(ConfigError) as info:
        engine_for(config)
    assert info.value.message == "task s: no select method 'coin_flip'"
    assert info.value.hint == "select methods: exec_vote, first_valid, llm"


def test_bad_method_parameters_stop_the_run_before_any_work(questions_file, demo_root):
    config = tasks_config(questions_file(IDS), demo_root,
                          [{"id": "g", "type": "generate", "method": "din_sql", "temprature": 1}])  # fmt: skip
    with pytest.raises(
        ConfigError, match="bad parameters for method din_sql: temprature: unknown parameter"
    ):
        engine_for(config)


def test_a_stage_without_its_inputs_is_a_config_error(questions_file, demo_root):
    config = tasks_config(questions_file(IDS), demo_root,
                          [{"id": "s", "type": "select", "method": "exec_vote"}])  # fmt: skip
    with pytest.raises(ConfigError) as info:
        engine_for(config)
    assert info.value.message == ("task s: stage exec_vote_selector needs candidates, which neither "
                                  "the dataset nor an earlier stage writes")  # fmt: skip


# ----------------------------------------------------------------- composition


def test_a_tree_of_generators_feeds_a_selector_and_linkers_unite(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(("demo-1", "demo-16"))
    tasks = [
        {"id": "lex", "type": "parse", "method": "lexical"},
        {"id": "llm_links", "type": "parse", "method": "llm"},
        {"id": "zero", "type": "generate", "method": "zero_shot"},
        {"id": "offline", "type": "generate", "method": "retrieval", "num_per_db": 40},
        {"id": "vote", "type": "select", "method": "exec_vote"},
        {"id": "pipeline", "type": "complex", "steps": [["lex", "llm_links"], ["zero", "offline"], "vote"],
         "eval": ["ex", "oracle", "parse"]},
    ]  # fmt: skip
    report = run_config(tasks_config(gold, demo_root, tasks), tmp_path / "run", llm_settings)
    # Tasks that are steps of a complex task do not run alone (no exec_process given).
    assert list(report["tasks"]) == ["pipeline"]
    entry = report["tasks"]["pipeline"]
    assert entry["stages"] == ["tree", "tree", "exec_vote_selector"]
    assert entry["ex"] == 1.0
    records = {r["id"]: r for r in predictions(tmp_path / "run", "pipeline")}
    join = records["demo-16"]
    # One candidate from each generator (append), links from both linkers (union).
    assert len(join["candidates"]) == 2
    assert join["candidates"][0] == responder.gold["Which department has the most doctors?"]
    assert set(join["schema_links"]["tables"]) == {"departments", "doctors"}
    assert "doctors.department_id" in join["schema_links"]["columns"]
    assert set(join["usage"]) == {"llm_linker", "zero_shot_generator"}
    assert entry["parse"]["tables"]["recall"] == 1.0
    assert responder.kinds["schema_linking"] == 2 and responder.kinds["text2sql"] == 2


def test_tasks_in_parallel_share_the_endpoint_and_report_apart(
    questions_file, demo_root, llm_settings, tmp_path
):
    gold = questions_file(IDS)
    tasks = [{"id": "zero", "type": "generate", "method": "zero_shot"},
             {"id": "din", "type": "generate", "method": "din_sql", "correct": False}]  # fmt: skip
    report = run_config(tasks_config(gold, demo_root, tasks, exec_process=["zero", "din", "~p"]),
                        tmp_path / "run", llm_settings)  # fmt: skip
    assert {k: v["ex"] for k, v in report["tasks"].items()} == {"zero": 1.0, "din": 1.0}
    assert report["tasks"]["din"]["cost"]["calls_per_question"] == 3.0
    assert report["llm"]["usage"]["total"]["calls"] == 4 + 12


# ----------------------------------------------------------------- run directory and resume


def test_the_run_directory_holds_records_in_input_order_and_eval_reads_pred_sql(
    questions_file, demo_root, tmp_path
):
    from typer.testing import CliRunner

    from sqlfoundry.cli.main import app

    gold = questions_file(IDS)
    config = tasks_config(gold, demo_root, [{"id": "g", "type": "generate", "method": "retrieval",
                                             "num_per_db": 40}])  # fmt: skip
    report = run_config(config, tmp_path / "run")
    task_dir = tmp_path / "run" / "tasks" / "g"
    records = predictions(tmp_path / "run", "g")
    assert [r["id"] for r in records] == list(IDS)
    assert set(records[0]) >= {"question", "db_id", "pred_sql", "candidates", "schema_subset",
                               "schema_links", "usage", "errors"}  # fmt: skip
    assert (task_dir / "steps").is_dir() and (task_dir / "log.txt").read_text().count("\n") == 4
    saved = json.loads((tmp_path / "run" / "report.json").read_text())
    assert saved["tasks"]["g"]["ex"] == report["tasks"]["g"]["ex"]
    assert "<table>" in (tmp_path / "run" / "report.html").read_text()
    result = CliRunner().invoke(app, ["eval", "--pred", str(task_dir / "pred.sql"), "--gold",
                                      str(task_dir / "gold.sql"), "--db-root", str(demo_root),
                                      "--out", str(tmp_path / "eval.json")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "eval.json").read_text())["ex"] == report["tasks"]["g"]["ex"]


def test_a_second_run_resumes_from_the_checkpoints_without_asking_again(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(IDS)
    config = tasks_config(gold, demo_root, [{"id": "g", "type": "generate", "method": "din_sql"}])
    first = run_config(config, tmp_path / "run", llm_settings)
    asked = sum(responder.kinds.values())
    second = run_config(config, tmp_path / "run", llm_settings)
    assert sum(responder.kinds.values()) == asked  # every step reused, no request
    manifest = json.loads((tmp_path / "run" / "tasks" / "g" / "manifest.json").read_text())
    assert all(step["reused"] for step in manifest["steps"])
    assert second["tasks"]["g"]["ex"] == first["tasks"]["g"]["ex"] == 1.0
    # Changing the last stage runs only that stage again.
    config["tasks"][0]["examples"] = 1
    run_config(config, tmp_path / "run", llm_settings)
    assert sum(responder.kinds.values()) == asked + len(IDS)
    assert responder.kinds["din_sql_correct"] == 2 * len(IDS)


# ----------------------------------------------------------------- errors per question


@pytest.mark.parametrize(
    ("kind", "text", "stage", "message"),
    [
        ("text2sql", "I would rather not write SQL today.", "zero_shot_generator",
         "unparsable SQL answer: no SQL found"),
        ("din_sql_link", "The links are obvious.", "din_sql_linker",
         "unparsable schema links: no 'Schema_links: [...]' line"),
        ("din_sql_classify", "It is a hard one.", "din_sql_classifier",
         "unparsable classification: no 'Label: EASY / NON-NESTED / NESTED'"),
        ("schema_linking", '{"tables": ', "llm_linker", "unparsable schema links: invalid JSON"),
        ("mac_sql_select", '```json\n["not", "a", "table"]\n```', "mac_sql_selector",
         "unparsable table selection: expected JSON dict, got list"),
        ("chess_keywords", "Keywords: books, cost", "chess_keywords",
         "unparsable keyword list: no list found"),
    ],
)  # fmt: skip
def test_a_malformed_answer_is_recorded_on_its_question_and_the_run_goes_on(
    kind, text, stage, message, questions_file, demo_root, llm_settings, responder, tmp_path
):
    method = {"text2sql": "zero_shot", "schema_linking": "llm", "mac_sql_select": "mac_sql",
              "chess_keywords": "chess"}.get(kind, "din_sql")  # fmt: skip
    task_type = "parse" if method == "llm" else "generate"
    responder.malformed[kind] = text
    gold = questions_file(IDS)
    report = run_config(tasks_config(gold, demo_root, [{"id": "t", "type": task_type, "method": method}]),
                        tmp_path / "run", llm_settings)  # fmt: skip
    entry = report["tasks"]["t"]
    assert entry["count"] == len(IDS)
    assert entry["errors"]["records_with_errors"] == len(IDS)
    assert entry["errors"]["by_stage"][f"{stage}/parse"] == len(IDS)
    error = predictions(tmp_path / "run", "t")[0]["errors"][0]
    assert error["stage"] == stage and error["message"].startswith(message)
    assert error["raw"] == text


def test_a_generator_that_fails_leaves_no_prediction_and_the_question_scores_wrong(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    responder.malformed["text2sql"] = "no idea"
    gold = questions_file(IDS)
    report = run_config(tasks_config(gold, demo_root, [{"id": "t", "type": "generate", "method": "zero_shot"}]),
                        tmp_path / "run", llm_settings)  # fmt: skip
    entry = report["tasks"]["t"]
    assert entry["ex"] == 0.0 and entry["errors"]["without_prediction"] == len(IDS)
    assert (tmp_path / "run" / "tasks" / "t" / "pred.sql").read_text() == "\n" * len(IDS)


def test_an_endpoint_failure_after_retries_is_recorded_per_question(
    questions_file, demo_root, llm_settings, fake_llm, responder, tmp_path
):
    failing = {"count": 0}

    def flaky(request):
        body = request.body or {}
        question = "How many books are there?"
        if request.path == "/v1/chat/completions" and question in json.dumps(body):
            failing["count"] += 1
            return error_reply(503, "overloaded")
        return responder(request)

    fake_llm.handler = flaky
    gold = questions_file(IDS)
    report = run_config(tasks_config(gold, demo_root, [{"id": "t", "type": "generate", "method": "zero_shot"}]),
                        tmp_path / "run", llm_settings)  # fmt: skip
    entry = report["tasks"]["t"]
    assert entry["ex"] == 0.75 and failing["count"] == 1
    error = predictions(tmp_path / "run", "t")[0]["errors"][0]
    assert error["kind"] == "llm" and "kept answering 503" in error["message"]


def test_an_unreachable_endpoint_stops_the_run_before_any_task(questions_file, demo_root, tmp_path):
    from llm_testing import free_port

    llm = {"base_url": f"http://127.0.0.1:{free_port()}/v1", "model": "m", "max_retries": 0,
           "cache_dir": str(tmp_path / "cache")}  # fmt: skip
    config = tasks_config(questions_file(IDS), demo_root,
                          [{"id": "t", "type": "generate", "method": "zero_shot"}])  # fmt: skip
    engine = engine_for(config, llm)
    with pytest.raises(LLMUnreachableError):
        engine.run(tmp_path / "run")
    assert not (tmp_path / "run" / "tasks").exists()


def test_a_question_about_a_missing_database_is_an_error_on_that_question(
    tmp_path, demo_root, llm_settings
):
    gold = tmp_path / "q.jsonl"
    gold.write_text(json.dumps({"question": "How many books are there?", "db_id": "bookshop",
                                "SQL": "SELECT count(*) FROM books"}) + "\n"
                    + json.dumps({"question": "How many planets?", "db_id": "galaxy",
                                  "SQL": "SELECT 1"}) + "\n"
                    + "{not json\n")  # fmt: skip
    report = run_config(tasks_config(gold, demo_root, [{"id": "t", "type": "generate", "method": "zero_shot"}]),
                        tmp_path / "run", llm_settings)  # fmt: skip
    entry = report["tasks"]["t"]
    assert entry["count"] == 2 and entry["ex"] == 0.5
    assert entry["input_problems"][0]["where"].endswith("q.jsonl:3")
    galaxy = predictions(tmp_path / "run", "t")[1]
    assert galaxy["errors"] == [{"stage": "zero_shot_generator", "kind": "input",
                                 "message": "unknown database 'galaxy'"}]  # fmt: skip


# ----------------------------------------------------------------- the dataset


def test_sample_draws_a_seeded_subset_in_the_original_order(questions_file, demo_root, tmp_path):
    gold = questions_file()
    engine = engine_for(tasks_config(gold, demo_root, [{"id": "t", "type": "generate", "method": "retrieval"}])
                        | {"dataset": dataset(gold, demo_root, sample=0.25, seed=3)})  # fmt: skip
    (data,) = engine.datasets.values()
    ids = [s.id for s in data.samples]
    assert len(ids) == 6 and ids == sorted(ids, key=lambda i: int(i.split("-")[1]))
    again = engine_for(tasks_config(gold, demo_root, [{"id": "t", "type": "generate", "method": "retrieval"}])
                       | {"dataset": dataset(gold, demo_root, sample=6, seed=3, limit=4)})  # fmt: skip
    assert [s.id for s in next(iter(again.datasets.values())).samples] == ids[:4]


def test_squrve_s_looser_match_is_reported_apart_from_ex(questions_file, demo_root, llm_settings,
                                                          responder, tmp_path):  # fmt: skip
    question = "How many books are there?"
    responder.variants[question] = ["SELECT 'all', count(*) FROM books"]  # an extra column
    gold = questions_file(("demo-1",))
    config = tasks_config(gold, demo_root, [{"id": "t", "type": "generate", "method": "zero_shot",
                                             "eval": ["ex", "ex_squrve"]}])  # fmt: skip
    entry = run_config(config, tmp_path / "run", llm_settings)["tasks"]["t"]
    assert (entry["ex"], entry["ex_squrve"]) == (0.0, 1.0)


def test_teachings_reach_every_question_of_their_database_as_evidence(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    teachings = tmp_path / "teachings.json"
    teachings.write_text(json.dumps({
        "bookshop": [{"kind": "hint", "text": "genre holds 'Fantasy', 'Mystery' and 'Romance'.",
                      "refs": ["books.genre"]},
                     {"kind": "guardrail", "text": "Never return customers.email."}],
        "unused_db": [{"kind": "term", "text": "nothing"}],
    }))  # fmt: skip
    gold = questions_file(("demo-2", "demo-19"))  # bookshop, airline
    config = {"dataset": dataset(gold, demo_root, teachings=str(teachings)),
              "tasks": [{"id": "t", "type": "generate", "method": "zero_shot"}]}  # fmt: skip
    report = run_config(config, tmp_path / "run", llm_settings)
    assert report["tasks"]["t"]["ex"] == 1.0
    prompts = [b["messages"][0]["content"] for b in responder.bodies]
    with_notes = [p for p in prompts if "Notes about this database:" in p]
    assert len(with_notes) == 1
    assert "- hint: genre holds 'Fantasy', 'Mystery' and 'Romance'." in with_notes[0]
    assert "- guardrail: Never return customers.email." in with_notes[0]
    records = {r["id"]: r for r in predictions(tmp_path / "run", "t")}
    assert records["demo-2"]["meta"]["teachings"] == 2
    assert "teachings" not in records["demo-19"]["meta"]


def test_a_teachings_file_that_is_not_teachings_names_the_database(
    questions_file, demo_root, tmp_path
):
    teachings = tmp_path / "teachings.json"
    teachings.write_text(json.dumps({"bookshop": [{"kind": "rumour", "text": "x"}]}))
    config = {"dataset": dataset(questions_file(("demo-2",)), demo_root, teachings=str(teachings)),
              "tasks": [{"id": "t", "type": "generate", "method": "retrieval"}]}  # fmt: skip
    with pytest.raises(ConfigError, match="db_id bookshop: not a list of teachings"):
        run_config(config, tmp_path / "run")
