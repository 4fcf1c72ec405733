import json
from collections.abc import Sequence

import pytest

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample

CALLS: list[str] = []


class UpperParams(Params):
    suffix: str = "!"


@register
class Upper(Operator):
    name = "test_upper"
    inputs = ("question",)
    outputs = ("question",)
    Params = UpperParams

    async def process(self, batch: Sequence[Sample], ctx) -> StepOutput:
        CALLS.append(f"{self.name}:{len(batch)}")
        out = StepOutput()
        for s in batch:
            if not s.question:
                out.rejects.append(self.reject(s, "no question"))
                continue
            out.samples.append(
                s.model_copy(update={"question": s.question.upper() + self.params.suffix})
            )
        return out


class DoubleParams(Params):
    copies: int = 2


@register
class Double(Operator):
    name = "test_double"
    Params = DoubleParams

    async def process(self, batch, ctx) -> StepOutput:
        CALLS.append(f"{self.name}:{len(batch)}")
        return StepOutput(
            samples=[
                s.model_copy(update={"id": f"{s.id}.{i}"})
                for s in batch
                for i in range(self.params.copies)
            ]
        )


def seeds(n: int = 5) -> list[Sample]:
    return [Sample(id=str(i), db_id="d", question=None if i == 2 else f"q{i}") for i in range(n)]


def test_runs_filters_with_reasons_and_expands(tmp_path):
    CALLS.clear()
    pipe = Pipeline([Upper(), Double(copies=2)], batch_size=2)
    result = pipe.run(seeds(), tmp_path)
    assert [s.id for s in result.samples] == [
        "0.0",
        "0.1",
        "1.0",
        "1.1",
        "3.0",
        "3.1",
        "4.0",
        "4.1",
    ]
    assert result.samples[0].question == "Q0!"
    assert result.rejects == [
        {"operator": "test_upper", "reason": "no question", "sample": {"id": "2", "db_id": "d"}}
    ]
    data = [json.loads(line) for line in (tmp_path / "data.jsonl").read_text().splitlines()]
    assert len(data) == 8
    assert json.loads((tmp_path / "rejects.jsonl").read_text())["reason"] == "no question"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["outputs"] for s in manifest["steps"]] == [4, 8]
    assert [s["reasons"] for s in manifest["steps"]] == [{"no question": 1}, {}]


def test_rerun_reuses_every_step_and_change_reruns_only_later_steps(tmp_path):
    Pipeline([Upper(), Double()], batch_size=2).run(seeds(), tmp_path)
    CALLS.clear()
    again = Pipeline([Upper(), Double()], batch_size=2).run(seeds(), tmp_path)
    assert CALLS == []
    assert all(step.reused for step in again.steps)
    changed = Pipeline([Upper(), Double(copies=3)], batch_size=2).run(seeds(), tmp_path)
    # The new step takes the batches of the one before as they were written (2, 1, 1).
    assert CALLS == ["test_double:2", "test_double:1", "test_double:1"]
    assert [step.reused for step in changed.steps] == [True, False]
    assert len(changed.samples) == 12


def test_interrupted_step_resumes_from_its_finished_batches(tmp_path):
    Pipeline([Upper()], batch_size=2).run(seeds(), tmp_path)
    step_dir = next((tmp_path / "steps").iterdir())
    # As if killed after the first batch: later batches and the done marker are gone.
    (step_dir / "done").unlink()
    for k in (1, 2):
        (step_dir / f"batch-{k:05d}.jsonl").unlink()
        (step_dir / f"rejects-{k:05d}.jsonl").unlink()
    CALLS.clear()
    result = Pipeline([Upper()], batch_size=2).run(seeds(), tmp_path)
    assert CALLS == ["test_upper:2", "test_upper:1"]
    assert [s.id for s in result.samples] == ["0", "1", "3", "4"]
    assert len(result.rejects) == 1


def test_from_config_builds_registered_operators_and_checks_params():
    pipe = Pipeline.from_config([{"op": "test_upper", "suffix": "?"}, {"op": "test_double"}])
    assert [op.name for op in pipe.operators] == ["test_upper", "test_double"]
    with pytest.raises(ConfigError, match="unknown operator 'nope'"):
        Pipeline.from_config([{"op": "nope"}])
    with pytest.raises(ConfigError, match="bad parameters for operator test_upper"):
        Pipeline.from_config([{"op": "test_upper", "sufix": "?"}])


class Slow(Operator):
    """Sleeps per batch, longer for earlier batches, and tracks how many run at once."""

    name = "test_slow"
    running = 0
    most = 0

    async def process(self, batch, ctx) -> StepOutput:
        import asyncio

        Slow.running += 1
        Slow.most = max(Slow.most, Slow.running)
        await asyncio.sleep(0.05 / (1 + int(batch[0].id)))
        Slow.running -= 1
        return StepOutput(samples=list(batch))


def test_concurrent_batches_keep_order_and_bound(tmp_path):
    Slow.running = Slow.most = 0
    samples = [Sample(id=str(i), db_id="d") for i in range(10)]
    result = Pipeline([Slow()], batch_size=1, concurrent_batches=3).run(samples, tmp_path / "run")
    assert [s.id for s in result.samples] == [str(i) for i in range(10)]
    assert Slow.most == 3


def test_input_rejects_and_record_view(tmp_path):
    run_dir = tmp_path / "run"
    bad = {"operator": "input", "reason": "malformed JSON", "source": "pairs.jsonl:3"}
    Pipeline([Upper()]).run(seeds(3), run_dir, input_rejects=[bad],
                            record=lambda s: {"ID": s.id, "Q": s.question})  # fmt: skip
    data = [json.loads(line) for line in (run_dir / "data.jsonl").read_text().splitlines()]
    assert data == [{"ID": "0", "Q": "Q0!"}, {"ID": "1", "Q": "Q1!"}]
    rejects = [json.loads(line) for line in (run_dir / "rejects.jsonl").read_text().splitlines()]
    assert rejects[0] == bad
    assert [(r["operator"], r["reason"]) for r in rejects[1:]] == [("test_upper", "no question")]


def test_a_run_folder_that_cannot_be_made_stops_before_any_step(tmp_path):
    from sqlfoundry.core.errors import OutputError

    blocker = tmp_path / "blocker"
    blocker.write_text("")
    CALLS.clear()
    with pytest.raises(OutputError) as info:
        Pipeline([Upper()]).run([Sample(id="a", db_id="d", question="q")], blocker / "run")
    assert str(info.value) == f"{blocker / 'run'}: {blocker} is a file, not a folder"
    assert CALLS == []


def _outputs(run_dir) -> tuple[str, str]:
    return (run_dir / "data.jsonl").read_text(), (run_dir / "rejects.jsonl").read_text()


def test_a_rerun_with_another_batch_size_reads_the_batches_as_they_were_cut(tmp_path):
    Pipeline([Upper(), Double()], batch_size=2).run(seeds(7), tmp_path / "clean")
    # Interrupted after its first batch, then resumed with batches of 3: the step keeps
    # its batches of 2, and nothing is repeated or lost.
    Pipeline([Upper(), Double()], batch_size=2).run(seeds(7), tmp_path / "run")
    first = sorted((tmp_path / "run" / "steps").iterdir())[0]
    assert (first / "batch-size").read_text() == "2"
    (first / "done").unlink()
    for k in (1, 2, 3):
        (first / f"batch-{k:05d}.jsonl").unlink()
    CALLS.clear()
    Pipeline([Upper(), Double()], batch_size=3).run(seeds(7), tmp_path / "run")
    assert CALLS[:3] == ["test_upper:2", "test_upper:2", "test_upper:1"]
    assert _outputs(tmp_path / "run") == _outputs(tmp_path / "clean")
    # A finished step is read back whatever the batch size now.
    CALLS.clear()
    again = Pipeline([Upper(), Double()], batch_size=5).run(seeds(7), tmp_path / "run")
    assert CALLS == [] and all(step.reused for step in again.steps)
    assert _outputs(tmp_path / "run") == _outputs(tmp_path / "clean")


def test_batches_of_an_unknown_size_are_set_aside_and_made_again(tmp_path):
    Pipeline([Upper()], batch_size=4).run(seeds(7), tmp_path / "run")
    step_dir = next((tmp_path / "run" / "steps").iterdir())
    # A folder an earlier version left half done: no record of its batches' size.
    (step_dir / "batch-size").unlink()
    (step_dir / "done").unlink()
    (step_dir / "batch-00001.jsonl").unlink()
    CALLS.clear()
    result = Pipeline([Upper()], batch_size=2).run(seeds(7), tmp_path / "run")
    assert CALLS == ["test_upper:2"] * 3 + ["test_upper:1"]
    assert [s.id for s in result.samples] == ["0", "1", "3", "4", "5", "6"]
    assert sorted(p.name for p in (step_dir / "set-aside").iterdir()) == [
        "batch-00000.jsonl", "rejects-00000.jsonl", "rejects-00001.jsonl"
    ]  # fmt: skip
    assert (step_dir / "batch-size").read_text() == "2"
    # A finished folder with no record is read back by its files.
    (step_dir / "batch-size").unlink()
    CALLS.clear()
    again = Pipeline([Upper()], batch_size=3).run(seeds(7), tmp_path / "run")
    assert CALLS == [] and [s.id for s in again.samples] == ["0", "1", "3", "4", "5", "6"]
