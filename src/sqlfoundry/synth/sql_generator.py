"""SQLGenerator: new SQL queries for each database, at a mix of Spider hardness levels.

Input: one seed record per database (``id`` and ``db_id``). Output: up to
``num_per_db`` records per database, ids ``<db_id>-00000``, ``<db_id>-00001``...,
each with ``sql`` (in the database's dialect unless ``dialect`` says
otherwise), ``hardness`` (its Spider hardness) and ``meta["target_level"]``
(the quota it fills), ``meta["style"]`` and ``meta["attempts"]``.

Offline engine
    :mod:`sqlfoundry.synth.sampling` profiles the database (column roles, real
    values, foreign keys) and composes queries from it: joins along declared
    foreign keys, filters on values read from real rows, aggregates, groups
    with HAVING thresholds from real group values, ORDER BY/LIMIT, IN / NOT IN
    and scalar subqueries, set operations, CASE arithmetic. Every candidate is
    run (read-only, with a timeout) and kept only when it returns rows that are
    not all NULL; the per-level quotas of ``difficulty_mix`` are filled by
    measured hardness. With ``semantic_checks`` (the default) a candidate must
    also pass the checks of ``sql_semantic_filter``; one that fails is a reject
    of this step with the check's reason (``fan-out: ...``), so the run's
    summary counts what the checks turned down. Databases are sampled in
    parallel worker processes.

LLM engine
    A round's wanted queries of a database go out ``queries_per_request`` (5) to a
    ``sql_generation_several`` prompt (one ``sql_generation`` prompt for a single
    one): each wanted query with its target complexity (from the level) and a
    varied hint of functions to use, and the queries already kept for the
    database to avoid, those of the asked levels first. The rounds let later
    requests avoid earlier answers. Requests whose prompts come out the same are
    one request for that many samples (``n``). The answer's ```sql blocks are
    the wanted queries in order; each is checked as a single answer is: kept
    when it parses, is a read-only query, is new, runs and returns rows. The
    others are rejected with their reason, a wanted query the answer left out
    as ``missing query``. The records come round by round (each database's
    queries of the first round, then of the second...), and each round is handed
    on to the next step when every database has finished it
    (:func:`sqlfoundry.core.executors.stream.hand_on`).

A seed whose database is unknown or has no usable table is rejected.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import multiprocessing
import os
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator
from sqlglot import exp

from sqlfoundry.core import progress
from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import DatabaseError, SqlfoundryError
from sqlfoundry.core.executors.stream import hand_on
from sqlfoundry.core.operator import Reject, StepOutput
from sqlfoundry.core.orphans import die_with_parent
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.base import DatabaseSpec
from sqlfoundry.db.render import to_ddl
from sqlfoundry.llm import (
    BatchItem,
    LLMRequest,
    parse_sql,
    render_prompt,
    run_batch,
    strip_thinking,
)
from sqlfoundry.llm.parse import sql_blocks
from sqlfoundry.sql.guard import check_read_only
from sqlfoundry.sql.hardness import HARDNESS_LEVELS, spider_hardness
from sqlfoundry.sql.parse import parse_one, sqlglot_dialect
from sqlfoundry.sql.skeleton import normalize
from sqlfoundry.synth.base import EngineOperator, EngineParams, stamp
from sqlfoundry.synth.sampling import DEFAULT_MIX, SampleOutcome, quotas, sample_database
from sqlfoundry.synth.semantic_filter import checked_by_generator
from sqlfoundry.synth.sql_feed import SQLFeed

log = logging.getLogger(__name__)

# How the sql_generation template names each Spider level.
COMPLEXITY = {
    "easy": "simple",
    "medium": "moderate",
    "hard": "complex",
    "extra": "highly complex",
}

# Function hints varied across LLM requests, so answers do not all look alike.
_COMMON_HINTS = (
    "COUNT, AVG",
    "MIN, MAX",
    "SUM, ROUND",
    "COUNT(DISTINCT ...)",
    "CASE WHEN ... THEN ... END",
    "LIKE, UPPER, LOWER",
    "COALESCE, NULLIF",
    "SUBSTR, LENGTH",
    "ABS, ROUND, CAST",
    "IN (subquery), EXISTS",
)
_DIALECT_HINTS = {
    "sqlite": ("strftime, julianday", "date, substr", "group_concat", "IFNULL, printf"),
    "postgres": ("EXTRACT, DATE_TRUNC", "STRING_AGG", "ILIKE, POSITION", "TO_CHAR, AGE"),
    "mysql": ("YEAR, DATE_FORMAT", "GROUP_CONCAT", "IFNULL, CONCAT", "DATEDIFF, TIMESTAMPDIFF"),
}
_COMPLEX_HINTS = ("RANK() OVER, ROW_NUMBER() OVER", "WITH (a common table expression)",
                  "SUM(...) OVER (ORDER BY ...)", "NOT EXISTS (correlated subquery)")  # fmt: skip
# The share of a database's queries asked by the end of each round. The first round
# is small: its prompts can show nothing to avoid, so the model repeats itself most
# there; each later round shows what the earlier ones kept. Each round waits for its
# slowest answer: four rounds kept as many distinct queries as five (10/25/45/70%),
# and the run ended ~6% sooner.
_ROUND_ENDS = (0.15, 0.4, 0.7, 1.0)
_LLM_ROUNDS = len(_ROUND_ENDS)


class SQLGeneratorParams(EngineParams):
    """
    Attributes:
        num_per_db: queries wanted per database (fewer when a database cannot give them).
        difficulty_mix: share of each Spider hardness level (easy, medium, hard, extra).
        dialect: dialect of the written SQL; ``auto`` is the database's own.
        timeout: seconds a candidate query may run before it is dropped.
        temperature: LLM sampling temperature.
        max_tokens: LLM answer length cap (the endpoint's default when None).
        avoid_examples: LLM: queries already kept for the database shown as ones to avoid
            (a query shown is one the model does not repeat, a repeat is a request paid
            for and thrown away; 50 rather than 20 cut the repeats by ~40% on the demo databases).
        queries_per_request: LLM: wanted queries asked in one request (each still
            checked on its own); 1 asks one request per query. 5 cut the generator's
            requests ~4x with the same queries kept on the demo databases.
        semantic_checks: offline: run the semantic checks (ties, fan-out, degenerate
            results, tautologies, contrived filters) on every candidate, so the queries
            kept pass the ``sql_semantic_filter`` step; off keeps more of the raw draws.
    """

    num_per_db: int = Field(100, ge=1, le=100_000)
    difficulty_mix: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MIX))
    dialect: str = "auto"
    timeout: float = Field(5.0, gt=0)
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1)
    avoid_examples: int = Field(50, ge=0, le=50)
    queries_per_request: int = Field(5, ge=1, le=20)
    semantic_checks: bool = True

    @field_validator("difficulty_mix")
    @classmethod
    def _known_levels(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(HARDNESS_LEVELS))
        if unknown:
            raise ValueError(f"unknown level(s) {unknown}; levels: {', '.join(HARDNESS_LEVELS)}")
        if any(share < 0 for share in value.values()) or sum(value.values()) <= 0:
            raise ValueError("shares must be >= 0 and not all 0")
        return value

    @field_validator("dialect")
    @classmethod
    def _known_dialect(cls, value: str) -> str:
        if value != "auto":
            try:
                sqlglot_dialect(value)
            except SqlfoundryError as err:
                raise ValueError(err.message) from None
        return value


@register
class SQLGenerator(EngineOperator):
    name = "sql_generator"
    # 2: semantic checks on every candidate, round thresholds, no key or float-equality
    # filters, harder levels from structures rather than stacked filters.
    # 3: candidates the semantic checks turn down are rejects with the check's reason;
    # undeclared references (country.Capital) are keys, 0/1 text is a flag, COUNT(key)
    # over a join uses the counted table's key.
    # 4: batches of 16 databases (older checkpoints are cut otherwise).
    # 5: LLM: the output goes round by round, each handed on as it ends.
    # 6: LLM: several wanted queries in one request.
    # 7: LLM: four rounds (15/40/70/100%) instead of five.
    version = 7
    inputs = ("db_id",)
    outputs = ("sql", "hardness")
    Params = SQLGeneratorParams
    # A database seed becomes num_per_db records (and more rejects): 16 databases a batch
    # keep a large run's memory flat and still give the worker processes several each.
    max_batch = 16

    # ------------------------------------------------------------------ offline

    async def process_offline(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        jobs: list[tuple[Sample, DatabaseSpec]] = []
        for seed in batch:
            spec = self._spec(seed, ctx, out.rejects)
            if spec is not None:
                jobs.append((seed, spec))
        outcomes = await self._sample_all([spec for _, spec in jobs], ctx)
        for (seed, _), outcome in zip(jobs, outcomes, strict=True):
            if outcome.error:
                out.rejects.append(self.reject(seed, outcome.error))
                continue
            if not outcome.queries:
                out.rejects.append(
                    self.reject(seed, "no query found: every candidate failed or returned no rows")
                )
                continue
            stats = outcome.stats
            log.info(
                "%s: %d queries from %d candidates (%.0f%% returned rows)",
                seed.db_id,
                len(outcome.queries),
                stats.executed,
                100 * stats.nonempty / max(1, stats.executed),
            )
            for k, query in enumerate(outcome.queries):
                meta = copy.deepcopy(seed.meta)
                meta.update(target_level=query.target_level, style=query.style,
                            shape=query.shape, attempts=query.attempts)  # fmt: skip
                if query.target_level != query.hardness:
                    meta["filled_from"] = query.hardness
                if self.params.semantic_checks:
                    # What the sql_semantic_filter step would run again on this exact SQL.
                    meta["semantic"] = checked_by_generator(query.sql)
                child = Sample(id=f"{seed.db_id}-{k:05d}", db_id=seed.db_id, sql=query.sql,
                               hardness=query.hardness, meta=meta)  # fmt: skip
                out.samples.append(stamp(child, self.name, "offline", seed=ctx.seed))
            # Candidates the semantic checks turned down: rejects with the check's reason,
            # so the run counts them (the filter step then has nothing left to drop).
            for k, dropped in enumerate(outcome.rejected):
                meta = {**copy.deepcopy(seed.meta), "shape": dropped.shape}
                candidate = Sample(id=f"{seed.db_id}-candidate-{k:05d}", db_id=seed.db_id,
                                   sql=dropped.sql, hardness=dropped.hardness, meta=meta)  # fmt: skip
                out.rejects.append(self.reject(candidate, dropped.reason))
        return out

    def _spec(self, seed: Sample, ctx: RunContext, rejects: list[Reject]) -> DatabaseSpec | None:
        databases = ctx.require_databases(self.name)
        if not seed.db_id or seed.db_id not in databases:
            rejects.append(self.reject(seed, f"unknown database: {seed.db_id!r}"))
            return None
        try:
            return databases.spec(seed.db_id)
        except DatabaseError as err:
            rejects.append(self.reject(seed, f"unknown database: {err.message}"))
            return None

    def _job_args(self, spec: DatabaseSpec, ctx: RunContext) -> tuple:
        dialect = None if self.params.dialect == "auto" else self.params.dialect
        seed = f"{ctx.seed}:{self.name}:{spec.db_id}"
        return (spec, self.params.num_per_db, seed, dict(self.params.difficulty_mix), dialect,
                self.params.timeout, self.params.semantic_checks)  # fmt: skip

    async def _sample_all(self, specs: list[DatabaseSpec], ctx: RunContext) -> list[SampleOutcome]:
        """Sample every database: in worker processes when there are several and the
        run allows more than one worker, else one after the other off the event loop."""
        if not specs:
            return []
        args = [self._job_args(spec, ctx) for spec in specs]
        workers = min(len(specs), _worker_count(ctx))
        if workers < 2:

            def one_by_one() -> list[SampleOutcome]:
                outcomes = []
                for a in args:
                    outcomes.append(sample_database(*a))
                    progress.report(len(outcomes), len(args))  # a database is done
                return outcomes

            return await asyncio.to_thread(one_by_one)
        finished = 0

        def tick(future: asyncio.Future) -> None:
            nonlocal finished
            if not future.cancelled() and future.exception() is None:
                finished += 1
                progress.report(finished, len(args))

        outcomes = await _in_pool(args, workers, tick)
        # A worker that died (killed, out of memory) breaks the whole pool, and every
        # database still in it with it. Those run again, each in a pool of its own
        # (``workers`` at a time), so only the one that kills its worker fails.
        lost = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if lost:
            log.warning("a sampling worker died; %d database(s) sampled again", len(lost))
            gate = asyncio.Semaphore(workers)

            async def alone(i: int) -> None:
                async with gate:
                    retry = (await _in_pool([args[i]], 1, tick))[0]
                if retry is None:
                    retry = SampleOutcome(
                        db_id=specs[i].db_id,
                        error="sampling worker process died (killed or out of memory) "
                        "while sampling this database",
                    )
                    log.error("%s: %s", specs[i].db_id, retry.error)
                outcomes[i] = retry

            await asyncio.gather(*(alone(i) for i in lost))
        return outcomes  # type: ignore[return-value]

    # ------------------------------------------------------------------ LLM

    async def process_llm(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        plans: list[_LLMPlan] = []
        for seed in batch:
            if self._spec(seed, ctx, out.rejects) is None:
                continue
            try:
                plan = self._plan(seed, ctx)
            except DatabaseError as err:
                out.rejects.append(self.reject(seed, f"database unreadable: {err.message}"))
                continue
            if plan is None:
                out.rejects.append(self.reject(seed, "no usable tables: the database has no table"))
                continue
            plans.append(plan)
        # Each database runs its rounds on its own, so one database's checking gap
        # overlaps with the others' requests; rejects are gathered in plan order.
        per_plan: list[list[Reject]] = [[] for _ in plans]
        # The queries each database kept in each round. The output goes round by round
        # (every database's first round, then every second...), and each round is handed
        # on to the next step as soon as every database has finished it: the steps after
        # start on the first queries while the later rounds are out.
        by_round: list[list[list[Sample]]] = [[] for _ in plans]

        finished = handed = 0  # rounds finished (any database's), rounds handed on (every one's)
        feed = SQLFeed(ctx)

        def hand_on_finished_rounds() -> None:
            nonlocal handed
            while handed < min(len(kept) for kept in by_round):
                ready = [stamp(child, self.name, "llm", requested=len(plan.targets))
                         for plan, kept in zip(plans, by_round, strict=True)
                         for child in kept[handed]]  # fmt: skip
                out.samples.extend(ready)
                hand_on(ready)
                handed += 1

        async def rounds(plan: _LLMPlan, rejects: list[Reject], kept: list[list[Sample]]) -> None:
            nonlocal finished
            for round_index in range(_LLM_ROUNDS):
                before = len(plan.kept)
                await self._llm_round([plan], round_index, ctx, rejects, feed)
                kept.append(plan.kept[before:])
                hand_on_finished_rounds()
                finished += 1
                progress.report(finished, len(plans) * _LLM_ROUNDS)

        try:
            await asyncio.gather(*(rounds(p, r, k) for p, r, k in zip(plans, per_plan, by_round,
                                                                      strict=True)))  # fmt: skip
        finally:
            await feed.aclose()
        for rejects in per_plan:
            out.rejects.extend(rejects)
        for plan in plans:
            if not plan.kept:
                out.rejects.append(
                    self.reject(plan.seed, "no usable SQL from the LLM for this database")
                )
        return out

    def _plan(self, seed: Sample, ctx: RunContext) -> _LLMPlan | None:
        schema = ctx.schema(seed.db_id, sample_values=3)
        if not schema.tables:
            return None
        rng = random.Random(f"{ctx.seed}:{self.name}:{seed.db_id}")
        quota = quotas(self.params.num_per_db, self.params.difficulty_mix)
        targets = [level for level in HARDNESS_LEVELS for _ in range(quota[level])]
        rng.shuffle(targets)
        return _LLMPlan(seed=seed, dialect=schema.dialect, ddl=to_ddl(schema, examples=3),
                        targets=targets, rng=rng)  # fmt: skip

    def format_input(
        self, plan: _LLMPlan, levels: Sequence[str]
    ) -> tuple[list[dict[str, str]], list[str]]:
        """The chat messages asking for queries at ``levels``, and the function hint of each."""
        hints = [_function_hint(plan.rng, plan.dialect, level) for level in levels]
        # A model repeats itself most at the same complexity: those kept queries first,
        # the latest first, then the others.
        same = [c for c in reversed(plan.kept) if c.meta.get("target_level") in levels]
        others = [c for c in reversed(plan.kept) if c.meta.get("target_level") not in levels]
        shown = (same + others)[: self.params.avoid_examples]
        avoid = "\n".join(f"- {child.sql}" for child in shown)
        dialect = _dialect_title(plan.dialect)
        if len(levels) == 1:
            messages = render_prompt("sql_generation", dialect=dialect, schema=plan.ddl,
                                     complexity=COMPLEXITY[levels[0]], functions=hints[0],
                                     avoid=avoid)  # fmt: skip
            return messages, hints
        wanted = "\n".join(
            f"{j}. Target complexity: {COMPLEXITY[level]}"
            + (f"; consider using: {hint}" if hint else "")
            for j, (level, hint) in enumerate(zip(levels, hints, strict=True), 1)
        )
        messages = render_prompt("sql_generation_several", dialect=dialect, schema=plan.ddl,
                                 count=str(len(levels)), wanted=wanted, avoid=avoid)  # fmt: skip
        return messages, hints

    def format_output(
        self, text: str | None, dialect: str
    ) -> tuple[str | None, str | None, dict[str, Any]]:
        """``(sql, None, {})`` for a usable answer, else ``(None, reason, meta)``."""
        parsed = parse_sql(text)
        if not parsed.ok:
            return None, f"unparsable answer: {parsed.error}", parsed.meta()
        sql = parsed.value
        try:
            check_read_only(sql, dialect)
            tree = parse_one(sql, dialect)
        except SqlfoundryError as err:
            return None, f"not a read-only query: {err.message}", {"parse_raw": parsed.raw}
        if not isinstance(tree, exp.Query):
            return (
                None,
                f"not a read-only query: {tree.key.upper()} statement",
                {"parse_raw": parsed.raw},
            )
        return sql, None, {}

    async def _llm_round(
        self,
        plans: list[_LLMPlan],
        round_index: int,
        ctx: RunContext,
        rejects: list[Reject],
        feed: SQLFeed,
    ) -> None:
        """Ask for this round's share of every database's queries, check and keep them."""
        # A request asks for up to queries_per_request wanted queries of one database;
        # requests whose prompts are the same, one request with n = how many.
        groups: dict[str, tuple[list[dict[str, str]], list[_Asked]]] = {}
        params: dict[str, Any] = {"temperature": self.params.temperature}
        if self.params.max_tokens is not None:
            params["max_tokens"] = self.params.max_tokens
        per_request = self.params.queries_per_request
        for plan in plans:
            wanted = list(_round_slice(len(plan.targets), round_index))
            for start in range(0, len(wanted), per_request):
                ks = wanted[start : start + per_request]
                levels = [plan.targets[k] for k in ks]
                messages, hints = self.format_input(plan, levels)
                key = plan.seed.db_id + "\0" + "\0".join(m["content"] for m in messages)
                asked = _Asked(plan, list(zip(ks, levels, hints, strict=True)))
                groups.setdefault(key, (messages, []))[1].append(asked)
        if not groups:
            return
        requests = [LLMRequest(messages, n=len(members), params=params)
                    for messages, members in groups.values()]  # fmt: skip
        # Each answer is parsed, and its queries started, as soon as it arrives; which
        # of two equal queries is kept is decided afterwards, in the order asked.
        members = list(groups.values())
        checks: dict[int, asyncio.Task[list[_Checked]]] = {}

        async def check(item: BatchItem) -> list[_Checked]:
            samples = members[item.index][1]
            plan = samples[0].plan
            found = [c for j, asked in enumerate(samples)
                     for c in self.check_answers(_nth(item, j), plan.dialect, len(asked.wanted))]  # fmt: skip
            feed.submit([(c.sql, plan.seed.db_id) for c in found if c.sql is not None])
            return found

        def arrived(item: BatchItem) -> None:
            checks[item.index] = asyncio.create_task(check(item))

        try:
            await run_batch(ctx.llm, requests, operator=self.name, on_item=arrived)
            await asyncio.gather(*checks.values())
        finally:
            for running in checks.values():
                running.cancel()
        kept: list[tuple[_LLMPlan, Sample]] = []
        for index, (_, samples) in enumerate(members):
            wanted = [(asked.plan, *one) for asked in samples for one in asked.wanted]
            for (plan, k, level, hint), found in zip(wanted, checks[index].result(), strict=True):
                child = Sample(id=f"{plan.seed.db_id}-{k:05d}", db_id=plan.seed.db_id,
                               meta={**copy.deepcopy(plan.seed.meta), "target_level": level,
                                     "style": {"functions": hint}})  # fmt: skip
                if found.sql is None:
                    child.meta.update(found.meta)
                    rejects.append(self.reject(child, found.reason))
                    continue
                child.sql = found.sql
                if found.key in plan.seen:
                    rejects.append(self.reject(child, "duplicate SQL: the LLM repeated a query"))
                    continue
                plan.seen.add(found.key)
                child.hardness = found.hardness
                kept.append((plan, child))
        results = await feed.run([(child.sql, child.db_id) for _, child in kept])
        for (plan, child), result in zip(kept, results, strict=True):
            if not result.ok:
                rejects.append(self.reject(child, f"execution failed: {result.error}"))
            elif not result.rows:
                rejects.append(self.reject(child, "empty result: the query returns no rows"))
            else:
                plan.kept.append(child)

    def check_answers(self, item: BatchItem, dialect: str, count: int) -> list[_Checked]:
        """The ``count`` queries one answer was asked for, in order, each checked as a
        single answer is (:meth:`check_answer`); one the answer left out is a reject."""
        if count == 1 or not item.ok:
            return [copy.deepcopy(self.check_answer(item, dialect)) for _ in range(count)]
        blocks = _sql_blocks(item.text)
        if not blocks:  # one bare query, or none: read as a single answer
            first = self.check_answer(item, dialect)
            if first.sql is None:
                return [copy.deepcopy(first) for _ in range(count)]
            blocks = [first.sql]
        found = [self._check_text(f"```sql\n{block}\n```", dialect) for block in blocks[:count]]
        reason = f"missing query: the answer holds {len(blocks)} of the {count} queries asked"
        missing = [_Checked(reason=reason, meta={"parse_raw": item.text})
                   for _ in range(count - len(found))]  # fmt: skip
        return found + missing

    def check_answer(self, item: BatchItem, dialect: str) -> _Checked:
        """One answer, checked on its own: its query, normalised key and hardness, or why
        it cannot be used."""
        if not item.ok:
            return _Checked(reason=f"llm request failed: {item.error.message}")
        return self._check_text(item.text, dialect)

    def _check_text(self, text: str | None, dialect: str) -> _Checked:
        sql, reason, meta = self.format_output(text, dialect)
        if sql is None:
            return _Checked(reason=reason or "unparsable answer", meta=meta)
        return _Checked(
            sql=sql, key=normalize(sql, dialect), hardness=spider_hardness(sql, dialect)
        )


@dataclass
class _Checked:
    """What :meth:`SQLGenerator.check_answer` found in one answer."""

    sql: str | None = None
    key: str = ""
    hardness: str | None = None
    reason: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Asked:
    """The wanted queries of one request: ``(index, level, hint)`` each, in the order asked."""

    plan: _LLMPlan
    wanted: list[tuple[int, str, str]]


@dataclass
class _LLMPlan:
    """One database's LLM requests: the level of each, and what came back so far."""

    seed: Sample
    dialect: str
    ddl: str
    targets: list[str]
    rng: random.Random
    kept: list[Sample] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


def _nth(item: BatchItem, j: int) -> BatchItem:
    """The ``j``-th sample of a request for several, as an item of its own."""
    if not item.ok or len(item.generations) == 1:
        return item
    return BatchItem(
        index=item.index, request=item.request, generations=item.generations[j : j + 1]
    )


def _sql_blocks(text: str | None) -> list[str]:
    """The ```sql blocks of an answer in order (else its untagged blocks that hold a
    query), each one wanted query."""
    return sql_blocks(strip_thinking(text or ""))


def _round_slice(total: int, round_index: int) -> range:
    """Indices of the requests sent in ``round_index`` (see ``_ROUND_ENDS``)."""
    bounds = [0] + [round(total * end) for end in _ROUND_ENDS]
    return range(bounds[round_index], bounds[round_index + 1])


def _function_hint(rng: random.Random, dialect: str, level: str) -> str:
    if level == "easy" and rng.random() < 0.5:
        return ""
    pool = list(_COMMON_HINTS) + list(_DIALECT_HINTS.get(sqlglot_dialect(dialect), ()))
    if level in ("hard", "extra"):
        pool += list(_COMPLEX_HINTS)
    return rng.choice(pool)


def _dialect_title(dialect: str) -> str:
    return {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MySQL", "duckdb": "DuckDB"}.get(
        sqlglot_dialect(dialect), dialect
    )


def _worker_count(ctx: RunContext) -> int:
    workers = getattr(ctx.executor, "workers", None)
    return int(workers) if workers is not None else (os.cpu_count() or 1)


async def _in_pool(args: list[tuple], workers: int, tick) -> list[SampleOutcome | None]:
    """``sample_database(*a)`` for each ``a`` in a fresh process pool; ``None`` for
    those the pool lost when a worker died."""
    loop = asyncio.get_running_loop()
    method = _start_method()
    initializer = initargs = None
    if method == "fork":
        initializer, initargs = die_with_parent, (os.getpid(),)
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=initializer,
        initargs=initargs or (),
    ) as pool:
        futures = [loop.run_in_executor(pool, sample_database, *a) for a in args]
        for future in futures:
            future.add_done_callback(tick)
        results = await asyncio.gather(*futures, return_exceptions=True)
    out: list[SampleOutcome | None] = []
    for result in results:
        if isinstance(result, BrokenProcessPool):
            out.append(None)
        elif isinstance(result, BaseException):
            raise result
        else:
            out.append(result)
    return out


def _start_method() -> str:
    # fork starts a worker in milliseconds with sqlglot already imported.
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
