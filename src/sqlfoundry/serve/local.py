"""The ``local`` service type: sqlfoundry's own offline method answers, no model needed.

It wraps :class:`sqlfoundry.methods.retrieval.RetrievalMethod` (retrieval over
question/SQL pairs synthesized offline per database, values substituted from
the question). Building a database's pair index is slow the first time and
cached on disk after; it runs on a worker thread so the server keeps serving:

- ``prepare = "startup"`` (the default) starts every listed database's build
  when the server starts; ``/health`` reports them as ``preparing`` until done;
- ``prepare = "lazy"`` builds a database on its first request.

A request for a database still being built waits for it; one whose build
failed gets a 503 saying why. Once built, a database's index is only read, so an
answer depends on the question and the database alone: a question asked again
gets the answer of the last time, with no trip to a worker thread. A method
that says its answers are quick (``answers_inline``, as ``RetrievalMethod``
does: about a millisecond) answers new questions on the event loop too: the
hop to a thread and back cost a fifth of an answer's CPU, and the GIL lets
only one of them run at a time anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.lru import LRU
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.serve.config import LocalConfig
from sqlfoundry.serve.errors import GatewayError

log = logging.getLogger(__name__)

# Answers kept, one per (database, question).
_ANSWERS = 4096


class Answer(Protocol):
    sql: str
    score: float
    matched_question: str
    substitutions: dict


class Method(Protocol):
    """What a ``local`` service needs of its method (``RetrievalMethod`` has it)."""

    def prepare(self, db_id: str) -> Any:
        """Build whatever answering ``db_id`` needs; called once per database, off the loop."""
        ...

    def answer(self, question: str, db_id: str) -> Answer:
        """The SQL for ``question`` on ``db_id``: the same every time it is asked (kept)."""
        ...


def _inline(method: Method) -> bool:
    """Whether ``method`` answers a prepared database quickly enough to run on the
    event loop (an ``answers_inline`` attribute that is true)."""
    return bool(getattr(method, "answers_inline", False))


MethodFactory = Callable[[DatabaseManager, LocalConfig], Method]


def retrieval_method(manager: DatabaseManager, config: LocalConfig) -> Method:
    """The default method: ``sqlfoundry.methods.retrieval.RetrievalMethod``."""
    try:
        from sqlfoundry.methods.retrieval import RetrievalMethod
    except ImportError as err:
        raise ConfigError(f"the local method is not available: {err}") from None
    return RetrievalMethod(manager, cache_dir=config.cache_dir, num_per_db=config.num_per_db,
                           seed=config.seed)  # fmt: skip


class LocalAnswerer:
    """Prepares databases on worker threads and answers from the method."""

    def __init__(self, method: Method) -> None:
        self.method = method
        self._tasks: dict[str, asyncio.Future] = {}
        # Called in the event loop when a database is ready (the gateway freezes the GC then).
        self.on_ready: Callable[[], None] | None = None
        self._answers: LRU[tuple[str, str], Answer] = LRU(_ANSWERS)
        self._inline = _inline(method)

    def start(self, db_ids: list[str]) -> None:
        """Begin preparing ``db_ids`` in the background (call inside the running loop)."""
        for db_id in db_ids:
            self._task(db_id)

    def _task(self, db_id: str) -> asyncio.Future:
        task = self._tasks.get(db_id)
        if task is None:
            loop = asyncio.get_running_loop()
            task = self._tasks[db_id] = loop.run_in_executor(None, self._prepare, db_id)
            task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Future) -> None:
        # A failure is reported to each request; asking for it here keeps it from being
        # logged as "never retrieved".
        if task.exception() is None and self.on_ready is not None:
            self.on_ready()

    def _prepare(self, db_id: str) -> None:
        log.info("local: preparing %s", db_id)
        self.method.prepare(db_id)
        log.info("local: %s ready", db_id)

    def status(self) -> dict[str, str]:
        """Each database's state: ``preparing``, ``ready`` or ``failed: <why>``."""
        out = {}
        for db_id, task in self._tasks.items():
            if not task.done():
                out[db_id] = "preparing"
            elif task.exception() is not None:
                out[db_id] = f"failed: {task.exception()}"
            else:
                out[db_id] = "ready"
        return out

    async def answer(self, question: str, db_id: str) -> Answer:
        """The method's answer, once ``db_id`` is prepared (503 when its build failed)."""
        key = (db_id, question)
        known = self._answers.get(key)
        if known is not None:
            return known
        try:
            await asyncio.shield(self._task(db_id))
        except Exception as err:  # noqa: BLE001 - any build failure is reported the same way
            raise GatewayError(503, f"the local index for {db_id!r} could not be built: {err}",
                               type="server_error", code="local_index_failed") from None  # fmt: skip
        try:
            if self._inline:
                answer = self.method.answer(question, db_id)
            else:
                loop = asyncio.get_running_loop()
                answer = await loop.run_in_executor(None, self.method.answer, question, db_id)
        except Exception as err:  # noqa: BLE001 - the method's failure, reported to the client
            log.error("local: answering on %s failed: %s: %s", db_id, type(err).__name__, err)
            log.debug("local: answering on %s failed", db_id, exc_info=True)
            raise GatewayError(500, f"the local method failed on {db_id!r}: {err}",
                               type="server_error", code="local_method_failed") from None  # fmt: skip
        return self._answers.put(key, answer)

    async def wait(self) -> None:
        """Until every started build has finished (for tests and the CLI)."""
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
