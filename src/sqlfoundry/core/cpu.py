"""CPU-bound work on the other cores: a function run in a forked process meanwhile.

Parsing, realising and classifying need no database and no network, so they can
run beside the work this process does. Where processes cannot be forked (only
``spawn`` exists, which would import everything again), or the child fails, the
function runs in this process when its result is asked for: the result is the
same, only later.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from sqlfoundry.core.orphans import die_with_parent, forked_from_main_thread

T = TypeVar("T")


def can_fork() -> bool:
    """Whether a child process can start from this one's memory (no imports to pay)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _child(conn: Connection, parent: tuple[int, bool], fn: Callable[..., Any], args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    die_with_parent(parent[0], use_prctl=parent[1])
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as err:  # reported, then the parent runs it again to raise it
        with contextlib.suppress(Exception):
            conn.send(("error", repr(err)))
    finally:
        conn.close()


def in_background(fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    """Start ``fn(*args)`` in a forked process.

    Returns:
        A function that waits for the result and returns it (run here instead when
        no child could be had, or it failed).
    """
    if not can_fork():
        return lambda: fn(*args)
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_child, args=(child, (os.getpid(), forked_from_main_thread()), fn, args), daemon=True
    )
    try:
        process.start()
    except OSError:
        parent.close()
        child.close()
        return lambda: fn(*args)
    child.close()

    def result() -> T:
        try:
            status, value = parent.recv()
        except (EOFError, OSError):
            status, value = "error", None
        finally:
            parent.close()
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        return value if status == "ok" else fn(*args)

    return result
