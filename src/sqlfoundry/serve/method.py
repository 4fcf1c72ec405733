"""The ``method`` service type: any Text-to-SQL method preset (or one task of a run config)
answers each request, so a whole pipeline is one more model for OpenAI clients.

The request's question (and evidence) and its database become one record; the
method's stages run on it in memory (no run directory), with the service's own
run context: the gateway's databases, a read-only executor, and an LLM client
for methods that call a model (checked with a preflight on the first request).
The answer's SQL goes through the service's post-processing like any other;
the record's candidates, schema links, usage and errors ride along in the
choice's ``sqlfoundry.method``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError, LLMError
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.serve.config import MethodConfig
from sqlfoundry.serve.errors import GatewayError

log = logging.getLogger(__name__)

_REQUEST_FIELDS = {"question", "db_id", "evidence", "id"}


@dataclass
class MethodAnswer:
    """What the method wrote for one request."""

    sql: str
    info: dict[str, Any] = field(default_factory=dict)


class MethodAnswerer:
    """Builds the method's stages once (a bad method fails when the gateway starts) and runs
    them per request.

    Raises:
        ConfigError: an unknown preset or task, bad parameters, or a stage that needs
            more than a request gives (candidates, links, ...).
    """

    def __init__(self, manager: DatabaseManager, config: MethodConfig) -> None:
        from sqlfoundry.methods.compose import build_spec, inputs_of, outputs_of, requirements

        self.manager = manager
        self.config = config
        specs, llm_table = self._specs(config)
        self.operators = [build_spec(s) for s in specs]
        have = set(_REQUEST_FIELDS)
        for op in self.operators:
            missing = sorted(inputs_of(op) - have)
            if missing:
                raise ConfigError(f"method stage {op.name} needs {', '.join(missing)}, which a "
                                  "request does not give and no earlier stage writes")  # fmt: skip
            have |= outputs_of(op)
        self.needs = frozenset().union(*(requirements(op) for op in self.operators))
        self.llm_config = None
        if "llm" in self.needs:
            from sqlfoundry.llm import LLMConfig

            self.llm_config = LLMConfig.from_sources(config.llm or llm_table)
            self.llm_config.require_endpoint()
        self.name = config.preset or f"{config.config.name}:{config.task}"  # type: ignore[union-attr]
        self._ctx: RunContext | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self.on_ready = None

    @staticmethod
    def _specs(config: MethodConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        from sqlfoundry.methods.catalog import resolve
        from sqlfoundry.methods.engine.build import task_specs
        from sqlfoundry.methods.engine.config import read_config_file
        from sqlfoundry.methods.presets import get_preset

        if config.preset is not None:
            preset = get_preset(config.preset)
            kind = preset.kind if preset is not None else "generate"
            return resolve(kind, config.preset, config.params), {}
        assert config.config is not None
        run = read_config_file(config.config)
        tasks = {t.id: t for t in run.tasks}
        if config.task not in tasks:
            raise ConfigError(f"run config {config.config} has no task {config.task!r}",
                              hint=f"tasks: {', '.join(tasks)}")  # fmt: skip
        return task_specs(tasks[config.task], tasks), run.llm

    # The LocalAnswerer interface the service and the gateway use.

    def start(self, db_ids: list[str]) -> None:
        """Nothing to build ahead: stages prepare each database on its first request."""

    def status(self) -> dict[str, str]:
        """No database to prepare: nothing to report (``/health`` shows the service ready)."""
        return {}

    async def wait(self) -> None:
        """Nothing is built in the background, so nothing to wait for."""
        return None

    async def _context(self) -> RunContext:
        async with self._lock:
            if self._ctx is None:
                from sqlfoundry.db.pool import SafeExecutor

                llm = None
                if self.llm_config is not None:
                    from sqlfoundry.llm import LLMClient

                    llm = LLMClient(self.llm_config)
                executor = SafeExecutor(self.manager, workers=self.config.workers,
                                        timeout=self.config.timeout)  # fmt: skip
                self._ctx = RunContext(databases=self.manager, executor=executor, llm=llm)
            return self._ctx

    async def answer(self, question: str, db_id: str, evidence: str | None = None) -> MethodAnswer:
        """Run the method on one question; a 502 when it writes no SQL, saying why."""
        from sqlfoundry.methods.compose import run_in_order

        ctx = await self._context()
        record = Sample(id=f"request-{next(self._ids)}", db_id=db_id, question=question,
                        evidence=evidence or None)  # fmt: skip
        try:
            (done,) = await run_in_order(self.operators, [record], ctx)
        except LLMError as err:
            raise GatewayError(502, f"the method's model endpoint failed: {err}",
                               type="server_error", code="method_llm_failed") from None  # fmt: skip
        errors = done.meta.get("errors") or []
        if not (done.pred_sql or "").strip():
            why = "; ".join(f"{e['stage']}: {e['message']}" for e in errors) or "no stage wrote SQL"
            raise GatewayError(502, f"the method {self.name} gave no SQL: {why}",
                               type="server_error", code="method_failed")  # fmt: skip
        info = {"method": self.name, "stages": [op.name for op in self.operators],
                "candidates": done.candidates, "schema_links": done.schema_links,
                "usage": done.meta.get("usage", {}), "errors": errors}  # fmt: skip
        return MethodAnswer(done.pred_sql, info)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        """Close the run context: its SQL workers and the LLM client."""
        if self._ctx is not None:
            self._ctx.executor.close()
            if self._ctx.llm is not None:
                await self._ctx.llm.aclose()
            self._ctx = None
