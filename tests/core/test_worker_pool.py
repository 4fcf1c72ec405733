"""The run's worker pool: results and errors come back as from a local call, progress
arrives as it is made, a dead worker is replaced, and nothing outlives the pool."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.executors.pool import WorkerDied, WorkerPool, can_fork
from sqlfoundry.core.progress import report

pytestmark = pytest.mark.skipif(not can_fork(), reason="the pool forks its workers")


class Spec:
    """A context spec whose context is a tag naming the worker's process."""

    @contextlib.asynccontextmanager
    async def open(self):
        yield f"ctx-{os.getpid()}"


def where(worker, x: int) -> tuple[int, str, int]:
    return x * x, worker.ctx, os.getpid()


def built(worker, key: str) -> int:
    # The same operator object for every job of a step in one worker.
    return id(worker.operator(key, dict, {"k": 1}))


def fails(worker, message: str) -> None:
    raise ConfigError(message, hint="fix it")


def reports(worker, steps: int) -> int:
    for done in range(1, steps + 1):
        report(done, steps)
    return steps


def dies_once(worker, marker: str) -> int:
    if not Path(marker).exists():
        Path(marker).write_text("")
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def always_dies(worker) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sleeps(worker, seconds: float, marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    import time

    time.sleep(seconds)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        # A zombie of ours is gone for every purpose here.
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    return True


def test_jobs_run_in_the_workers_with_their_context_and_results_come_back():
    async def main():
        with WorkerPool(Spec(), 2) as pool:
            results = await asyncio.gather(*(pool.call(where, x) for x in range(8)))
            ids = {await pool.call(built, "step") for _ in range(6)}
        return results, ids

    results, ids = asyncio.run(main())
    assert [r[0] for r in results] == [x * x for x in range(8)]
    pids = {r[2] for r in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert all(r[1] == f"ctx-{r[2]}" for r in results)  # each worker opened its own context
    assert len(ids) <= 2  # built once per worker, then kept


def test_a_job_error_is_raised_here_with_its_type_and_detail_and_the_worker_goes_on():
    async def main():
        with WorkerPool(Spec(), 1) as pool:
            with pytest.raises(ConfigError) as caught:
                await pool.call(fails, "bad setting")
            assert caught.value.hint == "fix it"
            return await pool.call(where, 3)

    assert asyncio.run(main())[0] == 9


def test_progress_from_inside_a_job_arrives_as_it_is_made():
    seen: list[float] = []

    async def main():
        with WorkerPool(Spec(), 1) as pool:
            return await pool.call(reports, 4, progress=seen.append)

    assert asyncio.run(main()) == 4
    assert seen == [0.25, 0.5, 0.75, 1.0]


def test_a_worker_that_dies_is_replaced_and_its_job_runs_again(tmp_path):
    async def main():
        with WorkerPool(Spec(), 1) as pool:
            first = await pool.call(where, 1)
            again = await pool.call(dies_once, str(tmp_path / "died"))
            with pytest.raises(WorkerDied):
                await pool.call(always_dies)
            return first[2], again, await pool.call(where, 2)

    first_pid, rerun_pid, after = asyncio.run(main())
    assert (tmp_path / "died").exists()
    assert rerun_pid != first_pid and not _alive(first_pid)
    assert after[0] == 4  # the pool still works


def test_a_cancelled_job_stops_its_worker_and_close_leaves_no_process(tmp_path):
    marker = tmp_path / "pid"

    async def main():
        pool = WorkerPool(Spec(), 2).start()
        pids = [w.process.pid for w in pool._workers]
        task = asyncio.ensure_future(pool.call(sleeps, 60, str(marker)))
        while not marker.exists() or not marker.read_text():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        busy = int(marker.read_text())
        assert not _alive(busy)  # killed at once, not left to finish its minute
        pool.close()
        return pids

    pids = asyncio.run(main())
    assert not any(_alive(pid) for pid in pids)


def test_a_worker_grown_past_its_cap_is_replaced_after_its_job():
    async def main():
        with WorkerPool(Spec(), 1, max_growth=-1) as pool:  # every worker has grown too much
            return [(await pool.call(where, x))[2] for x in range(3)]

    pids = asyncio.run(main())
    assert len(set(pids)) == 3  # each job in a fresh worker, the results all there
    assert not any(_alive(pid) for pid in pids)


class BrokenSpec:
    """A spec whose context cannot be opened (its databases are gone, say)."""

    @contextlib.asynccontextmanager
    async def open(self):
        raise ConfigError("cannot open the databases under /gone")
        yield  # pragma: no cover


def test_a_context_the_workers_cannot_open_is_the_jobs_error():
    async def main():
        with WorkerPool(BrokenSpec(), 1) as pool, pytest.raises(ConfigError, match="/gone"):
            await pool.call(where, 1)

    asyncio.run(main())


def thresholds(worker) -> tuple[int, ...]:
    import gc

    return gc.get_threshold()


def test_workers_forked_during_a_run_collect_as_outside_it():
    import gc

    from sqlfoundry.core.collector import YOUNG, fewer_collections

    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        with fewer_collections(), WorkerPool(Spec(), 1) as pool:
            assert gc.get_threshold()[0] == YOUNG  # the run's process
            assert asyncio.run(pool.call(thresholds)) == (700, 10, 10)  # its worker
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def doubled(worker, payload: bytes) -> bytes:
    return payload * 2


def test_messages_larger_than_a_pipe_both_ways_on_a_loop_that_makes_files_non_blocking():
    uvloop = pytest.importorskip("uvloop", reason="uvloop is in the llm and serve extras")
    payload = b"x" * (3 * 2**20)  # the pipe holds 64 KiB

    async def main() -> list[int]:
        with WorkerPool(Spec(), 1) as pool:
            return [len(await pool.call(doubled, payload)) for _ in range(3)]

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(main()) == [6 * 2**20] * 3
