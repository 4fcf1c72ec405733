"""Running a coroutine from synchronous code, even where an event loop already runs.

``asyncio.run`` refuses to start inside a running loop, which is exactly where a
notebook user calls the Python API. There the coroutine runs on a worker thread
with a loop of its own, and the caller waits for it.
"""

from __future__ import annotations

import asyncio
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
        return asyncio.run(make())
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = error

    thread = threading.Thread(target=work, name="sqlfoundry-run", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
