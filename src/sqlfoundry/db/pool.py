"""Batch execution of many ``(sql, db_id)`` jobs across worker processes.

Each worker keeps its databases open between jobs. A query's own timeout (the
SQLite progress handler, the server's statement timeout) stops it in place;
if a worker still does not answer ``kill_grace`` seconds after that, the
parent kills the worker, records a timeout, and starts a fresh one, so one
stuck query never holds up the batch.

The pool is started only when it pays: SQLite jobs first run in this process
(their timeout is SQLite's own progress handler, which needs no worker to be
killed), and only what is left after ``in_process_seconds`` goes to the
workers. Most batches (a benchmark's thousand queries) finish before that and
never pay for forking workers and sending every job and result through a pipe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from sqlfoundry.core.errors import DatabaseError, SqlfoundryError
from sqlfoundry.db.base import (
    DEFAULT_MAX_ROWS,
    DEFAULT_TIMEOUT,
    Database,
    DatabaseSpec,
    ExecResult,
    failed,
)
from sqlfoundry.db.manager import DatabaseManager, open_database

if TYPE_CHECKING:  # multiprocessing loads only when a pool starts: most batches need none
    import multiprocessing.context
    from multiprocessing.connection import Connection

_OPEN_DATABASES = 16
# The parent ends of every live worker's pipe: a forked worker closes its copies,
# so a dead parent's pipes reach EOF in every worker.
_PARENT_ENDS: weakref.WeakSet[Connection] = weakref.WeakSet()

# CPU seconds of SQLite jobs run in this process before the rest of a batch goes to the pool.
IN_PROCESS_SECONDS = 0.25


class ExecJob(NamedTuple):
    sql: str
    db_id: str


# One unit of work sent to a worker: (index, sql, spec, timeout, max_rows).
_Item = tuple[int, str, DatabaseSpec, float, "int | None"]


class _OpenDatabases:
    """A small LRU of open databases, so a worker reuses connections across jobs."""

    def __init__(self, capacity: int = _OPEN_DATABASES) -> None:
        self.capacity = capacity
        self._open: OrderedDict[DatabaseSpec, Database] = OrderedDict()
        self._last: DatabaseSpec | None = None

    def get(self, spec: DatabaseSpec) -> Database:
        if spec is self._last:  # the same database as the job before: already the newest
            return self._open[spec]
        db = self._open.get(spec)
        if db is not None:
            self._open.move_to_end(spec)
            self._last = spec
            return db
        db = open_database(spec)
        self._open[spec] = db
        while len(self._open) > self.capacity:
            _, old = self._open.popitem(last=False)
            old.close()
        self._last = spec if spec in self._open else None
        return db

    def drop(self, spec: DatabaseSpec) -> None:
        self._last = None
        db = self._open.pop(spec, None)
        if db is not None:
            # The link may already be gone; closing is best effort.
            with contextlib.suppress(Exception):
                db.close()

    def close(self) -> None:
        for db in self._open.values():
            with contextlib.suppress(Exception):
                db.close()
        self._open.clear()
        self._last = None


def run_item(cache: _OpenDatabases, item: _Item) -> ExecResult:
    """Run one job on its database (opened once per worker and kept); never raises."""
    index, sql, spec, timeout, max_rows = item
    start = time.perf_counter()
    try:
        db = cache.get(spec)
    except SqlfoundryError as err:
        result = failed(err, (time.perf_counter() - start) * 1000, spec.db_id)
    else:
        result = db.execute(sql, timeout=timeout, max_rows=max_rows)
        if result.error_type == "DatabaseConnectionError":
            # The link broke mid-query; reconnect on the next job.
            cache.drop(spec)
    result.index = index
    return result


def _worker_main(conn: Connection, parent_pid: int, use_prctl: bool) -> None:
    # Ctrl-C is the parent's to handle; it then stops the workers itself.
    from sqlfoundry.core.orphans import die_with_parent, next_message

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid, use_prctl=use_prctl)
    for inherited in list(_PARENT_ENDS):
        inherited.close()
    cache = _OpenDatabases()
    try:
        while True:
            chunk = next_message(conn, parent_pid)
            if chunk is None:
                break
            for item in chunk:
                conn.send(run_item(cache, item))
    finally:
        cache.close()


class _Worker:
    def __init__(self, ctx: multiprocessing.context.BaseContext) -> None:
        from sqlfoundry.core.orphans import forked_from_main_thread

        parent, child = ctx.Pipe(duplex=True)
        _PARENT_ENDS.add(parent)
        args = (child, os.getpid(), forked_from_main_thread())
        self.process = ctx.Process(target=_worker_main, args=args, daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        self.inflight: deque[_Item] = deque()
        self.busy_since = 0.0

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                kill = True
            self.process.join(timeout=1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        _PARENT_ENDS.discard(self.conn)
        self.conn.close()


def _context() -> multiprocessing.context.BaseContext:
    import multiprocessing

    # fork starts a worker in milliseconds with sqlglot already imported.
    fork = "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if fork else "spawn")


class SafeExecutor:
    """Run many read-only queries in parallel, safely.

    Args:
        manager: resolves each job's db_id.
        workers: worker processes; 0 runs everything in this process.
        timeout: seconds per query.
        max_rows: row cap per query (``None`` for no cap).
        kill_grace: extra seconds before a worker that ignores its timeout is killed.
        in_process_seconds: SQLite jobs run in this process for that long before the
            rest of a batch goes to the workers (0: straight to the workers).
    """

    def __init__(
        self,
        manager: DatabaseManager,
        *,
        workers: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_rows: int | None = DEFAULT_MAX_ROWS,
        kill_grace: float = 1.0,
        in_process_seconds: float = IN_PROCESS_SECONDS,
    ) -> None:
        self.manager = manager
        self.in_process_seconds = in_process_seconds
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self.timeout = timeout
        self.max_rows = max_rows
        self.kill_grace = kill_grace
        self._ctx: multiprocessing.context.BaseContext | None = None
        self._pool: list[_Worker] = []
        self._local = _OpenDatabases()
        self.killed = 0

    def __enter__(self) -> SafeExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes and close the databases open in this process."""
        for w in self._pool:
            w.stop()
        self._pool = []
        self._local.close()

    def execute(self, sql: str, db_id: str) -> ExecResult:
        """Run one query in this process."""
        return self.run([ExecJob(sql, db_id)], parallel=False)[0]

    def run(
        self,
        jobs: Iterable[ExecJob | tuple[str, str]],
        *,
        progress: Callable[[int], None] | None = None,
        parallel: bool = True,
    ) -> list[ExecResult]:
        """Run every job; results come back in job order, one per job, never raising.

        Args:
            jobs: ``ExecJob`` or ``(sql, db_id)`` pairs.
            progress: called with the number of jobs just finished.
            parallel: False runs in this process even when workers are set.
        """
        results: list[ExecResult | None] = []
        items: deque[_Item] = deque()
        specs: dict[str, DatabaseSpec | SqlfoundryError] = {}
        for index, job in enumerate(jobs):
            sql, db_id = (job.sql, job.db_id) if isinstance(job, ExecJob) else job
            results.append(None)
            if db_id not in specs:
                try:
                    specs[db_id] = self.manager.spec(db_id)
                except DatabaseError as err:
                    specs[db_id] = err
            spec = specs[db_id]
            if isinstance(spec, SqlfoundryError):
                results[index] = _indexed(failed(spec, 0.0, db_id), index)
                if progress:
                    progress(1)
            else:
                items.append((index, sql, spec, self.timeout, self.max_rows))
        if not parallel or self.workers == 0 or len(items) <= 1:
            for item in items:
                results[item[0]] = run_item(self._local, item)
                if progress:
                    progress(1)
        else:
            self._run_here_first(items, results, progress)
            if items:
                self._run_pool(items, results, progress)
        return results  # type: ignore[return-value]

    def _run_here_first(
        self,
        items: deque[_Item],
        results: list[ExecResult | None],
        progress: Callable[[int], None] | None,
    ) -> None:
        """Run SQLite jobs in this process for ``in_process_seconds`` of its CPU time; leave
        the rest (and every server job, whose only sure stop is a worker's kill) in ``items``.

        CPU time, not wall time: on a machine other jobs keep busy, the wall clock runs
        on while this process waits for a core, and a batch would go to the pool for
        no work done, paying for it twice (forking, pickling every job and result).
        """
        deadline = time.process_time() + self.in_process_seconds
        later: deque[_Item] = deque()
        while items and time.process_time() < deadline:
            item = items.popleft()
            if item[2].kind != "sqlite":
                later.append(item)
                continue
            results[item[0]] = run_item(self._local, item)
            if progress:
                progress(1)
        items.extendleft(reversed(later))

    def _ensure_pool(self, size: int) -> None:
        # A worker can die while idle between batches (OOM killer, an operator);
        # sending it work would raise BrokenPipeError, so start a fresh one.
        for w in list(self._pool):
            if not w.process.is_alive():
                self._respawn(w)
        while len(self._pool) < size:
            self._pool.append(_Worker(self._context()))

    def _respawn(self, w: _Worker) -> int | None:
        """Stop ``w`` for good and put a fresh worker in its place; returns its exit code."""
        w.stop(kill=True)
        self._pool[self._pool.index(w)] = _Worker(self._context())
        return w.process.exitcode

    def _context(self) -> multiprocessing.context.BaseContext:
        if self._ctx is None:
            self._ctx = _context()
        return self._ctx

    def _run_pool(
        self,
        items: deque[_Item],
        results: list[ExecResult | None],
        progress: Callable[[int], None] | None,
    ) -> None:
        from multiprocessing.connection import wait

        self._ensure_pool(min(self.workers, len(items)))
        pool = self._pool
        outstanding = len(items)
        limit = self.timeout + self.kill_grace
        while outstanding:
            # Small chunks near the end keep both workers busy to the last job.
            chunk_size = max(1, min(64, len(items) // (len(pool) * 4)))
            for w in pool:
                if not w.inflight and items:
                    chunk = [items.popleft() for _ in range(min(chunk_size, len(items)))]
                    w.inflight.extend(chunk)
                    w.busy_since = time.monotonic()
                    try:
                        w.conn.send(chunk)
                    except OSError:
                        # It died after its last chunk; nothing of this one ran.
                        items.extendleft(reversed(chunk))
                        w.inflight.clear()
                        self._respawn(w)
            busy = [w for w in pool if w.inflight]
            if not busy:
                continue
            now = time.monotonic()
            next_deadline = min(w.busy_since + limit for w in busy)
            ready = wait([w.conn for w in busy], timeout=max(0.0, next_deadline - now))
            for w in busy:
                if w.conn in ready:
                    outstanding -= self._drain(w, items, results, progress)
            now = time.monotonic()
            for w in list(pool):
                if w.inflight and now - w.busy_since > limit:
                    # A result may have landed since the wait; take it before judging.
                    outstanding -= self._drain(w, items, results, progress)
                    if w.inflight and time.monotonic() - w.busy_since > limit:
                        outstanding -= self._replace(w, items, results, progress, "timeout")

    def _drain(
        self,
        w: _Worker,
        items: deque[_Item],
        results: list[ExecResult | None],
        progress: Callable[[int], None] | None,
    ) -> int:
        """Take every result ``w`` has sent so far; returns how many jobs finished."""
        done = 0
        try:
            while w.inflight and w.conn.poll():
                result: ExecResult = w.conn.recv()
                w.inflight.popleft()
                results[result.index] = result
                done += 1
                w.busy_since = time.monotonic()
                if progress:
                    progress(1)
        except (EOFError, OSError):
            done += self._replace(w, items, results, progress, "crashed")
        return done

    def _replace(
        self,
        w: _Worker,
        items: deque[_Item],
        results: list[ExecResult | None],
        progress: Callable[[int], None] | None,
        why: str,
    ) -> int:
        """Kill ``w``, charge its current job, requeue the rest, start a new worker."""
        index, sql, spec, timeout, _ = w.inflight.popleft()
        items.extendleft(reversed(w.inflight))
        w.inflight.clear()
        code = self._respawn(w)
        self.killed += 1
        if why == "timeout":
            result = ExecResult(
                status="timeout",
                error=f"worker killed: no answer {self.kill_grace:g} s after the "
                f"{timeout:g} s timeout",
                error_type="QueryTimeoutError",
                elapsed_ms=(timeout + self.kill_grace) * 1000,
            )
        else:
            result = ExecResult(
                status="error",
                error=f"worker process died (exit code {code}) while running this query",
                error_type="WorkerCrashed",
            )
        result.db_id = spec.db_id
        results[index] = _indexed(result, index)
        if progress:
            progress(1)
        return 1


def _indexed(result: ExecResult, index: int) -> ExecResult:
    result.index = index
    return result


def execute_many(
    jobs: Sequence[ExecJob | tuple[str, str]],
    manager: DatabaseManager,
    *,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    progress: Callable[[int], None] | None = None,
) -> list[ExecResult]:
    """Run ``jobs`` on a fresh pool and close it; see :class:`SafeExecutor`."""
    with SafeExecutor(manager, workers=workers, timeout=timeout, max_rows=max_rows) as ex:
        return ex.run(jobs, progress=progress)
