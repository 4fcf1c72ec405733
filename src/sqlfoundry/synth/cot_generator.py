"""CoTGenerator: step-by-step reasoning from each record's question to its SQL.

Offline engine: a structured derivation built from the query plan
(:func:`sqlfoundry.synth.realiser.explain.explain`): the tables needed and the
question's words that point at them, the joins and their keys, the filters
with their values, grouping, HAVING, ordering and limit, set operations and
nested subqueries, then "So the final query is:" and the reference SQL.

LLM engine: the ``cot_generation`` prompt, ``num_candidates`` samples per
request. Each candidate's final ```sql block is executed and compared with the
reference SQL's result (:func:`sqlfoundry.db.compare.results_match`, Spider
semantics); the first that matches is kept. When none does, the record is asked
again with a new sampling seed, up to ``max_retries`` requests in all, and
dropped with "cot: no reasoning reached the reference result after N tries".

Both engines go through the same final check, so a kept CoT always ends in SQL
that returns what the reference returns. ``meta["cot_attempts"]`` says how many
requests it took (1 offline). The schema the model sees is the record's
``schema_subset`` when it has one, the same tables its training prompt shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.compare import gold_orders_rows, results_match
from sqlfoundry.llm import BatchItem, LLMRequest, parse_sql, render_prompt, run_batch
from sqlfoundry.synth.base import EngineOperator, EngineParams, changed_copy, stamp
from sqlfoundry.synth.prompt_generator import SchemaText, dialect_name
from sqlfoundry.synth.realiser import RealiseError
from sqlfoundry.synth.realiser.explain import explain
from sqlfoundry.synth.sql_feed import SQLFeed

log = logging.getLogger(__name__)

# Records of a batch whose reference results the offline engine holds at once.
_REFERENCES_HELD = 32
# How many failed candidates a record's meta keeps (their reasons, for debugging prompts).
MAX_FAILURES_KEPT = 6


class CoTParams(EngineParams):
    """
    Attributes:
        num_candidates: LLM engine: reasoning samples per request.
        max_retries: LLM engine: requests per record in all (the first included), each
            with a new sampling seed, until one candidate reaches the reference result.
    """

    num_candidates: int = Field(1, ge=1, le=32)
    max_retries: int = Field(3, ge=1, le=20)


@dataclass
class _Task:
    """One record on its way: the reference result and what was tried so far."""

    sample: Sample
    gold: Any  # ExecResult of the reference SQL
    reference: str = ""  # the reference SQL as parse_sql would return it
    attempts: int = 0
    cot: str | None = None
    failures: list[str] = field(default_factory=list)
    ordered: bool | None = None  # whether the reference's row order counts


@register
class CoTGenerator(EngineOperator):
    """Writes ``cot``: reasoning that ends in a ```sql block; see the module doc."""

    name = "cot_generator"
    # 2: clipped names ("GName") read as the noun; 3: MAX/MIN of dates read latest/earliest;
    # 4: the realiser's new wordings (constructions, leads, periods, shares)
    # 5: the realiser's fixes (counts over joins, flags, names split into words)
    version = 5
    inputs = ("question", "sql", "db_id")
    outputs = ("cot",)
    Params = CoTParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._schemas = SchemaText(examples=3)

    # ------------------------------------------------------------------ engines

    async def process_offline(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        # The references' results are held only for a slice of the batch at a time (a
        # batch of big results was a worker's peak memory); the rejects keep the order
        # a whole batch gives them: unready, failed references, unexplained, the rest.
        unready, failed, unexplained, finished = (StepOutput() for _ in range(4))
        ready = self._ready(batch, ctx, unready)
        for first in range(0, len(ready), _REFERENCES_HELD):
            part = ready[first : first + _REFERENCES_HELD]
            tasks = await self._run_references(part, ctx, failed)
            round_: list[tuple[_Task, list[str]]] = []
            for task in tasks:
                sample = task.sample
                schema = ctx.schema(sample.db_id)
                try:
                    text = explain(sample.sql, schema, sample.question, schema.dialect)
                except RealiseError as err:
                    unexplained.rejects.append(
                        self.reject(sample, f"cot: cannot explain SQL: {err.message}")
                    )
                    continue
                round_.append((task, [text]))
            await self._check_round(round_, ctx.execute, ctx)
            self._finish([t for t, _ in round_], finished, "offline", tries=1)
        rejects = [*unready.rejects, *failed.rejects, *unexplained.rejects, *finished.rejects]
        return StepOutput(samples=finished.samples, rejects=rejects)

    async def process_llm(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        ready = self._ready(batch, ctx, out)
        # The references run while the first requests are out, and each answer is
        # checked as it arrives, while the others are in flight.
        feed = SQLFeed(ctx)
        references = [(s.sql, s.db_id) for s in ready]
        feed.submit(references)
        tasks = [_Task(sample=s, gold=None, reference=_clean(s.sql)) for s in ready]
        pending = list(tasks)
        try:
            for attempt in range(1, self.params.max_retries + 1):
                if not pending:
                    break
                await self._llm_round(pending, attempt, feed, ctx)
                for task, gold in zip(tasks, await feed.run(references), strict=True):
                    task.gold = gold
                pending = [t for t in pending if t.cot is None and t.gold.ok]
        finally:
            await feed.aclose()
        self._reject_failed_references(tasks, out)
        self._finish([t for t in tasks if t.gold.ok], out, "llm", tries=self.params.max_retries)
        return out

    async def _llm_round(
        self, pending: list[_Task], attempt: int, feed: SQLFeed, ctx: RunContext
    ) -> None:
        """One request per pending record; its candidates checked as soon as they arrive."""
        requests = [
            LLMRequest(
                self.format_input(t.sample, ctx),
                n=self.params.num_candidates,
                # A new seed per try: new samples, and a new cache key for them.
                params={"seed": ctx.seed * 1000 + attempt},
            )
            for t in pending
        ]
        checks: list[asyncio.Task[None]] = []

        async def check(task: _Task, texts: list[str]) -> None:
            task.gold = (await feed.run([(task.sample.sql, task.sample.db_id)]))[0]
            if task.gold.ok:
                await self._check_round([(task, texts)], feed.run, ctx)

        def arrived(item: BatchItem) -> None:
            task = pending[item.index]
            task.attempts = attempt
            if not item.ok:
                task.failures.append(f"request failed: {item.error.message}")
                return
            checks.append(asyncio.create_task(check(task, [g.text for g in item.generations])))

        try:
            await run_batch(ctx.llm, requests, operator=self.name, on_item=arrived)
            await asyncio.gather(*checks)
        finally:
            for running in checks:
                running.cancel()

    def format_input(self, sample: Sample, ctx: RunContext) -> list[dict[str, str]]:
        """The ``cot_generation`` messages for one record."""
        schema = self._schemas.schema(ctx, sample.db_id)
        tables = list(sample.schema_subset) if sample.schema_subset else None
        return render_prompt(
            "cot_generation",
            dialect=dialect_name(schema.dialect),
            schema=self._schemas.ddl(ctx, sample.db_id, tables),
            question=sample.question.strip(),
            evidence=(sample.evidence or "").strip(),
            sql=sample.sql.strip(),
        )

    @staticmethod
    def format_output(text: str | None) -> tuple[str | None, str | None]:
        """``(sql, None)``: the final ```sql block of a reasoning text, or ``(None, error)``."""
        parsed = parse_sql(text)
        return (parsed.value, None) if parsed.ok else (None, parsed.error)

    # ------------------------------------------------------------------ the shared check

    def _ready(self, batch: Sequence[Sample], ctx: RunContext, out: StepOutput) -> list[Sample]:
        """The records that can be worked on; the others rejected with the reason."""
        ready = []
        for sample in batch:
            for name, value in (("question", sample.question), ("SQL", sample.sql)):
                if not value or not value.strip():
                    out.rejects.append(self.reject(sample, f"missing field: {name}"))
                    break
            else:
                if ctx.has_database(sample.db_id):
                    ready.append(sample)
                else:
                    out.rejects.append(self.reject(sample, f"unknown database: {sample.db_id}"))
        return ready

    async def _run_references(
        self, ready: Sequence[Sample], ctx: RunContext, out: StepOutput
    ) -> list[_Task]:
        """Run the reference SQL of ``ready``; those that fail are rejected."""
        results = await ctx.execute([(s.sql, s.db_id) for s in ready])
        tasks = [_Task(sample=s, gold=result, reference=_clean(s.sql))
                 for s, result in zip(ready, results, strict=True)]  # fmt: skip
        self._reject_failed_references(tasks, out)
        return [t for t in tasks if t.gold.ok]

    def _reject_failed_references(self, tasks: list[_Task], out: StepOutput) -> None:
        for task in tasks:
            if not task.gold.ok:
                why = task.gold.error or task.gold.status
                out.rejects.append(self.reject(task.sample, f"cot: reference SQL failed: {why}"))

    async def _check_round(
        self,
        round_: list[tuple[_Task, list[str]]],
        execute: Callable[[list[tuple[str, str]]], Awaitable[list[Any]]],
        ctx: RunContext,
    ) -> None:
        """Run every candidate's final SQL (with ``execute``); a task keeps its first
        candidate whose result matches the reference."""
        jobs: list[tuple[str, str]] = []
        parsed: list[tuple[_Task, str, str | None]] = []
        for task, texts in round_:
            for text in texts:
                sql, error = self.format_output(text)
                if sql is None:
                    task.failures.append(f"no final SQL: {error}")
                    continue
                parsed.append((task, text, sql))
                if sql != task.reference:
                    jobs.append((sql, task.sample.db_id))
        # The reference query's own text needs no second run (the offline CoT ends with it).
        unique = list(dict.fromkeys(jobs))
        by_job = dict(zip(unique, await execute(unique), strict=True))
        for task, text, sql in parsed:
            if task.cot is not None:
                continue
            same = sql == task.reference
            result = task.gold if same else by_job[(sql, task.sample.db_id)]
            if not result.ok:
                task.failures.append(f"final SQL failed: {result.error or result.status}")
            elif same or self._same_result(task, result, ctx):  # its own rows: nothing to compare
                task.cot = text
            else:
                task.failures.append("final SQL returns a different result")

    def _same_result(self, task: _Task, result: Any, ctx: RunContext) -> bool:
        if task.ordered is None:  # the reference parsed once, not once per candidate
            dialect = ctx.schema(task.sample.db_id).dialect
            task.ordered = gold_orders_rows(task.sample.sql, dialect)
        return results_match(task.gold.rows, result.rows, "spider", order_matters=task.ordered)

    def _finish(self, tasks: list[_Task], out: StepOutput, engine: str, tries: int) -> None:
        for task in tasks:
            if task.cot is None:
                tried = "1 try" if tries == 1 else f"{tries} tries"
                reason = f"cot: no reasoning reached the reference result after {tried}"
                rejected = changed_copy(task.sample)
                rejected.meta["cot_failures"] = task.failures[-MAX_FAILURES_KEPT:]
                out.rejects.append(self.reject(rejected, reason))
                continue
            record = changed_copy(task.sample)
            record.cot = task.cot
            attempts = max(task.attempts, 1)
            record.meta["cot_attempts"] = attempts
            if task.failures:
                record.meta["cot_failures"] = task.failures[-MAX_FAILURES_KEPT:]
            out.samples.append(stamp(record, self.name, engine, attempts=attempts))


def _clean(sql: str) -> str:
    """A query as :func:`~sqlfoundry.llm.parse_sql` returns it: stripped, no trailing ``;``."""
    return parse_sql(f"```sql\n{sql}\n```").value or sql.strip()
