"""PairDatabase: the databases producers read, check and run SQL on, with the run's services.

A producer never opens a database itself: it asks its ``PairDatabase`` for a
schema (introspected once), the DDL its prompts show, the data profile the
offline engine samples from, and runs SQL through the run's read-only
executor. The same handle carries the LLM client (or None), so the engine a
producer uses follows from how the handle was opened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.db.base import ExecResult
from sqlfoundry.db.manager import DatabaseManager, open_database
from sqlfoundry.db.render import to_ddl
from sqlfoundry.db.schema import Schema
from sqlfoundry.synth.prompt_generator import dialect_name

EXAMPLE_VALUES = 3  # example values per column in the DDL prompts show


class PairDatabase:
    """A run context and, usually, the database a producer works on.

    Args:
        ctx: the run's services: ``databases`` (a ``DatabaseManager``), ``executor``,
            ``llm`` (None for the offline engine only) and ``seed``.
        db_id: the database; None when every pair names its own (``pair.db_id``).

    Open one with :meth:`open`; an operator builds one from its ``RunContext``.
    """

    def __init__(self, ctx: RunContext, db_id: str | None = None) -> None:
        self.ctx = ctx
        self.db_id = db_id
        self._cache: dict[tuple[str, str], Any] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        source: str | Path | None = None,
        *,
        manager: DatabaseManager | None = None,
        db_id: str | None = None,
        server: str | None = None,
        llm: Any = None,
        seed: int = 0,
        workers: int = 0,
        timeout: float = 30.0,
    ) -> AsyncIterator[PairDatabase]:
        """Open databases and the run's services; close them when the block ends.

        Args:
            source: a SQLite file (its stem is the db_id), or a folder searched for them.
            manager: a ``DatabaseManager`` already set up, instead of ``source``.
            db_id: the database producers work on (the file's stem by default).
            server: a ``postgresql://`` or ``mysql://`` URL instead of ``source``.
            llm: an ``LLMConfig`` (a client is opened, checked and closed here), an
                ``LLMClient`` the caller owns, or None for the offline engine.
            seed: every random choice derives from it.
            workers: SQL worker processes (0: in this process).
            timeout: seconds per query.
        """
        from sqlfoundry.db.manager import ServerSettings
        from sqlfoundry.db.pool import SafeExecutor
        from sqlfoundry.llm import LLMConfig
        from sqlfoundry.synth.pipelines import SynthSettings, run_context

        if source is None and server is None and manager is None:
            raise ConfigError("PairDatabase.open needs a SQLite file, a folder or a server URL")
        if manager is not None:
            pass
        elif server is not None:
            manager = DatabaseManager(server=ServerSettings.from_url(server))
        elif Path(source).is_file():
            manager = DatabaseManager.for_file(source)
            db_id = db_id or Path(source).stem
        else:
            manager = DatabaseManager(root=source)
        if db_id is not None and db_id not in manager:
            raise ConfigError(f"unknown database {db_id!r}", hint=f"found: {manager.db_ids()}")
        if llm is None or isinstance(llm, LLMConfig):
            settings = SynthSettings(engine="llm" if llm is not None else "offline", seed=seed,
                                     workers=workers, timeout=timeout, embedder="endpoint")  # fmt: skip
            async with run_context(settings, manager, llm) as ctx:
                yield cls(ctx, db_id)
            return
        with SafeExecutor(manager, workers=workers, timeout=timeout) as executor:
            yield cls(RunContext(databases=manager, executor=executor, llm=llm, seed=seed), db_id)

    # ------------------------------------------------------------------ identity

    @property
    def llm(self) -> Any:
        """The run's LLM client (None offline)."""
        return self.ctx.llm

    @property
    def seed(self) -> int:
        """The run's seed."""
        return self.ctx.seed

    def using(self, db_id: str | None) -> PairDatabase:
        """The same services on another database (caches shared)."""
        if db_id == self.db_id or db_id is None:
            return self
        sibling = PairDatabase(self.ctx, db_id)
        sibling._cache = self._cache
        return sibling

    def require_id(self, db_id: str | None = None, *, who: str = "this producer") -> str:
        """``db_id``, else this handle's database; ConfigError when neither is known."""
        chosen = db_id or self.db_id
        if not chosen:
            raise ConfigError(f"{who} needs a database", hint="open PairDatabase with db_id=...")
        if not self.ctx.has_database(chosen):
            raise ConfigError(f"{who}: unknown database {chosen!r}")
        return chosen

    def knows(self, db_id: str | None) -> bool:
        """Whether ``db_id`` is a database of the run."""
        return bool(db_id) and self.ctx.has_database(db_id)

    # ------------------------------------------------------------------ reading

    def _cached(self, kind: str, db_id: str, build: Any) -> Any:
        key = (kind, db_id)
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def schema(self, db_id: str | None = None) -> Schema:
        """The schema with a few example values per column."""
        chosen = self.require_id(db_id)
        return self.ctx.schema(chosen, sample_values=EXAMPLE_VALUES)

    def dialect(self, db_id: str | None = None) -> str:
        """The SQL dialect of ``db_id`` (the current database by default)."""
        return self.schema(db_id).dialect

    def dialect_title(self, db_id: str | None = None) -> str:
        """How a prompt names the engine: ``SQLite``, ``PostgreSQL``..."""
        return dialect_name(self.dialect(db_id))

    def ddl(self, db_id: str | None = None) -> str:
        """The DDL with example values the LLM prompts show (rendered once)."""
        chosen = self.require_id(db_id)
        return self._cached(
            "ddl", chosen, lambda: to_ddl(self.schema(chosen), examples=EXAMPLE_VALUES)
        )

    async def profile(self, db_id: str | None = None) -> Any:
        """The sampler's profile of the data (roles, real values, links), read once."""
        from sqlfoundry.synth.sampling import load_profile

        chosen = self.require_id(db_id)
        key = ("profile", chosen)
        if key not in self._cache:

            def build() -> Any:
                with open_database(self.ctx.databases.spec(chosen)) as db:
                    return load_profile(db)

            self._cache[key] = await asyncio.to_thread(build)
        return self._cache[key]

    def spec(self, db_id: str | None = None) -> Any:
        """Where ``db_id`` is (its ``DatabaseSpec``)."""
        return self.ctx.databases.spec(self.require_id(db_id))

    async def execute(self, jobs: Sequence[tuple[str, str]]) -> list[ExecResult]:
        """Run ``(sql, db_id)`` jobs read-only; one result per job, in order, never raising."""
        return await self.ctx.execute(list(jobs))
