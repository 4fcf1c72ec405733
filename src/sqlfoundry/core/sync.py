"""Running a coroutine from synchronous code, even where an event loop already runs.

``asyncio.run`` refuses to start inside a running loop, which is exactly where a
notebook user calls the Python API. There the coroutine runs on a worker thread
with a loop of its own, and the caller waits for it.

The loop is uvloop's where it is installed (the ``llm`` and ``serve`` extras, not on
Windows): an LLM synthesis run spends about a fifth of its CPU in the event loop and
its sockets, which uvloop does in C (6% more kept samples a second, 9% less CPU).
``SQLFOUNDRY_EVENT_LOOP=asyncio`` keeps asyncio's own.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` to completion and return its result (or raise its error).

    ``make`` is called on the thread that runs the coroutine, so nothing is
    bound to a loop before that loop exists.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(make)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = _run(make)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = error

    thread = threading.Thread(target=work, name="sqlfoundry-run", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(make())


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's ``new_event_loop`` when uvloop is installed and not turned off with
    ``SQLFOUNDRY_EVENT_LOOP=asyncio``; None (asyncio's own loop) otherwise."""
    if os.environ.get("SQLFOUNDRY_EVENT_LOOP", "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
