"""RunContext: the services a pipeline's operators share during one run.

Operators reach databases, the SQL executor, the LLM and the embedder only
through the context, so the same operator runs offline, against an endpoint, or
in tests with a fake one. ``core`` sits below ``db`` and ``llm``: the services
are typed loosely here and built by the layers above (see
``sqlfoundry.synth.context.build_context``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlfoundry.core.errors import ConfigError


@dataclass
class RunContext:
    """What operators may use.

    Attributes:
        databases: a ``sqlfoundry.db.DatabaseManager`` (db_id -> database, schema).
        executor: a ``sqlfoundry.db.SafeExecutor`` (read-only, timeouts, process pool).
        llm: an ``sqlfoundry.llm.LLMClient``, or None when no LLM is configured.
        embedder: an object with ``encode(texts) -> array`` (e.g. ``LocalEmbedder``),
            or None; operators fall back to ``llm.embed`` when it is None.
        seed: the run's seed; operators derive their own random streams from it.
        pipeline_executor: where pipelines run with this context (an ``Executor`` or
            its settings; None for the local executor). Operators never look at it.
        spec: how to build this context again in another process or on another
            node (an object with an async context manager ``open()`` giving a
            ``RunContext``, and picklable); the Ray executor needs it.
    """

    databases: Any = None
    executor: Any = None
    llm: Any = None
    embedder: Any = None
    seed: int = 0
    pipeline_executor: Any = None
    spec: Any = None
    # The executor's worker pool serves one caller at a time; batches run concurrently.
    _exec_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def require_databases(self, operator: str) -> Any:
        """The run's databases, or a ConfigError naming ``operator`` when the run has none."""
        if self.databases is None:
            raise ConfigError(f"operator {operator} needs databases", hint="give --db-root DIR")
        return self.databases

    def require_llm(self, operator: str) -> Any:
        """The run's LLM client, or a ConfigError naming ``operator`` and how to configure one."""
        if self.llm is None:
            raise ConfigError(
                f"operator {operator} was asked for its LLM engine but no LLM is configured",
                hint="set [llm] in the config, OPENAI_BASE_URL + SQLFOUNDRY_LLM_MODEL, "
                "or --llm-base-url/--llm-model",
            )
        return self.llm

    def schema(self, db_id: str, sample_values: int = 5) -> Any:
        """The database's ``Schema`` (the manager introspects each once); raises
        DatabaseNotFoundError."""
        return self.databases.schema(db_id, sample_values=sample_values)

    def has_database(self, db_id: str) -> bool:
        """Whether the run has a database ``db_id``."""
        return self.databases is not None and db_id in self.databases

    async def execute(self, jobs: Sequence[tuple[str, str]]) -> list[Any]:
        """Run ``(sql, db_id)`` jobs on the executor's process pool without blocking
        the event loop; one ``ExecResult`` per job, in order, never raising."""
        if self.executor is None:
            raise ConfigError("this step runs SQL but the run has no executor")
        if not jobs:
            return []

        def run() -> list[Any]:
            with self._exec_lock:
                return self.executor.run(list(jobs))

        return await asyncio.to_thread(run)
