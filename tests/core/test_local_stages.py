"""Steps joined into stages: each batch goes through every step of the stage in turn."""

import json
from collections.abc import Sequence

from sqlfoundry.core.batch_failures import note_transient_failure
from sqlfoundry.core.executors.local import LocalExecutor
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.sample import Sample

CALLS: list[str] = []


class TagParams(Params):
    tag: str
    drop: str = ""  # records whose id ends with this are rejected
    fail_on: str = ""  # a batch holding this id counts a failed LLM request


class Tag(Operator):
    name = "test_tag"
    Params = TagParams

    async def process(self, batch: Sequence[Sample], ctx) -> StepOutput:
        CALLS.append(f"{self.params.tag}:{','.join(s.id for s in batch)}")
        out = StepOutput()
        for s in batch:
            if self.params.fail_on and s.id == self.params.fail_on:
                note_transient_failure()
            if self.params.drop and s.id.endswith(self.params.drop):
                out.rejects.append(self.reject(s, f"ends with {self.params.drop}"))
                continue
            out.samples.append(
                s.model_copy(update={"question": (s.question or "") + self.params.tag})
            )
        return out


class Fan(Operator):
    """Turns each record into three: an expander, which stands alone in its stage."""

    name = "test_fan"
    max_batch = 1

    async def process(self, batch: Sequence[Sample], ctx) -> StepOutput:
        CALLS.append(f"fan:{','.join(s.id for s in batch)}")
        return StepOutput(samples=[s.model_copy(update={"id": f"{s.id}{i}"})
                                   for s in batch for i in "abc"])  # fmt: skip


def seeds(n: int = 7) -> list[Sample]:
    return [Sample(id=str(i), db_id="d") for i in range(n)]


def three() -> list[Operator]:
    return [Tag(tag="A", drop="3"), Tag(tag="B", drop="5"), Tag(tag="C")]


def files(run_dir) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes()
            for p in sorted((run_dir / "steps").rglob("*")) if p.is_file()}  # fmt: skip


def slicings(run_dir) -> list[str]:
    return [(d / "batch-size").read_text() for d in sorted((run_dir / "steps").iterdir())]


def outputs(run_dir) -> tuple[str, str]:
    return (run_dir / "data.jsonl").read_text(), (run_dir / "rejects.jsonl").read_text()


def test_a_batch_goes_through_every_step_before_the_next_batch(tmp_path):
    CALLS.clear()
    result = Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "run")
    assert CALLS == ["A:0,1,2", "B:0,1,2", "C:0,1,2",
                     "A:3,4,5", "B:4,5", "C:4",
                     "A:6", "B:6", "C:6"]  # fmt: skip
    assert [s.id for s in result.samples] == ["0", "1", "2", "4", "6"]
    assert result.samples[0].question == "ABC"
    assert slicings(tmp_path / "run") == ["3", "follows", "follows"]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [(s["inputs"], s["outputs"], s["rejects"]) for s in manifest["steps"]] == [
        (7, 6, 1), (6, 5, 1), (5, 5, 0)
    ]  # fmt: skip
    assert [s["reasons"] for s in manifest["steps"]] == [{"ends with 3": 1}, {"ends with 5": 1}, {}]
    assert all((d / "done").exists() for d in (tmp_path / "run" / "steps").iterdir())


def test_step_by_step_gives_the_same_records_cut_by_size(tmp_path):
    CALLS.clear()
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "apart",
                                        executor=LocalExecutor(fuse=False))  # fmt: skip
    assert CALLS == ["A:0,1,2", "A:3,4,5", "A:6", "B:0,1,2", "B:4,5,6", "C:0,1,2", "C:4,6"]
    assert slicings(tmp_path / "apart") == ["3", "3", "3"]
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "joined")
    assert outputs(tmp_path / "apart") == outputs(tmp_path / "joined")


def test_an_expander_stands_alone_and_the_steps_after_it_cut_its_output(tmp_path):
    CALLS.clear()
    result = Pipeline([Fan(), *three()], batch_size=4).run(seeds(2), tmp_path / "run")
    assert slicings(tmp_path / "run") == ["1", "4", "follows", "follows"]
    assert CALLS[:2] == ["fan:0", "fan:1"]
    assert CALLS[2:5] == ["A:0a,0b,0c,1a", "B:0a,0b,0c,1a", "C:0a,0b,0c,1a"]
    assert [s.id for s in result.samples] == ["0a", "0b", "0c", "1a", "1b", "1c"]


def test_a_missing_batch_of_a_middle_step_is_made_again_alone(tmp_path):
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "run")
    before = files(tmp_path / "run")
    data = outputs(tmp_path / "run")
    middle = sorted((tmp_path / "run" / "steps").iterdir())[1]
    (middle / "done").unlink()
    (middle / "batch-00001.jsonl").unlink()
    CALLS.clear()
    again = Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "run")
    # Step A's batch is read from its checkpoint, step C's is already there.
    assert CALLS == ["B:4,5"]
    assert [step.reused for step in again.steps] == [True, False, True]
    assert files(tmp_path / "run") == before
    assert outputs(tmp_path / "run") == data


def test_an_interrupted_stage_resumes_where_each_step_stopped(tmp_path):
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "clean")
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "run")
    steps = sorted((tmp_path / "run" / "steps").iterdir())
    # As if killed while batch 1 was at step C and batch 2 at step B.
    for step in steps:
        (step / "done").unlink()
    for name in (
        "batch-00001.jsonl",
        "rejects-00001.jsonl",
        "batch-00002.jsonl",
        "rejects-00002.jsonl",
    ):
        (steps[2] / name).unlink()
    for name in ("batch-00002.jsonl", "rejects-00002.jsonl"):
        (steps[1] / name).unlink()
    CALLS.clear()
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "run")
    assert CALLS == ["C:4", "B:6", "C:6"]
    assert files(tmp_path / "run") == files(tmp_path / "clean")
    assert outputs(tmp_path / "run") == outputs(tmp_path / "clean")


def test_a_step_cut_by_size_is_not_joined_and_a_following_one_is_cut_again(tmp_path):
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "clean")
    # Step by step first, interrupted in step B; then resumed with stages: B keeps its
    # batches cut by size, so it runs on its own, and C follows it.
    Pipeline(three(), batch_size=3).run(
        seeds(), tmp_path / "run", executor=LocalExecutor(fuse=False)
    )
    steps = sorted((tmp_path / "run" / "steps").iterdir())
    (steps[1] / "done").unlink()
    (steps[1] / "batch-00001.jsonl").unlink()
    for name in ("done", "batch-00000.jsonl", "rejects-00000.jsonl"):
        (steps[2] / name).unlink()
    CALLS.clear()
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "run")
    assert CALLS == ["B:4,5,6", "C:0,1,2"]
    assert outputs(tmp_path / "run") == outputs(tmp_path / "clean")
    assert slicings(tmp_path / "run") == ["3", "3", "3"]
    # The other way: a folder whose batches follow, resumed step by step, is cut again.
    (steps[2] / "done").unlink()
    (steps[2] / "batch-00001.jsonl").unlink()
    (steps[2] / "batch-size").write_text("follows")
    CALLS.clear()
    Pipeline(three(), batch_size=3).run(
        seeds(), tmp_path / "run", executor=LocalExecutor(fuse=False)
    )
    assert CALLS == ["C:0,1,2", "C:4,6"]
    assert (steps[2] / "batch-size").read_text() == "3"
    assert sorted(p.name for p in (steps[2] / "set-aside").iterdir()) == [
        "batch-00000.jsonl", "rejects-00000.jsonl", "rejects-00001.jsonl"
    ]  # fmt: skip
    assert outputs(tmp_path / "run") == outputs(tmp_path / "clean")


def test_a_batch_with_failed_requests_is_not_final_from_that_step_on(tmp_path):
    steps_ops = [Tag(tag="A"), Tag(tag="B", fail_on="4"), Tag(tag="C")]
    first = Pipeline(steps_ops, batch_size=3).run(seeds(), tmp_path / "run")
    assert [s.id for s in first.samples] == [str(i) for i in range(7)]
    steps = sorted((tmp_path / "run" / "steps").iterdir())
    assert [(d / "done").exists() for d in steps] == [True, False, False]
    assert sorted(p.name for p in steps[1].glob("unfinished-*")) == ["unfinished-00001.jsonl"]
    assert sorted(p.name for p in steps[2].glob("unfinished-*")) == ["unfinished-00001.jsonl"]
    CALLS.clear()
    # A re-run asks again for batch 1 only, from step B on.
    Pipeline(steps_ops, batch_size=3).run(seeds(), tmp_path / "run")
    assert CALLS == ["B:3,4,5", "C:3,4,5"]


def test_batches_cut_before_an_unfinished_step_ended_are_marked_not_final(tmp_path):
    import asyncio

    from sqlfoundry.core.executors.local import _run_stage
    from sqlfoundry.core.executors.stream import StepStream, batch_path
    from sqlfoundry.core.runs import plan_steps

    before = tmp_path / "before"
    before.mkdir()
    stage = plan_steps([Tag(tag="A"), Tag(tag="B")], "input", tmp_path / "steps", None)

    async def scenario():
        upstream = StepStream(before)
        streams = [StepStream(stage[0].dir, upstream)]
        streams.append(StepStream(stage[1].dir, streams[0]))
        run = asyncio.ensure_future(_run_stage(stage, upstream, streams, 2, 1, None, None))
        batch_path(before, 0).write_text("".join(s.to_json_line() + "\n" for s in seeds(2)))
        upstream.written(0, 2)
        while not (stage[1].dir / "rejects-00000.jsonl").exists():
            await asyncio.sleep(0.01)
        # The step before ends unfinished (a failed request in it): what was cut from it
        # while it ran cannot be final either.
        upstream.end(unfinished=True)
        return await run

    reports = asyncio.run(scenario())
    assert [r.outputs for r in reports] == [2, 2]
    for step in stage:
        assert (step.dir / "unfinished-00000.jsonl").exists()
        assert not (step.dir / "done").exists()


def test_the_executor_section_turns_stages_off(tmp_path):
    from sqlfoundry.core.executors.base import ExecutorSettings, make_executor

    executor = make_executor(ExecutorSettings.from_sources({"fuse": False}, {}))
    assert isinstance(executor, LocalExecutor) and executor.fuse is False
    Pipeline(three(), batch_size=3).run(seeds(), tmp_path / "run", executor=executor)
    assert slicings(tmp_path / "run") == ["3", "3", "3"]
    assert make_executor("local").fuse is True
