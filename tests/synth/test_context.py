"""The run context and the engine switch every synthesis operator shares."""

from __future__ import annotations

from synth_testing import answer_with, run

from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.base import EngineOperator, changed_copy, stamp


class Echo(EngineOperator):
    name = "echo_engine"

    async def process_offline(self, batch, ctx):
        return StepOutput([stamp(s.model_copy(), self.name, "offline") for s in batch])

    async def process_llm(self, batch, ctx):
        out = []
        for s in batch:
            text = (await ctx.llm.generate([{"role": "user", "content": s.sql}]))[0].text
            out.append(stamp(s.model_copy(update={"question": text}), self.name, "llm"))
        return StepOutput(out)


def test_auto_engine_is_offline_without_llm_and_llm_with_one(demo_ctx, llm_ctx, fake):
    fake.handler = answer_with(lambda messages, n, i: "How many books are there?")
    batch = [Sample(id="1", db_id="bookshop", sql="SELECT count(*) FROM books")]
    offline = run(Echo().process(batch, demo_ctx)).samples[0]
    assert offline.meta == {"engine": "offline",
                            "provenance": [{"operator": "echo_engine", "engine": "offline"}]}  # fmt: skip
    online = run(Echo().process(batch, llm_ctx)).samples[0]
    assert online.question == "How many books are there?"
    assert online.meta["engine"] == "llm"
    # The engine is part of the step's signature: switching it re-runs the step.
    assert Echo().signature(demo_ctx) != Echo().signature(llm_ctx)
    assert Echo(engine="offline").context_identity(llm_ctx) == {"engine": "offline"}


def test_execute_runs_on_the_demo_databases(demo_ctx):
    results = run(demo_ctx.execute([("SELECT count(*) FROM books", "bookshop"),
                                    ("SELECT nope FROM books", "bookshop")]))  # fmt: skip
    assert results[0].ok and results[0].rows[0][0] > 0
    assert not results[1].ok and "nope" in results[1].error


def test_a_changed_copy_leaves_the_record_it_copies_as_it_was():
    original = Sample(id="1", db_id="d", sql="SELECT 1", candidates=["a"],
                      meta={"provenance": [{"operator": "x"}], "seen": {"k": 1}})  # fmt: skip
    before = original.to_json_line()
    copy = changed_copy(original, {"question": "q"})
    copy.meta["added"] = 1
    stamp(copy, "y", "offline")
    assert original.to_json_line() == before
    assert copy.question == "q" and [p["operator"] for p in copy.meta["provenance"]] == ["x", "y"]
    assert copy.meta["seen"] == {"k": 1} and copy.candidates == ["a"]
