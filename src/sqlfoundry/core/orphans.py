"""Child processes that end with their parent, however the parent ends.

A forked worker blocked on its pipe sees EOF only when every copy of the pipe's
other end is closed, and after a fork the worker itself holds copies (its own
pipe's parent end, and those of the workers forked before it). Closing them is
not enough when the parent is killed mid-query, so the worker also asks Linux to
kill it when its parent dies (``PR_SET_PDEATHSIG``) and, elsewhere, polls
``getppid``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from typing import Any

_PR_SET_PDEATHSIG = 1


def forked_from_main_thread() -> bool:
    """Whether a fork made now can safely tie its child to this process's life:
    Linux's parent-death signal fires when the forking *thread* ends."""
    return threading.current_thread() is threading.main_thread()


def die_with_parent(parent_pid: int, *, use_prctl: bool = True) -> None:
    """In a freshly forked child: be killed when ``parent_pid`` dies.

    Also restores the default SIGTERM action (the parent may have mapped SIGTERM to
    Ctrl-C, which a worker must not inherit). Exits at once if the parent is already
    gone.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if use_prctl and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError, TypeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if not parent_alive(parent_pid):
        os._exit(1)


def parent_alive(parent_pid: int) -> bool:
    """False once the process that started this one has died (we were re-parented)."""
    return os.getppid() == parent_pid


# How often an idle worker looks whether its parent is still there.
PARENT_CHECK_SECONDS = 1.0


def next_message(conn: Any, parent_pid: int) -> Any:
    """A worker's next message from its parent, or None once the parent sent None, closed
    the pipe or died (checked every ``PARENT_CHECK_SECONDS`` while idle)."""
    try:
        while not conn.poll(PARENT_CHECK_SECONDS):
            if not parent_alive(parent_pid):
                return None
        return conn.recv()
    except (EOFError, OSError):
        return None
