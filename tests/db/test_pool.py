"""The batch executor: worker processes, job order, per-job failures, timeouts, kills, crashes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from sqlfoundry.db.manager import DatabaseManager, ServerSettings
from sqlfoundry.db.pool import ExecJob, SafeExecutor, execute_many

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"


@pytest.fixture
def manager(tiny_sqlite, tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database " * 100)
    return DatabaseManager(paths={"tiny": tiny_sqlite.path, "junk": junk})


def good_jobs(n: int) -> list[tuple[str, str]]:
    """Queries whose answer depends on their position, so any mix-up shows."""
    return [
        (f"SELECT {i} AS i, count(*) FROM employee WHERE emp_id <= {i % 8}", "tiny")
        for i in range(n)
    ]


def check_good(result, i: int, index: int | None = None) -> None:
    """``result`` is good job ``i`` of :func:`good_jobs`, at batch position ``index``."""
    assert result.index == (i if index is None else index)
    assert result.status == "ok", result
    assert result.columns == ["i", "count(*)"]
    assert result.rows == [(i, min(i % 8, 7))]


# ----------------------------------------------------------------- Spider dev


def read_gold(spider_root: Path) -> list[tuple[str, str]]:
    lines = (spider_root / "dev_without_wta_1_gold.sql").read_text(encoding="utf-8").splitlines()
    return [tuple(line.rsplit("\t", 1)) for line in lines if line.strip()]


@pytest.mark.slow
def test_spider_dev_gold_matches_raw_sqlite(spider_root):
    jobs = read_gold(spider_root)
    assert len(jobs) == 972
    assert len({db for _, db in jobs}) == 19
    manager = DatabaseManager(spider_root / "database")
    with SafeExecutor(manager, workers=2, in_process_seconds=0, timeout=30, max_rows=None) as ex:
        results = ex.run(jobs)
    assert [r.index for r in results] == list(range(972))
    assert [r.status for r in results] == ["ok"] * 972, [r.error for r in results if not r.ok][:5]
    assert [r.db_id for r in results] == [db for _, db in jobs]

    conns: dict[str, sqlite3.Connection] = {}
    try:
        for (sql, db_id), result in zip(jobs, results, strict=True):
            if db_id not in conns:
                path = spider_root / "database" / db_id / f"{db_id}.sqlite"
                conns[db_id] = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            cur = conns[db_id].execute(sql)
            assert result.columns == [d[0] for d in cur.description], sql
            assert result.rows == [tuple(r) for r in cur.fetchall()], sql
            assert result.truncated is False
    finally:
        for conn in conns.values():
            conn.close()


@pytest.mark.slow
def test_spider_dev_gold_in_process_equals_pool(spider_root):
    jobs = read_gold(spider_root)[:200]
    manager = DatabaseManager(spider_root / "database")
    with SafeExecutor(manager, workers=2, in_process_seconds=0) as ex:
        pooled = ex.run(jobs)
        local = ex.run(jobs, parallel=False)
    assert [(r.index, r.status, r.columns, r.rows) for r in pooled] == [
        (r.index, r.status, r.columns, r.rows) for r in local
    ]


# ----------------------------------------------------------------- per-job outcomes


def test_mixed_bad_jobs_each_get_their_own_status(manager):
    jobs = [
        ("SELECT name FROM department ORDER BY dept_id", "tiny"),
        ("SELECT 1", "no_such_db"),
        ("SELECT count(*) FROM employee", "tiny"),
        ("DELETE FROM employee", "tiny"),
        ("SELECT max(emp_id) FROM employee", "tiny"),
        ("SELEC 1", "tiny"),
        ("SELECT min(emp_id) FROM employee", "tiny"),
        (FOREVER, "tiny"),
        ("SELECT count(*) FROM department", "tiny"),
        ("SELECT 1", "junk"),
        ExecJob("SELECT 'last'", "tiny"),
    ]
    with SafeExecutor(manager, workers=2, timeout=0.5) as ex:
        results = ex.run(jobs)
        assert ex.killed == 0
    got = [(r.index, r.db_id, r.status, r.error_type, r.error, r.rows) for r in results]
    assert got[0] == (0, "tiny", "ok", None, None, [("Engineering",), ("Sales",), ("Support",)])
    assert got[1] == (
        1,
        "no_such_db",
        "error",
        "DatabaseNotFoundError",
        "unknown db_id 'no_such_db': no database (no database root or server configured)",
        [],
    )
    assert got[2] == (2, "tiny", "ok", None, None, [(7,)])
    assert got[3] == (
        3,
        "tiny",
        "rejected",
        "WriteRejectedError",
        "not a query: DELETE statements are refused",
        [],
    )
    assert got[4] == (4, "tiny", "ok", None, None, [(7,)])
    assert got[5] == (
        5,
        "tiny",
        "error",
        "SQLSyntaxError",
        "not SQL a database can run: starts with 'SELEC'",
        [],
    )
    assert got[6] == (6, "tiny", "ok", None, None, [(1,)])
    assert got[7] == (
        7,
        "tiny",
        "timeout",
        "QueryTimeoutError",
        "stopped after the 0.5 s timeout",
        [],
    )
    assert got[8] == (8, "tiny", "ok", None, None, [(3,)])
    junk = manager.spec("junk").path
    assert got[9] == (
        9,
        "junk",
        "error",
        "DatabaseConnectionError",
        f"{junk} is not a readable SQLite database: file is not a database",
        [],
    )
    assert got[10] == (10, "tiny", "ok", None, None, [("last",)])


def test_in_process_run_gives_the_same_outcomes(manager):
    jobs = [
        ("SELECT count(*) FROM employee", "tiny"),
        ("DROP TABLE employee", "tiny"),
        ("SELECT 1", "nope"),
    ]
    with SafeExecutor(manager, workers=0) as ex:
        results = ex.run(jobs)
        single = ex.execute("SELECT count(*) FROM department", "tiny")
    assert [(r.index, r.status) for r in results] == [(0, "ok"), (1, "rejected"), (2, "error")]
    assert (single.index, single.rows) == (0, [(3,)])


def test_progress_is_called_once_per_job_and_rows_are_capped(manager):
    seen = []
    jobs = good_jobs(30) + [
        ("SELECT 1", "nope"),
        ("SELECT emp_id FROM employee ORDER BY 1", "tiny"),
    ]
    with SafeExecutor(manager, workers=2, in_process_seconds=0, max_rows=3) as ex:
        results = ex.run(jobs, progress=seen.append)
    assert seen == [1] * len(jobs)
    for i in range(30):
        check_good(results[i], i)
    assert results[30].status == "error"
    assert (results[31].rows, results[31].truncated) == ([(1,), (2,), (3,)], True)


def test_execute_many_closes_its_workers(manager):
    results = execute_many(good_jobs(20), manager, workers=2, timeout=5)
    for i, r in enumerate(results):
        check_good(r, i)
    assert multiprocessing.active_children() == []


# ----------------------------------------------------------------- timeouts, kills, crashes


def test_an_endless_query_does_not_hold_up_the_batch(manager):
    timeout = 1.0
    jobs = [(FOREVER, "tiny")] + good_jobs(40)
    with SafeExecutor(manager, workers=2, timeout=timeout) as ex:
        start = time.perf_counter()
        results = ex.run(jobs)
        wall = time.perf_counter() - start
        assert ex.killed == 0  # the progress handler stopped it; no kill was needed
    assert results[0].status == "timeout"
    assert timeout * 1000 <= results[0].elapsed_ms < (timeout + 0.5) * 1000
    for i, r in enumerate(results[1:]):
        check_good(r, i, index=i + 1)
    assert wall < timeout + 2.0


def test_a_quick_sqlite_batch_never_starts_the_pool(manager):
    with SafeExecutor(manager, workers=2) as ex:
        results = ex.run(good_jobs(50))
        assert ex._pool == []
    for i, r in enumerate(results):
        check_good(r, i)


def test_what_is_left_after_the_in_process_time_goes_to_the_pool(manager):
    # The endless query runs here until its timeout, past the 0.05 s given to this
    # process; the 40 jobs after it go to the workers.
    jobs = [(FOREVER, "tiny")] + good_jobs(40)
    with SafeExecutor(manager, workers=2, timeout=0.3, in_process_seconds=0.05) as ex:
        results = ex.run(jobs)
        assert len(ex._pool) == 2 and ex.killed == 0
    assert results[0].status == "timeout"
    for i, r in enumerate(results[1:]):
        check_good(r, i, index=i + 1)


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never answers: a driver connecting to
    it blocks inside the worker, where no query timeout can reach it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    yield srv.getsockname()[1]
    srv.close()


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_a_stuck_worker_is_killed_and_replaced(tiny_sqlite, silent_server, kind):
    pytest.importorskip("psycopg" if kind == "postgres" else "pymysql")
    server = ServerSettings(
        kind=kind, port=silent_server, user="u", databases=["stuck"], connect_timeout=60
    )
    manager = DatabaseManager(paths={"tiny": tiny_sqlite.path}, server=server)
    # 40 jobs over 2 workers go out in chunks of several jobs: the stuck job shares
    # a chunk with good ones, which must be handed to the replacement worker.
    jobs = good_jobs(17) + [("SELECT 1", "stuck")] + good_jobs(22)
    with SafeExecutor(manager, workers=2, in_process_seconds=0, timeout=0.5, kill_grace=0.3) as ex:
        ex.run(good_jobs(4))  # start the pool
        old_pids = [w.process.pid for w in ex._pool]
        start = time.perf_counter()
        results = ex.run(jobs)
        wall = time.perf_counter() - start
        assert ex.killed == 1
        new_pids = [w.process.pid for w in ex._pool]
        assert all(w.process.is_alive() for w in ex._pool)
        # Exactly one worker was replaced.
        assert len(set(old_pids) & set(new_pids)) == 1
        assert len(set(new_pids)) == 2
        # The pool is usable afterwards.
        again = ex.run(good_jobs(6))
    stuck = results[17]
    assert (stuck.index, stuck.db_id, stuck.status, stuck.error_type) == (
        17,
        "stuck",
        "timeout",
        "QueryTimeoutError",
    )
    assert stuck.error == "worker killed: no answer 0.3 s after the 0.5 s timeout"
    for i in range(17):
        check_good(results[i], i)
    for i in range(22):
        check_good(results[18 + i], i, index=18 + i)
    for i, r in enumerate(again):
        check_good(r, i)
    # Killed at timeout + grace, not after the 60 s connect timeout.
    assert wall < 0.8 + 2.0


def test_a_worker_that_dies_mid_query_is_reported_and_the_rest_finish(manager):
    jobs = good_jobs(10) + [(FOREVER, "tiny")] + good_jobs(10)
    killed: list[int] = []

    def assassin(ex: SafeExecutor) -> None:
        # Wait until the endless query is the job a worker is running, then kill it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for w in list(ex._pool):
                inflight = list(w.inflight)
                if inflight and inflight[0][0] == 10:
                    time.sleep(0.2)
                    os.kill(w.process.pid, signal.SIGKILL)
                    killed.append(w.process.pid)
                    return
            time.sleep(0.005)

    with SafeExecutor(manager, workers=2, in_process_seconds=0, timeout=20, kill_grace=5) as ex:
        thread = threading.Thread(target=assassin, args=(ex,))
        start = time.perf_counter()
        thread.start()
        results = ex.run(jobs)
        wall = time.perf_counter() - start
        thread.join()
        assert ex.killed == 1
    assert len(killed) == 1
    crashed = results[10]
    assert (crashed.index, crashed.db_id, crashed.status, crashed.error_type) == (
        10,
        "tiny",
        "error",
        "WorkerCrashed",
    )
    assert crashed.error == "worker process died (exit code -9) while running this query"
    for i in range(10):
        check_good(results[i], i)
        check_good(results[11 + i], i, index=11 + i)
    assert wall < 5  # nowhere near the 20 s timeout


def test_a_worker_that_died_between_batches_is_replaced(manager):
    with SafeExecutor(manager, workers=2, in_process_seconds=0, timeout=5) as ex:
        first = ex.run(good_jobs(8))
        for i, r in enumerate(first):
            check_good(r, i)
        # Something (the OOM killer, an operator) kills an idle worker.
        victim = ex._pool[0].process
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(5)
        second = ex.run(good_jobs(8))
    for i, r in enumerate(second):
        check_good(r, i)
