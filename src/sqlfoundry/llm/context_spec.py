"""ContextSpec: what a run context is made of, so another process or node can build it again.

The Ray executor sends a spec to every actor; the actor opens its own SQL executor,
LLM client (same endpoint, cache folder, retries, concurrency limit) and embedder
from it once, for its lifetime. A spec holds plain, picklable data: the database
manager (folders, files or server settings; SQLite files are opened on the node, so
the folders must be on a shared file system at the same path), the ``LLMConfig``
with its cache folder resolved on the driver (every node shares one cache), and
the run's settings.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError


@dataclass
class ContextSpec:
    """How to open a ``RunContext``.

    Attributes:
        databases: a ``sqlfoundry.db.DatabaseManager``.
        llm: an ``LLMConfig``, or None for no LLM.
        seed: the run's seed.
        workers: SQL worker processes (0: queries run in the actor's own process).
        timeout: seconds per query; max_rows: rows kept per result (None: all of them;
            ``"default"``: the executor's default cap).
        embedder: ``local`` (the packaged MiniLM when installed), ``endpoint`` or ``none``.
    """

    databases: Any = None
    llm: Any = None
    seed: int = 0
    workers: int | None = 0
    timeout: float = 30.0
    max_rows: int | None | str = "default"
    embedder: str = "none"

    def check_databases(self) -> None:
        """Fail with the node's name when this node cannot see the run's database folders."""
        for root in getattr(self.databases, "roots", []):
            if not root.is_dir():
                raise ConfigError(
                    f"node {socket.gethostname()} cannot open the databases under {root}: "
                    "no such folder there",
                    hint="put the databases on a file system every node mounts at the same "
                    "path, or use a server (--server postgresql://...)",
                )
        files = getattr(self.databases, "_files", {})
        for db_id, path in files.items():
            if not path.exists():
                raise ConfigError(f"node {socket.gethostname()} cannot open database {db_id}: "
                                  f"{path} is not there", db_id=db_id)  # fmt: skip

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[RunContext]:
        """The context: an executor over the databases, the LLM client, the embedder."""
        from sqlfoundry.db.pool import SafeExecutor

        self.check_databases()
        options: dict[str, Any] = {"workers": self.workers, "timeout": self.timeout}
        if self.max_rows != "default":
            options["max_rows"] = self.max_rows
        executor = SafeExecutor(self.databases, **options) if self.databases is not None else None
        llm = None
        try:
            if self.llm is not None and self.llm.is_configured:
                from sqlfoundry.llm import LLMClient

                llm = LLMClient(self.llm)
            embedder = None
            if self.embedder == "local":
                embedder = local_embedder()
            yield RunContext(databases=self.databases, executor=executor, llm=llm,
                             embedder=embedder, seed=self.seed, spec=self)  # fmt: skip
        finally:
            if executor is not None:
                executor.close()
            if llm is not None:
                await llm.aclose()


def shared_llm_config(llm: Any) -> Any:
    """``llm`` with its cache folder made absolute on this machine, so every node of a
    cluster reads and writes the one cache (given a shared file system)."""
    if llm is None:
        return None
    return llm.model_copy(update={"cache_dir": llm.resolved_cache_dir().resolve()})


class _Encoder:
    """Gives the local embedder the ``encode`` the operators call."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder

    def encode(self, texts: list[str]) -> Any:
        return self._embedder.embed(texts)


def local_embedder() -> Any:
    """The packaged MiniLM when the ``embed`` extra is installed; else None (the
    endpoint's /v1/embeddings is used)."""
    import importlib.util

    if importlib.util.find_spec("sentence_transformers") is None:
        return None
    from sqlfoundry.llm import LocalEmbedder

    return _Encoder(LocalEmbedder())
