"""Squrve's JSON configs (in the shape of its ``startup_run/*.json``) read into ours and run."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from engine_testing import predictions

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.llm import LLMConfig
from sqlfoundry.methods.engine import Engine, read_config
from sqlfoundry.methods.engine.squrve import from_squrve

# The shape of Squrve's startup_run/startup_config.json.
STARTUP = {
    "api_key": {"qwen": "your_api_key_here"},
    "llm": {"use": "qwen", "model_name": "fake-model", "context_window": 120000, "max_token": 800,
            "top_p": 0.9, "temperature": 0.75, "time_out": 30.0},
    "text_embed": {"embed_model_name": "BAAI/bge-large-en-v1.5"},
    "dataset": {"data_source": "spider:dev:", "data_source_dir": "../files/data_source",
                "need_few_shot": False, "need_external": False},
    "database": {"skip_schema_init": False, "schema_source": "spider:dev", "multi_database": False},
    "task": {"task_meta": [{
        "task_id": "generate", "task_type": "GenerateTask", "data_source": "spider:dev:",
        "schema_source": "spider:dev", "is_save_dataset": True, "eval_type": ["execute_accuracy"],
        "meta": {"task": {"generate_type": "DINSQLGenerator"}}, "open_parallel": True, "max_workers": 5,
    }]},
    "engine": {"exec_process": ["generate"]},
}  # fmt: skip

# The shape of Squrve's startup_run/multi_actor_config.json (parsers in a tree, then a pipeline).
MULTI = {
    "llm": {"use": "qwen", "model_name": "fake-model", "max_token": 800, "temperature": 0.75},
    "dataset": {"data_source": "bird:dev:"},
    "database": {"schema_source": "bird:dev"},
    "task": {
        "task_meta": [
            {"task_id": "parse1", "task_type": "ParseTask", "data_source": "bird:dev:",
             "meta": {"task": {"parse_type": "DINSQLCoTParser"}}},
            {"task_id": "parse2", "task_type": "ParseTask", "data_source": "bird:dev:",
             "meta": {"task": {"parse_type": "MACSQLCoTParser"}}},
            {"task_id": "scale", "task_type": "ScaleTask", "meta": {"task": {"scale_type": "ChessScaler"}}},
            {"task_id": "optimize", "task_type": "OptimizeTask",
             "meta": {"task": {"optimize_type": "CHESSOptimizer"}}},
            {"task_id": "select", "task_type": "SelectTask", "meta": {"task": {"select_type": "CHESSSelector"}}},
        ],
        "cpx_task_meta": [{
            "task_id": "complex_actor", "task_lis": [["parse1", "parse2"], "scale", "optimize", "select"],
            "eval_type": ["execute_accuracy"],
            "meta": {"actor": {"parse1": {"save_dir": "../files/schema_links/bird_dev"}},
                     "dataset": {"random_size": 5}},
        }],
    },
    "engine": {"exec_process": ["complex_actor"]},
}  # fmt: skip


def test_startup_config_maps_onto_ours():
    ours = from_squrve(copy.deepcopy(STARTUP))
    assert ours["llm"] == {"model": "fake-model", "max_tokens": 800, "timeout": 30.0,
                           "temperature": 0.75, "top_p": 0.9}  # fmt: skip
    assert ours["dataset"] == {"source": "spider:dev"}
    assert ours["tasks"] == [{"id": "generate", "type": "generate", "method": "din_sql",
                              "eval": ["execute_accuracy"]}]  # fmt: skip
    assert ours["exec_process"] == ["generate"]
    config = read_config(copy.deepcopy(STARTUP))
    assert config.tasks[0].eval == ["ex"]  # execute_accuracy is EX


def test_multi_actor_config_becomes_a_complex_task_with_a_tree():
    config = read_config(copy.deepcopy(MULTI))
    tasks = {t.id: t for t in config.tasks}
    assert (tasks["parse1"].type, tasks["parse1"].method) == ("parse", "din_sql")
    assert (tasks["parse2"].type, tasks["parse2"].method) == ("reduce", "mac_sql")
    assert tasks["scale"].method_params() == {"stages": [{"op": "chess_generator"}]}
    assert tasks["optimize"].method_params() == {"template": "chess_revise", "scope": "candidates"}
    assert tasks["select"].method_params() == {"mode": "pairwise"}
    complex_task = tasks["complex_actor"]
    assert complex_task.steps == [["parse1", "parse2"], "scale", "optimize", "select"]
    assert complex_task.dataset is not None and complex_task.dataset.sample == 5
    assert complex_task.dataset.source == "bird:dev"


def test_an_actor_we_do_not_have_is_named_with_the_ones_we_map():
    config = copy.deepcopy(STARTUP)
    config["task"]["task_meta"][0]["meta"]["task"]["generate_type"] = "ReFoRCEGenerator"
    with pytest.raises(ConfigError) as info:
        read_config(config, source="startup_config.json")
    assert "Squrve actor 'ReFoRCEGenerator' has no sqlfoundry counterpart" in info.value.message
    assert "DINSQLGenerator" in info.value.hint and "FastExecSelector" in info.value.hint


def test_a_dict_exec_process_without_type_is_an_error_unlike_squrve():
    config = copy.deepcopy(STARTUP)
    config["engine"]["exec_process"] = {"tasks": ["generate"]}
    engine = Engine(
        read_config(config), llm_config=LLMConfig(base_url="http://127.0.0.1:9/v1", model="m")
    )
    with pytest.raises(ConfigError, match="Squrve reads a table without type as parallel"):
        engine.prepare()


def test_squrve_filters_and_random_size_select_the_questions():
    config = copy.deepcopy(STARTUP)
    config["dataset"]["data_source"] = "spider:dev:db_size-me-30.ques_length-l-40"
    config["task"]["task_meta"][0]["data_source"] = config["dataset"]["data_source"]
    config["task"]["task_meta"][0]["meta"]["dataset"] = {"random_size": 0.5}
    parsed = read_config(config)
    assert parsed.tasks[0].dataset.source == "spider:dev:db_size-me-30.ques_length-l-40"
    assert parsed.tasks[0].dataset.sample == 0.5


def test_a_squrve_config_over_question_files_runs_end_to_end(
    questions_file, demo_root, llm_settings, responder, tmp_path
):
    gold = questions_file(("demo-2", "demo-16"))
    config = {
        "llm": {"use": "qwen", "model_name": "fake-model", "temperature": 0.0},
        "dataset": {"data_source": str(gold), "db_path": str(demo_root)},
        "task": {
            "task_meta": [
                {"task_id": "reduce", "task_type": "reduce", "meta": {"task": {"reduce_type": "ZeroReducer"}},
                 "eval_type": "reduce_recall.reduce_rate"},
                {"task_id": "gen", "task_type": "GenerateTask",
                 "meta": {"task": {"generate_type": "DINSQLGenerator"}}},
                {"task_id": "sel", "task_type": "SelectTask", "meta": {"task": {"select_type": "FastExecSelector"}}},
                {"task_id": "scale", "task_type": "ScaleTask", "meta": {"task": {"scale_type": "ChessScaler"}}},
            ],
            "cpx_task_meta": [{"task_id": "pipe", "task_lis": ["reduce", ["gen", "scale"], "sel"],
                               "eval_type": ["execute_accuracy"]}],
        },
        "engine": {"exec_process": {"type": "sequence", "tasks": ["reduce", "pipe"]}},
    }  # fmt: skip
    path = tmp_path / "squrve.json"
    path.write_text(json.dumps(config))
    parsed = read_config(json.loads(path.read_text()), source=str(path))
    llm = LLMConfig(**{**llm_settings, **parsed.llm, "base_url": llm_settings["base_url"]})
    engine = Engine(parsed, llm_config=llm)
    engine.prepare()
    report = engine.run(tmp_path / "run")
    assert report["tasks"]["reduce"]["reduce"]["columns"]["recall"] == 1.0
    assert report["tasks"]["reduce"]["reduce"]["reduction_rate"] == 0.0
    assert report["tasks"]["pipe"]["ex"] == 1.0
    assert report["tasks"]["pipe"]["stages"] == ["zero_reducer", "tree", "exec_vote_selector"]
    record = predictions(tmp_path / "run", "pipe")[0]
    assert len(record["candidates"]) == 1 + 5  # DIN-SQL's answer and ChessScaler's five
    assert responder.kinds["chess_generate"] == 10  # five runs of one call, two questions
    assert Path(tmp_path / "run" / "tasks" / "reduce" / "predictions.jsonl").is_file()
