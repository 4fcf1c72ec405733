"""fewer_collections: the collector's thresholds and frozen objects during a run, and
put back after it, whatever happens."""

from __future__ import annotations

import gc
import os
import weakref
from collections.abc import Sequence

import pytest

from sqlfoundry.core.collector import YOUNG, fewer_collections
from sqlfoundry.core.operator import Operator, StepOutput
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.sample import Sample


@pytest.fixture(autouse=True)
def default_collector():
    before = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()


def test_made_objects_are_frozen_and_young_passes_rarer_until_the_end():
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG, 10, 10)
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_thresholds_higher_than_ours_are_kept():
    gc.set_threshold(200_000, 5, 5)
    with fewer_collections():
        assert gc.get_threshold() == (200_000, 5, 5)
    assert gc.get_threshold() == (200_000, 5, 5)


def test_nested_runs_put_back_at_the_outermost_end_even_after_an_error():
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError, match="step failed"), fewer_collections():
        with fewer_collections(young=1000):
            pass
        assert gc.get_threshold() == (YOUNG, 10, 10)  # the inner end changes nothing
        raise RuntimeError("step failed")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_cyclic_garbage_made_during_the_run_is_still_collected():
    with fewer_collections():
        ref = weakref.ref(_Node())
        assert ref() is not None
        gc.collect()
        assert ref() is None


class _Thresholds(Operator):
    name = "test_record_thresholds"
    seen: list[tuple[int, int, int]] = []

    async def process(self, batch: Sequence[Sample], ctx) -> StepOutput:
        _Thresholds.seen.append(gc.get_threshold())
        return StepOutput(samples=list(batch))


def test_a_pipeline_runs_with_fewer_collections(tmp_path):
    gc.set_threshold(700, 10, 10)
    _Thresholds.seen.clear()
    Pipeline([_Thresholds()], batch_size=2).run(
        [Sample(id=str(i), db_id="d") for i in range(3)], tmp_path / "run"
    )
    assert _Thresholds.seen == [(YOUNG, 10, 10)] * 2
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_process_forked_during_a_run_collects_as_outside_it():
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the thresholds of outside the run, and a run of its own
            seen = [gc.get_threshold()]
            with fewer_collections():
                seen.append(gc.get_threshold())
            seen.append(gc.get_threshold())
            os.write(write, repr(seen).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as answer:
            seen = answer.read()
        os.waitpid(pid, 0)
        assert gc.get_threshold() == (YOUNG, 10, 10)  # the parent's run goes on
    assert seen == repr([(700, 10, 10), (YOUNG, 10, 10), (700, 10, 10)])
