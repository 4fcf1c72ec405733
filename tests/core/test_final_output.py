"""data.jsonl written batch by batch as the last step's batches are made, with the run's fold."""

import json
from collections.abc import Sequence

import pytest

from sqlfoundry.core.executors.final import Ending, FinalPart, FinalWriter, _sendable, end_batch
from sqlfoundry.core.executors.local import LocalExecutor
from sqlfoundry.core.executors.stream import batch_path
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.runs import Fold
from sqlfoundry.core.sample import Sample


class MarkParams(Params):
    mark: str
    fail_on: str = ""  # a record with this id makes the batch raise


class Mark(Operator):
    name = "test_mark"
    Params = MarkParams

    async def process(self, batch: Sequence[Sample], ctx) -> StepOutput:
        if any(s.id == self.params.fail_on for s in batch):
            raise RuntimeError(f"cannot mark {self.params.fail_on}")
        return StepOutput(samples=[s.model_copy(update={"question": (s.question or "") +
                                                        self.params.mark}) for s in batch])  # fmt: skip


def ids_and_questions(records: Sequence[Sample], ctx) -> list[str]:
    return [f"{s.id}:{s.question}" for s in records]


def joined(so_far: list[str], part: list[str]) -> list[str]:
    return so_far + part


LISTED = Fold(start=list, batch=ids_and_questions, merge=joined)


def short(sample: Sample) -> dict:
    return {"id": sample.id, "q": sample.question}


def seeds(n: int) -> list[Sample]:
    return [Sample(id=f"r{i}", db_id="d", question="é") for i in range(n)]


def test_batches_arriving_out_of_order_are_written_in_order(tmp_path):
    steps = tmp_path / "step"
    steps.mkdir()
    # Batch 1 was written by an earlier run: it comes back from its checkpoint.
    earlier = [Sample(id="b", db_id="d", question="from the file")]
    batch_path(steps, 1).write_text("".join(s.to_json_line() + "\n" for s in earlier))
    # Batch 3 never arrives (a Ray run's, say): the end reads it.
    batch_path(steps, 3).write_text(Sample(id="d", db_id="d", question="late").to_json_line())
    ending = Ending(short, LISTED)
    part = {k: end_batch(ending, [Sample(id=k, db_id="d", question=k.upper())], None)
            for k in ("a", "c")}  # fmt: skip
    out = tmp_path / "data.jsonl"
    with out.open("w") as fh:
        writer = FinalWriter(fh, out, lambda k: batch_path(steps, k), ending, None)
        writer.arrived(2, part["c"])
        assert writer.next == 0 and fh.tell() == 0  # batch 0 not there yet: nothing written
        writer.arrived(0, part["a"])
        writer.arrived(1, None)
        assert writer.next == 3
        writer.arrived(4, FinalPart(['{"id": "e"}'], ["e:?"]))
        assert writer.next == 3  # batch 4 waits for batch 3
        count = writer.close([0, 1, 2, 3, 4])
    assert count == 5
    lines = out.read_text().splitlines()
    assert lines == ['{"id": "a", "q": "A"}', '{"id": "b", "q": "from the file"}',
                     '{"id": "c", "q": "C"}', '{"id": "d", "q": "late"}', '{"id": "e"}']  # fmt: skip
    assert writer.folded == ["a:A", "b:from the file", "c:C", "d:late", "e:?"]


@pytest.mark.parametrize("fuse", [True, False])
def test_a_run_writes_its_records_and_folds_them_as_the_batches_finish(tmp_path, fuse):
    ops = [Mark(mark="1"), Mark(mark="2")]
    result = Pipeline(ops, batch_size=3).run(seeds(8), tmp_path / "run", record=short,
                                             fold=LISTED, executor=LocalExecutor(fuse=fuse))  # fmt: skip
    lines = (tmp_path / "run" / "data.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines == [json.dumps({"id": f"r{i}", "q": "é12"}, ensure_ascii=False) for i in range(8)]
    assert result.folded == [f"r{i}:é12" for i in range(8)]
    assert LISTED.over(result.iter_samples(), None, size=5) == result.folded
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["records"] == 8


def test_a_resumed_run_reads_the_batches_it_does_not_make_again(tmp_path):
    ops = [Mark(mark="1"), Mark(mark="2")]
    run_dir = tmp_path / "run"
    Pipeline(ops, batch_size=3).run(seeds(8), run_dir, record=short, fold=LISTED)
    data = (run_dir / "data.jsonl").read_bytes()
    last = sorted((run_dir / "steps").iterdir())[-1]
    (last / "done").unlink()
    (last / "batch-00001.jsonl").unlink()
    again = Pipeline(ops, batch_size=3).run(seeds(8), run_dir, record=short, fold=LISTED)
    assert [s.reused for s in again.steps] == [True, False]
    assert (run_dir / "data.jsonl").read_bytes() == data
    assert again.folded == [f"r{i}:é12" for i in range(8)]


def test_a_failed_run_leaves_the_earlier_output_and_no_partial_file(tmp_path):
    run_dir = tmp_path / "run"
    Pipeline([Mark(mark="1")], batch_size=2).run(seeds(5), run_dir, record=short)
    data = (run_dir / "data.jsonl").read_bytes()
    failing = Pipeline([Mark(mark="1"), Mark(mark="2", fail_on="r3")], batch_size=2)
    with pytest.raises(RuntimeError, match="cannot mark r3"):
        failing.run(seeds(5), run_dir, record=short)
    assert (run_dir / "data.jsonl").read_bytes() == data
    assert sorted(p.name for p in run_dir.iterdir()) == ["data.jsonl", "manifest.json",
                                                         "rejects.jsonl", "steps"]  # fmt: skip


def test_a_view_a_worker_cannot_take_stays_in_this_process():
    assert _sendable(Ending(short, LISTED))
    assert not _sendable(Ending(lambda s: {"id": s.id}))
