"""Forked worker processes that take a run's CPU-bound jobs, one job at a time each.

The pool is started once per run and lives until it is closed: each worker opens
its own ``RunContext`` from the run's spec (SQL in the worker's own process, no
LLM) and keeps it, with every operator it has built, for its lifetime. A job is a
module-level function and its arguments; the worker calls it with its
:class:`WorkerState` and sends back the result, or the exception, which the caller
gets as if the function had run here. Progress an operator reports from inside a
job (:func:`sqlfoundry.core.progress.report`) comes back as it happens.

Workers start by ``fork``, so they begin with this process's imports and cost
milliseconds. A worker ignores Ctrl-C (the parent stops it), dies with its parent
(:mod:`sqlfoundry.core.orphans`) and, when it dies itself (killed, out of memory),
is replaced and its job tried once more in the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.orphans import die_with_parent, forked_from_main_thread, next_message
from sqlfoundry.core.progress import batch_progress

log = logging.getLogger(__name__)

# A worker that has grown by more than this since it was forked (its resident size after
# a job, with freed memory handed back) is replaced by a fresh one.
MAX_WORKER_GROWTH = 64 * 2**20
_LIBC: Any = None
# The parent ends of every live worker's pipe: a worker forked later closes its copies,
# so a dead parent's pipes reach EOF in every worker.
_PARENT_ENDS: weakref.WeakSet[Connection] = weakref.WeakSet()


def can_fork() -> bool:
    """Whether workers can start from this process's memory (Linux, macOS with fork)."""
    return "fork" in multiprocessing.get_all_start_methods()


@dataclass
class WorkerState:
    """What a job function gets in the worker: its event loop, its run context and the
    operators it has built so far (see :meth:`operator`)."""

    loop: asyncio.AbstractEventLoop
    ctx: Any
    operators: dict[str, Any] = field(default_factory=dict)

    def operator(self, key: str, op_class: type, params: dict[str, Any]) -> Any:
        """The operator built from ``op_class(**params)`` the first time ``key`` is asked for."""
        op = self.operators.get(key)
        if op is None:
            op = self.operators[key] = op_class(**params)
        return op

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the worker's loop."""
        return self.loop.run_until_complete(coro)


def _portable(err: BaseException) -> BaseException:
    """``err`` if it survives pickling, else a SqlfoundryError with its text."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:  # noqa: BLE001 - any pickling failure
        return SqlfoundryError(f"{type(err).__name__}: {err}")


def release_memory() -> int:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim``); returns
    this process's resident size in bytes afterwards (0 where it cannot be read)."""
    global _LIBC
    if _LIBC is None and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    with contextlib.suppress(AttributeError, OSError):
        if _LIBC:
            _LIBC.malloc_trim(0)
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _worker_main(conn: Connection, parent_pid: int, use_prctl: bool, spec: Any,
                 max_growth: int) -> None:  # fmt: skip
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    die_with_parent(parent_pid, use_prctl=use_prctl)
    for inherited in list(_PARENT_ENDS):
        inherited.close()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    opened = spec.open()
    try:
        state = WorkerState(loop, loop.run_until_complete(opened.__aenter__()))
        broken: BaseException | None = None
    except Exception as err:  # noqa: BLE001 - every job is answered with it
        state, broken = WorkerState(loop, None), _portable(err)
    send_lock = threading.Lock()
    # A fork starts resident with every page of its parent: growth is measured from here.
    start_size = release_memory()

    def send(message: tuple[str, Any]) -> None:
        with send_lock:
            conn.send(message)

    try:
        while True:
            job = next_message(conn, parent_pid)
            if job is None:
                return
            fn, args = job
            if broken is not None:  # no context to run it in (a database folder gone...)
                send(("error", broken))
                continue
            try:
                with batch_progress(lambda fraction: send(("progress", fraction))):
                    result = fn(state, *args)
            except BaseException as err:  # noqa: BLE001 - sent back, raised in the parent
                send(("error", _portable(err)))
                continue
            # A batch's records and parse trees are freed now: hand the pages back. A worker
            # still grown past ``max_growth`` (caches, a heap left in pieces) ends after this
            # job, and a fresh one forked from the parent takes its place.
            retire = release_memory() - start_size > max_growth
            send(("retire" if retire else "ok", result))
            if retire:
                return
    finally:
        if broken is None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(opened.__aexit__(None, None, None))
        loop.close()


class _Worker:
    def __init__(self, mp: multiprocessing.context.BaseContext, spec: Any, max_growth: int) -> None:
        parent, child = mp.Pipe(duplex=True)
        _PARENT_ENDS.add(parent)
        args = (child, os.getpid(), forked_from_main_thread(), spec, max_growth)
        self.process = mp.Process(target=_worker_main, args=args, daemon=True)
        self.process.start()
        child.close()
        self.conn = parent

    def stop(self, kill: bool = False) -> None:
        if not kill:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(timeout=2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        _PARENT_ENDS.discard(self.conn)
        self.conn.close()


class WorkerDied(SqlfoundryError):
    """A worker process died twice running the same job (killed, out of memory)."""


class WorkerPool:
    """``processes`` forked workers for one run's jobs; see the module doc.

    Args:
        spec: how a worker opens its ``RunContext`` (``RunContext.spec``: an object with
            an async context manager ``open()``); it is inherited by the fork, not pickled.
        processes: how many workers.
        max_growth: a worker grown by more than this many bytes since its fork (after a
            job, with its freed memory handed back) is replaced by a fresh one.
    """

    def __init__(self, spec: Any, processes: int, max_growth: int = MAX_WORKER_GROWTH) -> None:
        if processes < 1:
            raise ValueError("a pool needs at least one process")
        self.spec = spec
        self.processes = processes
        self.max_growth = max_growth
        self._mp = multiprocessing.get_context("fork")
        self._workers: list[_Worker] = []
        self._idle: asyncio.Queue[_Worker | None] | None = None
        self._closed = False

    def start(self) -> WorkerPool:
        """Fork the workers (once)."""
        if self._workers or self._closed:
            return self
        # Objects made before the fork are left to reference counting in this process,
        # so the collector's passes do not copy the pages the workers share with it.
        gc.freeze()
        for _ in range(self.processes):
            self._workers.append(_Worker(self._mp, self.spec, self.max_growth))
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)
        return self

    def _queue(self) -> asyncio.Queue[_Worker | None]:
        # None stands for a worker to start when it is next needed (one that died or
        # was stopped mid-job is replaced lazily, never while the run is being stopped).
        if self._idle is None:
            self._idle = asyncio.Queue()
            for worker in self._workers:
                self._idle.put_nowait(worker)
        return self._idle

    def _fresh(self) -> _Worker:
        worker = _Worker(self._mp, self.spec, self.max_growth)
        self._workers.append(worker)
        return worker

    def _discard(self, worker: _Worker, wait: bool = False) -> None:
        worker.stop(kill=not wait)
        if worker in self._workers:
            self._workers.remove(worker)

    async def call(self, fn: Callable[..., Any], *args: Any,
                   progress: Callable[[float], None] | None = None) -> Any:  # fmt: skip
        """``fn(worker_state, *args)`` in the next free worker; its result, or its exception.

        Args:
            fn: a module-level function (sent by reference).
            progress: called with the fraction of the job done as the worker reports it.

        Raises:
            whatever ``fn`` raised; WorkerDied when the job killed two workers.
        """
        if self._closed:
            raise SqlfoundryError("the worker pool is closed")
        self.start()
        idle = self._queue()
        worker = await idle.get() or self._fresh()
        busy = True
        try:
            for attempt in (1, 2):
                try:
                    kind, value = await self._run_on(worker, fn, args, progress)
                except _Died:
                    self._discard(worker)
                    worker = self._fresh()
                    if attempt == 2:
                        busy = False
                        raise WorkerDied(f"a worker process died twice running {fn.__name__} "
                                         "(killed, or out of memory)") from None  # fmt: skip
                    log.warning("a worker process died; its job runs again in a new one")
                    continue
                busy = False
                if kind == "error":
                    raise value
                if kind == "retire":  # it ends itself after this job
                    log.debug("a worker grown past %d MiB was replaced", self.max_growth >> 20)
                    self._discard(worker, wait=True)
                    worker = None
                return value
        finally:
            if busy:  # cancelled (Ctrl-C) mid-job: the worker's state is unknown
                self._discard(worker)
                worker = None
            if not self._closed:
                idle.put_nowait(worker)
        raise AssertionError("unreachable")

    async def _run_on(self, worker: _Worker, fn: Callable[..., Any], args: tuple,
                      progress: Callable[[float], None] | None) -> tuple[str, Any]:  # fmt: skip
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[tuple[str, Any]] = loop.create_future()
        conn = worker.conn

        def readable() -> None:
            try:
                while not answer.done() and conn.poll():
                    kind, value = conn.recv()
                    if kind == "progress":
                        if progress is not None:
                            progress(value)
                    else:
                        answer.set_result((kind, value))
            except (EOFError, OSError):
                if not answer.done():
                    answer.set_result(("died", None))

        try:
            os.set_blocking(conn.fileno(), True)  # see below
            conn.send((fn, args))
        except (BrokenPipeError, OSError):
            raise _Died from None
        loop.add_reader(conn.fileno(), readable)
        # A message is read whole once it starts: some loops (uvloop) make a watched
        # file non-blocking, and a result larger than the pipe's buffer then broke off
        # half-read (EAGAIN), which looked like a dead worker.
        os.set_blocking(conn.fileno(), True)
        try:
            kind, value = await answer
        finally:
            loop.remove_reader(conn.fileno())
        if kind == "died":
            raise _Died
        return kind, value

    def close(self) -> None:
        """Stop every worker (at once: a job still running is abandoned)."""
        self._closed = True
        _stop_all(self._workers)
        self._workers.clear()
        with contextlib.suppress(Exception):
            gc.unfreeze()

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Died(Exception):
    """The worker's pipe closed: the process is gone."""


def _stop_all(workers: list[_Worker]) -> None:
    for worker in list(workers):
        with contextlib.suppress(Exception):
            worker.stop(kill=True)
