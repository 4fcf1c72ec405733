"""The Ray stage actor, run in this process: several steps on one actor write the parts
and send on the records that one actor per step would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

from sqlfoundry.core.executors.ray_step import StageActor, root_key  # noqa: E402
from sqlfoundry.core.operator import Operator, StepOutput  # noqa: E402
from sqlfoundry.core.sample import Sample  # noqa: E402
from sqlfoundry.llm.context_spec import ContextSpec  # noqa: E402

CALLS: list[tuple[str, int]] = []


class Split(Operator):
    """Each record becomes three."""

    name = "split"

    async def process(self, batch, ctx) -> StepOutput:
        CALLS.append((self.name, len(batch)))
        return StepOutput(samples=[s.model_copy(update={"id": f"{s.id}-{j}", "question": str(j)})
                                   for s in batch for j in range(3)])  # fmt: skip


class DropOnes(Operator):
    """Keeps the records whose question is not ``1``; takes two at a time."""

    name = "drop_ones"
    max_batch = 2

    async def process(self, batch, ctx) -> StepOutput:
        CALLS.append((self.name, len(batch)))
        out = StepOutput()
        for s in batch:
            if s.question == "1":
                out.rejects.append(self.reject(s, "a one"))
            else:
                out.samples.append(s)
        return out


def _batch(n: int, not_final: int | None = 1) -> dict:
    samples = [Sample(id=f"r{i}", db_id="x") for i in range(n)]
    return {"key": np.array([root_key(i) for i in range(n)], dtype=object),
            "json": np.array([json.dumps(s.to_json_dict()) for s in samples], dtype=object),
            "unf": np.array([i == not_final for i in range(n)], dtype=bool)}  # fmt: skip


def _parts(folder: Path) -> list[dict]:
    lines = [json.loads(t) for p in folder.glob("part-*.jsonl") for t in p.read_text().splitlines()]
    return sorted(lines, key=lambda line: line["p"])


def _steps(root: Path) -> list[tuple[type, dict, str]]:
    return [(Split, {}, str(root / "1-split")), (DropOnes, {}, str(root / "2-drop"))]


def test_steps_on_one_actor_write_what_an_actor_per_step_writes(tmp_path):
    spec = ContextSpec()
    fused_root, apart_root = tmp_path / "fused", tmp_path / "apart"
    CALLS.clear()
    fused = StageActor(_steps(fused_root), spec, emit=True, batch_sizes=[8, 2])(_batch(3))
    # The expanding step ran again record by record (children known by their parent);
    # the second step took its nine records two at a time.
    assert CALLS == [("split", 3), ("split", 1), ("split", 1), ("split", 1), ("drop_ones", 2),
                     ("drop_ones", 2), ("drop_ones", 2), ("drop_ones", 2), ("drop_ones", 1)]  # fmt: skip
    first, second = _steps(apart_root)
    middle = StageActor([first], spec, emit=True, batch_sizes=[8])(_batch(3))
    apart = StageActor([second], spec, emit=True, batch_sizes=[2])(middle)
    assert {k: list(v) for k, v in fused.items()} == {k: list(v) for k, v in apart.items()}
    assert list(fused["key"]) == [f"{root_key(i)}.{j:06d}" for i in range(3) for j in (0, 2)]
    # Not final upstream (record 1) stays not final through both steps.
    assert list(fused["unf"]) == [False, False, True, True, False, False]
    for name in ("1-split", "2-drop"):
        assert _parts(fused_root / name) == _parts(apart_root / name)
    drop = _parts(fused_root / "2-drop")
    assert [line["rej"][0]["reason"] for line in drop if line["rej"]] == ["a one"] * 3

    # The last stage sends nothing on: its parts are the output.
    CALLS.clear()
    last = StageActor(_steps(tmp_path / "last"), spec, emit=False, batch_sizes=[8, 2])(_batch(3))
    assert list(last["key"]) == [] and len(_parts(tmp_path / "last" / "2-drop")) == 9

    # A new actor over the same folders gives back what the parts hold; only the record
    # that was not final runs again (an expanding step with one record runs once).
    CALLS.clear()
    again = StageActor(_steps(fused_root), spec, emit=True, batch_sizes=[8, 2])(
        _batch(3, not_final=None)
    )
    assert CALLS == [("split", 1), ("drop_ones", 1), ("drop_ones", 2)]  # slices of two, as before
    assert list(again["key"]) == list(fused["key"]) and list(again["json"]) == list(fused["json"])
    assert not any(again["unf"])
