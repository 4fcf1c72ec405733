"""The producers registered as pipeline operators: config-built, checkpointed, rejects with reasons."""

from __future__ import annotations

import pytest
from producer_fakes import PairModel
from synth_testing import run

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.pipelines import load_operators
from sqlfoundry.synth.records import database_seeds

load_operators()

STEPS = [
    {"op": "pair_schema_synthesizer", "count": 2, "complexity": ["simple", "complex"]},
    {"op": "pair_depth_evolver", "count": 1},
    {"op": "pair_breadth_evolver", "count": 1, "styles": ["interrogative"]},
    {"op": "pair_validator", "execute": True},
    {"op": "pair_filter", "tables": ["books", "authors", "publishers", "orders", "customers",
                                     "order_items", "reviews"]},
]  # fmt: skip


def test_a_pipeline_of_producer_operators(demo_ctx, tmp_path):
    pipeline = Pipeline.from_config(STEPS, batch_size=4)
    result = pipeline.run(database_seeds(["bookshop", "atlantis"]), tmp_path / "run", demo_ctx)
    steps = {s.operator: s for s in result.steps}
    assert steps["pair_schema_synthesizer"].outputs == 4
    assert result.rejects[0] == {"operator": "pair_schema_synthesizer",
                                 "reason": "unknown database: atlantis",
                                 "sample": {"id": "atlantis", "db_id": "atlantis"}}  # fmt: skip
    # Each record is followed by its evolution, then each by its paraphrase.
    depth, breadth = steps["pair_depth_evolver"], steps["pair_breadth_evolver"]
    assert depth.outputs == 4 + 4 - depth.rejects  # a set operation cannot be evolved offline
    assert set(depth.reasons) <= {"not evolved: only a single SELECT can be evolved offline, "
                                  "not a set operation or a CTE"}  # fmt: skip
    assert breadth.outputs == 2 * depth.outputs - breadth.rejects
    ids = [s.id for s in result.samples]
    assert ids[:4] == ["bookshop-p0-simple-0", "bookshop-p0-simple-0-b0", "bookshop-p0-simple-0-d0",
                       "bookshop-p0-simple-0-d0-b0"]  # fmt: skip
    assert all(s.question and s.sql for s in result.samples)
    provenance = result.samples[3].meta["provenance"]
    assert [p["producer"] for p in provenance if "producer" in p] == [
        "schema_synthesizer",
        "depth_evolver",
        "breadth_evolver",
    ]
    # The same run again reuses every step.
    again = pipeline.run(database_seeds(["bookshop", "atlantis"]), tmp_path / "run", demo_ctx)
    assert all(step.reused for step in again.steps)
    assert [s.id for s in again.samples] == ids


def test_validator_and_filter_reject_with_the_reason(demo_ctx, tmp_path):
    batch = [
        Sample(id="ok", db_id="clinic", question="Q?", sql="SELECT name FROM departments"),
        Sample(id="col", db_id="clinic", question="Q?", sql="SELECT nom FROM departments"),
        Sample(id="other", db_id="clinic", question="Q?", sql="SELECT count(*) FROM doctors"),
    ]
    pipeline = Pipeline(
        [build("pair_validator", {}), build("pair_filter", {"tables": ["departments"]})]
    )
    result = pipeline.run(batch, tmp_path / "run", demo_ctx)
    assert [s.id for s in result.samples] == ["ok"]
    assert [(r["operator"], r["sample"]["id"], r["reason"]) for r in result.rejects] == [
        ("pair_validator", "col", "unknown column(s): departments.nom"),
        ("pair_filter", "other", "filtered: reads none of departments"),
    ]


def test_a_step_that_only_checks_keeps_the_order_it_was_given(demo_ctx):
    # Records evolved earlier carry their parent in meta; checking them must not regroup them.
    batch = [
        Sample(id="a", db_id="clinic", question="Q?", sql="SELECT name FROM departments"),
        Sample(id="a-d0", db_id="clinic", question="Q?", sql="SELECT count(*) FROM departments",
               meta={"evolved_from": "a"}),
        Sample(id="b", db_id="clinic", question="Q?", sql="SELECT count(*) FROM doctors"),
        Sample(id="a-d0-b0", db_id="clinic", question="Q?", sql="SELECT count(*) FROM departments",
               meta={"evolved_from": "a-d0"}),
    ]  # fmt: skip
    out = run(build("pair_validator", {}).process(batch, demo_ctx))
    assert [s.id for s in out.samples] == ["a", "a-d0", "b", "a-d0-b0"]


def test_depth_operator_with_the_llm_rejects_unanswerable_evolutions(llm_ctx, fake):
    model = PairModel()
    fake.handler = model.handler
    op = build("pair_depth_evolver", {"techniques": ["add-filter", "hypothetical"], "count": 2,
                                      "keep_original": False})  # fmt: skip
    seed = Sample(
        id="n", db_id="bookshop", question="How many books?", sql="SELECT count(*) FROM books"
    )
    out = run(op.process([seed], llm_ctx))
    assert [s.id for s in out.samples] == ["n-d0"] or [s.id for s in out.samples] == ["n-d1"]
    [reject] = out.rejects
    assert reject.reason == "unanswerable: the database has no data for this question"
    assert op.context_identity(llm_ctx) == {"engine": "llm", "model": "fake-model"}


def test_operator_params_are_checked_when_built():
    with pytest.raises(ConfigError):
        build("pair_breadth_evolver", {"count": 0})
    with pytest.raises(ConfigError):
        build("pair_schema_synthesizer", {"complexity": []})
