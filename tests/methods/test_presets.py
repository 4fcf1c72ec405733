"""Every method preset end to end: the engine, the demo databases, the fake endpoint.

The fake answers each prompt kind in the format it asks for, from the gold SQL,
so a preset that wires its stages right scores every question; the tests also
pin how many requests of each kind a question costs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_testing import dataset, predictions, run_config

IDS = ("demo-2", "demo-6", "demo-7", "demo-16", "demo-19")  # easy, grouping, nested, join, values


def _config(gold: Path, demo_root: Path, task: dict) -> dict:
    return {"dataset": dataset(gold, demo_root), "tasks": [{"id": "t", **task}]}


def test_zero_shot_sends_the_text2sql_prompt_once_per_question(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(IDS)
    report = run_config(_config(gold, demo_root, {"type": "generate", "method": "zero_shot"}),
                        tmp_path / "run", llm_settings)  # fmt: skip
    entry = report["tasks"]["t"]
    assert entry["ex"] == 1.0 and entry["count"] == 5
    assert responder.kinds == {"text2sql": 5}
    assert entry["cost"]["calls_per_question"] == 1.0
    prompt = responder.bodies[0]["messages"][0]["content"]
    assert "CREATE TABLE books" in prompt and "example:" in prompt  # DDL with example values


def test_din_sql_is_four_calls_link_classify_generate_correct(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(IDS)
    report = run_config(_config(gold, demo_root, {"type": "generate", "method": "din_sql"}),
                        tmp_path / "run", llm_settings)  # fmt: skip
    entry = report["tasks"]["t"]
    assert entry["ex"] == 1.0
    assert entry["stages"] == ["din_sql_linker", "din_sql_classifier", "din_sql_generator",
                               "din_sql_corrector"]  # fmt: skip
    assert entry["cost"]["calls_per_question"] == 4.0
    # The class decides the generation prompt: one table easy, a join medium, nesting hard.
    assert responder.kinds["din_sql_link"] == 5 and responder.kinds["din_sql_classify"] == 5
    assert responder.kinds["din_sql_easy"] == 3  # demo-2, demo-6, demo-19
    assert responder.kinds["din_sql_medium"] == 1  # demo-16
    assert responder.kinds["din_sql_hard"] == 1  # demo-7
    records = {r["id"]: r for r in predictions(tmp_path / "run", "t")}
    assert records["demo-7"]["meta"]["decomposition"] == {
        "label": "NESTED", "sub_questions": ["What is the inner result?"]}  # fmt: skip
    assert records["demo-19"]["schema_links"]["values"] == ["Airbus"]
    assert records["demo-19"]["schema_links"]["columns"] == ["aircraft.manufacturer",
                                                             "aircraft.registration"]  # fmt: skip
    # The hard prompt carries the classifier's sub-questions.
    hard = next(b for b in responder.bodies if "need a nested query" in b["messages"][0]["content"])
    assert '["What is the inner result?"]' in hard["messages"][1]["content"]


def test_mac_sql_prunes_large_schemas_decomposes_and_refines_failures(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(IDS)
    # demo-2's decomposer answer fails to run: the refiner gets the error and repairs it.
    responder.variants["How many books are in the Fantasy genre?"] = [
        "SELECT count(*) FROM book WHERE genre = 'Fantasy'"]  # fmt: skip
    report = run_config(_config(gold, demo_root, {"type": "generate", "method": "mac_sql"}),
                        tmp_path / "run", llm_settings)  # fmt: skip
    entry = report["tasks"]["t"]
    assert entry["ex"] == 1.0
    # bookshop (45 columns) and clinic (50) are pruned; airline (55) too: 5 selector calls.
    assert responder.kinds["mac_sql_select"] == 5
    assert responder.kinds["mac_sql_decompose"] == 5
    assert responder.kinds["mac_sql_refine"] == 1
    records = {r["id"]: r for r in predictions(tmp_path / "run", "t")}
    refine = records["demo-2"]["meta"]["refine"][0]
    assert refine["rounds"] == 1 and refine["status"] == "ok"
    assert "no such table: book" in refine["history"][0]
    assert set(records["demo-16"]["schema_subset"]) == {"departments", "doctors"}


def test_mac_sql_keeps_a_small_schema_whole_without_a_call(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(("demo-2",))
    config = _config(gold, demo_root, {"type": "generate", "method": "mac_sql", "prune_above": 100})
    run_config(config, tmp_path / "run", llm_settings)
    assert responder.kinds["mac_sql_select"] == 0
    record = predictions(tmp_path / "run", "t")[0]
    assert record["meta"]["selector"] == "kept whole: small schema"


def test_chess_retrieves_values_samples_candidates_revises_and_selects(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(("demo-19", "demo-8"))
    responder.variants["List the registration of every aircraft built by Airbus."] = [
        "SELECT registration FROM aircraft WHERE manufacturer = 'Airbus'",
        "SELECT registration FROM aircraft WHERE manufacturer = 'airbus'",  # empty: revised
        "SELECT registration FROM aircraft",
    ]
    report = run_config(_config(gold, demo_root, {"type": "generate", "method": "chess"}),
                        tmp_path / "run", llm_settings)  # fmt: skip
    entry = report["tasks"]["t"]
    assert entry["ex"] == 1.0
    assert responder.kinds["chess_keywords"] == 2
    assert responder.kinds["chess_generate"] == 2  # one request of n=3 samples each
    records = {r["id"]: r for r in predictions(tmp_path / "run", "t")}
    airbus = records["demo-19"]
    found = {(v["table"], v["column"], v["value"]) for v in airbus["meta"]["retrieved_values"]}
    assert ("aircraft", "manufacturer", "Airbus") in found
    assert len(airbus["candidates"]) == 3
    # The empty candidate was revised into the gold query; then two results remained.
    assert responder.kinds["chess_revise"] == 1
    assert airbus["pred_sql"] == "SELECT registration FROM aircraft WHERE manufacturer = 'Airbus'"
    assert airbus["meta"]["selection"]["rule"] == "llm/pairwise"


def test_self_consistency_votes_over_n_samples_of_one_request(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(("demo-21",))
    question = "How many passengers have the platinum loyalty tier?"
    right = "SELECT count(*) FROM passengers WHERE loyalty_tier = 'platinum'"
    responder.variants[question] = [
        "SELECT count(*) FROM passengers",
        right,
        "SELECT count(passenger_id) FROM passengers WHERE loyalty_tier = 'platinum'",
        "SELECT count(*) FROM passengers WHERE loyalty_tier = 'gold'",
        right,
    ]
    config = _config(gold, demo_root, {"type": "generate", "method": "self_consistency", "n": 5})
    report = run_config(config, tmp_path / "run", llm_settings)
    assert report["tasks"]["t"]["ex"] == 1.0
    assert responder.kinds["text2sql"] == 1 and responder.bodies[0]["n"] == 5
    record = predictions(tmp_path / "run", "t")[0]
    assert record["pred_sql"] == right
    # Three candidates return 48, the others 2 other counts: the group of three wins.
    assert sorted(map(len, record["meta"]["selection"]["groups"])) == [1, 1, 3]
    assert report["tasks"]["t"]["oracle"]["oracle_best_of_5"] == 1.0


def test_self_consistency_runs_a_multi_call_generator_n_times(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(("demo-2",))
    config = _config(gold, demo_root, {"type": "generate", "method": "self_consistency",
                                       "generator": "din_sql", "n": 3,
                                       "generator_params": {"correct": False}})  # fmt: skip
    report = run_config(config, tmp_path / "run", llm_settings)
    assert report["tasks"]["t"]["ex"] == 1.0
    assert report["tasks"]["t"]["stages"] == ["sample_scaler", "exec_vote_selector"]
    assert responder.kinds["din_sql_link"] == 3 and responder.kinds["din_sql_easy"] == 3
    seeds = sorted(b["seed"] for b in responder.bodies if "seed" in b)
    assert len(set(seeds)) == 3  # each repetition samples with its own seed
    assert report["tasks"]["t"]["cost"]["calls_per_question"] == 9.0


def test_few_shot_shows_the_pool_pairs_most_like_the_question(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(("demo-5",))
    # The pool is a synth run directory: its data.jsonl, as `sqlfoundry synth` writes it.
    pool = tmp_path / "synth_run"
    pool.mkdir()
    pairs = [
        {"question": "How many invoices were refunded?", "SQL": "SELECT count(*) FROM invoices WHERE state = 'refunded'"},
        {"question": "List every city with a museum.", "SQL": "SELECT city FROM museums"},
        {"question": "How many orders were cancelled?", "SQL": "SELECT count(*) FROM orders WHERE status = 'cancelled'"},
    ]  # fmt: skip
    (pool / "data.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    config = _config(gold, demo_root, {"type": "generate", "method": "few_shot", "pool": str(pool),
                                       "k": 1, "num_per_db": 40})  # fmt: skip
    report = run_config(config, tmp_path / "run", llm_settings)
    assert report["tasks"]["t"]["ex"] == 1.0
    assert report["tasks"]["t"]["stages"] == ["retrieval_sql_generator", "few_shot_generator"]
    record = predictions(tmp_path / "run", "t")[0]
    # The same question is never its own example; the masked-question nearest one is.
    assert record["meta"]["few_shot"] == [
        {"question": "How many invoices were refunded?", "db_id": ""}
    ]
    prompt = responder.bodies[0]["messages"][1]["content"]
    assert "/* Answer the following: How many invoices were refunded? */" in prompt
    assert "SELECT count(*) FROM invoices WHERE state = 'refunded'" in prompt


def test_retrieval_is_a_generator_like_the_others_with_no_model(
    questions_file, demo_root, tmp_path
):
    gold = questions_file(("demo-1", "demo-17"))
    config = _config(gold, demo_root, {"type": "generate", "method": "retrieval",
                                       "num_per_db": 40, "candidates": 2})  # fmt: skip
    report = run_config(config, tmp_path / "run")
    entry = report["tasks"]["t"]
    assert entry["ex"] == 1.0 and entry["cost"]["calls_per_question"] == 0
    assert [len(r["candidates"]) for r in predictions(tmp_path / "run", "t")] == [3, 3]
    assert "llm" not in report


@pytest.mark.parametrize("method", ["zero_shot", "din_sql", "mac_sql", "chess", "self_consistency"])
def test_a_model_method_with_no_endpoint_stops_before_any_work(
    method, questions_file, demo_root, tmp_path
):
    from engine_testing import engine_for

    from sqlfoundry.core.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        engine_for(_config(questions_file(IDS), demo_root, {"type": "generate", "method": method}))
    assert "need an LLM endpoint and none is configured" in info.value.message


def test_when_no_candidate_runs_the_vote_keeps_the_first_and_says_so(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(("demo-1",))
    responder.variants["How many books are there?"] = [
        "SELECT count(*) FROM nowhere",
        "SELECT x FROM y",
    ]
    config = _config(gold, demo_root, {"type": "generate", "method": "self_consistency", "n": 2})
    report = run_config(config, tmp_path / "run", llm_settings)
    record = predictions(tmp_path / "run", "t")[0]
    assert record["pred_sql"] == "SELECT count(*) FROM nowhere"
    assert record["meta"]["selection"] == {"rule": "exec_vote", "chosen": None}
    assert record["errors"] == [{"stage": "exec_vote_selector", "kind": "database",
                                 "message": "no candidate executed; kept the first"}]  # fmt: skip
    assert report["tasks"]["t"]["ex"] == 0.0


def test_sql_o1_searches_with_the_schema_aware_prompt_and_log_probabilities(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(IDS)
    task = {"type": "generate", "method": "sql_o1", "iterations": 2, "samples": 2}
    report = run_config(_config(gold, demo_root, task), tmp_path / "run", llm_settings)
    entry = report["tasks"]["t"]
    assert entry["stages"] == ["mcts_search"]
    assert entry["ex"] == 1.0 and entry["count"] == 5
    assert set(responder.kinds) == {"sqlo1"}
    assert all(body.get("logprobs") for body in responder.bodies)
    first = responder.bodies[0]["messages"]
    assert len(first) == 1 and first[0]["content"].rstrip().endswith("The incomplete SQL query:")
    records = {r["id"]: r for r in predictions(tmp_path / "run", "t")}
    search = records["demo-16"]["meta"]["mcts"]
    assert search["candidates"] and all(
        "reward" in c and "visits" in c for c in search["candidates"]
    )


def test_sql_o1_refuses_a_parameter_the_search_does_not_have(demo_root, questions_file, tmp_path):
    from sqlfoundry.core.errors import ConfigError

    gold = questions_file(IDS)
    task = {"type": "generate", "method": "sql_o1", "iteratons": 2}
    with pytest.raises(ConfigError, match="bad parameters for method sql_o1: .*iteratons"):
        run_config(_config(gold, demo_root, task), tmp_path / "run", None)
