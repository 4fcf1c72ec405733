"""The execution filter and the offline CoT hold a slice of a batch's results at a time,
and give what the batch gives record by record, in the same order."""

from __future__ import annotations

import pytest
from synth_testing import run

from sqlfoundry.core.sample import Sample
from sqlfoundry.synth import cot_generator, execution_filter
from sqlfoundry.synth.cot_generator import CoTGenerator
from sqlfoundry.synth.execution_filter import SQLExecutionFilter

GOOD = "SELECT count(*) FROM books WHERE price > {n}"


def _batch() -> list[Sample]:
    """Kept and rejected records mixed, past several slices."""
    batch = []
    for n in range(70):
        sql = GOOD.format(n=n) if n % 7 else f"SELECT nope{n} FROM books"
        question = None if n == 12 else f"How many books cost more than {n}?"
        batch.append(Sample(id=f"r{n}", db_id="bookshop", question=question, sql=sql))
    batch.append(Sample(id="nodb", db_id="nowhere", question="Q?", sql="SELECT 1"))
    return batch


@pytest.fixture
def largest_call(demo_ctx, monkeypatch):
    """The largest number of queries one ``ctx.execute`` call was given."""
    seen = [0]
    execute = demo_ctx.execute

    async def counting(jobs):
        seen[0] = max(seen[0], len(jobs))
        return await execute(jobs)

    monkeypatch.setattr(demo_ctx, "execute", counting)
    return seen


@pytest.mark.parametrize(
    ("module", "name", "make"),
    [
        (execution_filter, "_RESULTS_HELD", lambda: SQLExecutionFilter()),
        (cot_generator, "_REFERENCES_HELD", lambda: CoTGenerator(engine="offline")),
    ],
)
def test_a_batch_is_run_a_slice_at_a_time(demo_ctx, largest_call, monkeypatch, module, name,
                                          make):  # fmt: skip
    batch = _batch()
    one_by_one = [run(make().process([s], demo_ctx)) for s in batch]
    assert largest_call[0] == 1
    out = run(make().process(batch, demo_ctx))
    assert 0 < largest_call[0] <= getattr(module, name) < len(batch)
    assert [s.model_dump() for s in out.samples] == [
        s.model_dump() for o in one_by_one for s in o.samples
    ]
    assert len(out.samples) > 40 and len(out.rejects) > 10
    # Rejects keep the order the whole batch gives them (by kind, then by record).
    assert sorted(r.to_dict()["sample"]["id"] for r in out.rejects) == sorted(
        r.to_dict()["sample"]["id"] for o in one_by_one for r in o.rejects
    )
    monkeypatch.setattr(module, name, 1000)  # one slice: the order before slicing
    whole = run(make().process(batch, demo_ctx))
    assert [r.to_dict() for r in out.rejects] == [r.to_dict() for r in whole.rejects]
    assert [s.model_dump() for s in out.samples] == [s.model_dump() for s in whole.samples]
