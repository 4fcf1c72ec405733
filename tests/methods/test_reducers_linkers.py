"""Reducers and linkers on the demo databases, scored against the gold SQL's references."""

from __future__ import annotations

import importlib.util

import pytest
from engine_testing import dataset, predictions, run_config


def _run(gold, root, task, tmp_path, llm=None, **settings):
    return run_config({"dataset": dataset(gold, root), "tasks": [{"id": "t", **task}], "run": settings},
                      tmp_path / "run", llm)  # fmt: skip


def test_the_lexical_linker_links_names_values_and_joins_with_no_model(
    questions_file, demo_root, tmp_path
):
    gold = questions_file(("demo-2", "demo-16", "demo-19"))
    report = _run(gold, demo_root, {"type": "parse", "method": "lexical"}, tmp_path)
    records = {r["id"]: r["schema_links"] for r in predictions(tmp_path / "run", "t")}
    assert records["demo-2"]["values"] == ["Fantasy"]
    assert "books.genre" in records["demo-2"]["columns"]  # the value 'Fantasy' is stored there
    assert records["demo-19"]["values"] == ["Airbus"]
    assert set(records["demo-16"]["tables"]) >= {"departments", "doctors"}
    assert "doctors.department_id = departments.department_id" in records["demo-16"]["joins"]
    parse = report["tasks"]["t"]["parse"]
    assert parse["tables"]["recall"] == 1.0 and parse["values"]["recall"] == 1.0


def test_the_zero_reducer_keeps_everything(questions_file, demo_root, tmp_path):
    gold = questions_file(("demo-1", "demo-9"))
    reduce = _run(gold, demo_root, {"type": "reduce", "method": "zero"}, tmp_path)["tasks"]["t"][
        "reduce"
    ]
    assert reduce["columns"]["recall"] == 1.0 and reduce["reduction_rate"] == 0.0
    assert reduce["tables"]["precision"] == round(2 / (7 + 6), 4)  # bookshop 7 tables, clinic 6


def test_the_embedding_reducer_keeps_top_k_columns_through_the_endpoint(
    questions_file, demo_root, llm_settings, fake_llm, tmp_path
):
    gold = questions_file(("demo-1", "demo-9"))
    report = _run(gold, demo_root, {"type": "reduce", "method": "embedding", "top_k": 4}, tmp_path,
                  {**llm_settings, "embedding_model": "fake-embed"}, embedder="endpoint")  # fmt: skip
    records = predictions(tmp_path / "run", "t")
    assert [sum(len(c) for c in r["schema_subset"].values()) for r in records] == [4, 4]
    assert fake_llm.count("/v1/embeddings") >= 2  # columns once per database, then each question
    assert report["tasks"]["t"]["reduce"]["count"] == 2


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None,
                    reason="the embed extra is not installed")  # fmt: skip
def test_the_embedding_reducer_with_the_local_embedder_keeps_what_the_question_names(
    questions_file, demo_root, tmp_path
):
    gold = questions_file(("demo-13", "demo-21"))
    report = _run(gold, demo_root, {"type": "reduce", "method": "embedding", "top_k": 6}, tmp_path)
    records = {r["id"]: r["schema_subset"] for r in predictions(tmp_path / "run", "t")}
    assert "annual_salary" in records["demo-13"]["doctors"]
    assert "loyalty_tier" in records["demo-21"]["passengers"]
    assert report["tasks"]["t"]["reduce"]["columns"]["recall"] == 1.0
