"""DepthEvolver: harder questions, with new SQL, from question/SQL pairs (Evol-Instruct in depth).

Each source pair gives ``count`` evolutions, each by one technique (add an
aggregation, a filter, a join, a step of reasoning, or a hypothetical); the
techniques are taken in turn, from a place set by the pair.

* LLM: the ``pair_depth_evolution`` prompt, shown the DDL with example values
  (never an empty schema), writes the harder question; its SQL comes from
  ``pair_sql``, checked on the schema, run, and repaired with the error
  (:mod:`.sql_writer`). A question the model calls unanswerable, or whose SQL
  never runs, is kept as a pair with ``success=False`` and the reason.
* offline: the query itself is made harder by the rules of :mod:`.depth_rules`,
  with values from the real rows; each candidate runs, the first that returns
  rows is kept, and the realiser words it. When a technique does not apply to
  a query the next one is tried; when every candidate fails the evolution is a
  ``success=False`` pair with the reason.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

from sqlfoundry.core.errors import ConfigError, SqlfoundryError
from sqlfoundry.llm import prompt_data, render_prompt
from sqlfoundry.sql.parse import parse_one, sqlglot_dialect
from sqlfoundry.sql.skeleton import normalize
from sqlfoundry.synth.base import Engine
from sqlfoundry.synth.producers.base import Outcome, answer_field
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.depth_rules import TECHNIQUES, Evolution, evolve, unsupported
from sqlfoundry.synth.producers.evolution import PairEvolver
from sqlfoundry.synth.producers.pair import ExtractedPair
from sqlfoundry.synth.producers.sql_writer import write_sql
from sqlfoundry.synth.producers.wording import realise, with_hypothesis
from sqlfoundry.synth.realiser import RealiseError


class DepthEvolver(PairEvolver):
    """Harder pairs from each source pair.

    Args:
        source: a producer, or a list of pairs / samples / records.
        techniques: the techniques to use (all five by default).
        count: evolutions per source pair.
        db: the databases (pairs name theirs in ``db_id``).
        max_attempts: LLM: answers per evolved question before its SQL counts as failed.
    """

    name = "depth_evolver"
    marker = "d"

    def __init__(
        self,
        source: Any,
        techniques: Sequence[str] | None = None,
        count: int = 1,
        *,
        db: PairDatabase,
        max_attempts: int = 3,
        engine: Engine = "auto",
        concurrency: int | None = None,
    ) -> None:
        super().__init__(source, db=db, engine=engine, concurrency=concurrency)
        chosen = list(techniques) if techniques else list(TECHNIQUES)
        unknown = [t for t in chosen if t not in TECHNIQUES]
        if unknown:
            raise ConfigError(
                f"unknown technique(s) {unknown}", hint=f"techniques: {', '.join(TECHNIQUES)}"
            )
        if not 1 <= count <= 20:
            raise ConfigError("count must be between 1 and 20")
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        self.techniques = list(dict.fromkeys(chosen))
        self.count = count
        self.max_attempts = max_attempts

    def config(self) -> dict[str, Any]:
        return {
            "techniques": self.techniques,
            "count": self.count,
            "max_attempts": self.max_attempts,
        }

    async def evolve(self, pair: ExtractedPair, db: PairDatabase) -> Outcome:
        """Harder pairs from ``pair``, one per planned technique."""
        plan = self.plan(pair, self.techniques, self.count)
        if self.engine == "llm":
            results = await asyncio.gather(*(self._llm(pair, db, k, t) for k, t in enumerate(plan)))
        else:
            used: list[str] = []  # the techniques taken, tried last by the next evolutions
            results = [await self._offline(pair, db, plan, k, used) for k in range(len(plan))]
        out = Outcome()
        for pairs, rejects in results:
            out.pairs += pairs
            out.rejects += rejects
        return out

    # ------------------------------------------------------------------ LLM

    async def _llm(
        self, pair: ExtractedPair, db: PairDatabase, k: int, technique: str
    ) -> tuple[list[ExtractedPair], list[dict[str, Any]]]:
        guide = prompt_data("depth_techniques")[technique]["guide"]
        messages = render_prompt("pair_depth_evolution", dialect=db.dialect_title(), schema=db.ddl(),
                                 question=pair.question, sql=pair.sql, technique=technique,
                                 technique_guide=guide)  # fmt: skip
        text, error = await self.ask(messages)
        question, problem = (None, error) if text is None else answer_field(text, "question")
        if question is None:
            reject = self.reject(f"{technique}: evolution failed: {problem}", pair=pair)
            return [], [{**reject, "raw": text} if text else reject]
        assert db.db_id is not None
        written = await write_sql(self, db, db.db_id, question, max_attempts=self.max_attempts)
        child = self.child(
            pair, k, question, written.sql, technique=technique, attempts=written.attempts
        )
        if written.rows is not None:
            child.meta["rows"] = written.rows
        return [child if written.ok else child.failed(written.error or "no SQL")], []

    # ------------------------------------------------------------------ offline

    async def _offline(
        self, pair: ExtractedPair, db: PairDatabase, plan: list[str], k: int, used: list[str]
    ) -> tuple[list[ExtractedPair], list[dict[str, Any]]]:
        schema = db.schema()
        try:
            tree = parse_one(pair.sql, schema.dialect)
        except SqlfoundryError as err:
            return [], [self.reject(f"does not parse: {err.message}", pair=pair)]
        profile = await db.profile()
        problem = unsupported(tree, profile)
        if problem is not None:
            return [], [self.reject(f"not evolved: {problem}", pair=pair)]
        first = self.techniques.index(plan[k])
        order = self.techniques[first:] + self.techniques[:first]
        order = [t for t in order if t not in used] + [t for t in order if t in used]
        taken = {normalize(pair.sql, schema.dialect)}
        reasons: list[str] = []
        fallback: tuple[str, str, str, str] | None = None  # technique, sql, question, error
        for technique in order:
            rng = random.Random(f"{db.seed}:{self.name}:{pair.id}:{k}:{technique}")
            evolution = evolve(tree, technique, profile, rng)
            if isinstance(evolution, str):
                reasons.append(f"{technique}: {evolution}")
                continue
            found = await self._first_that_runs(evolution, db, schema, taken)
            if found[0] is not None:
                sql, question, rows = found[0]
                child = self.child(pair, k, question, sql, technique=technique)
                child.meta["rows"] = rows
                used.append(technique)
                if evolution.hypothesis and evolution.wording is not None:
                    # What the question was worded from, so a paraphrase can keep the what-if.
                    wording = evolution.wording.sql(dialect=sqlglot_dialect(schema.dialect))
                    child.meta["wording"] = {"sql": wording, "hypothesis": evolution.hypothesis}
                return [child], []
            reasons.append(f"{technique}: {found[1]}")
            if fallback is None and found[2] is not None:
                fallback = (technique, *found[2])
        if fallback is not None:
            technique, sql, question, error = fallback
            child = self.child(pair, k, question, sql, technique=technique)
            return [child.failed(error)], []
        return [], [self.reject(f"no technique applies: {'; '.join(reasons)}", pair=pair)]

    async def _first_that_runs(
        self, evolution: Evolution, db: PairDatabase, schema: Any, taken: set[str]
    ) -> tuple[tuple[str, str, int] | None, str, tuple[str, str, str] | None]:
        """``((sql, question, rows), _, _)`` for the first candidate that runs with rows and
        can be worded; else ``(None, why, (sql, question, error) of a worded failure)``."""
        dialect = sqlglot_dialect(schema.dialect)
        fresh = []
        for candidate in evolution.candidates:
            sql = candidate.sql(dialect=dialect)
            key = normalize(sql, schema.dialect)
            if key not in taken:
                fresh.append((candidate, sql))
                taken.add(key)
        if not fresh:
            return None, "it gives no new query", None
        assert db.db_id is not None
        results = await db.execute([(sql, db.db_id) for _, sql in fresh])
        why, failure = "no candidate returns rows", None
        for (candidate, sql), result in zip(fresh, results, strict=True):
            try:
                question = _worded(evolution, candidate, schema, f"{db.seed}:{self.name}:{sql}")
            except RealiseError as err:
                why = f"cannot realise SQL: {err.message}"
                continue
            if result.ok and result.rows:
                return (sql, question, len(result.rows)), "", None
            error = (
                f"execution failed: {result.error}" if not result.ok else "empty result: no rows"
            )
            failure = failure or (sql, question, error)
        return None, why, failure


def _worded(evolution: Evolution, candidate: Any, schema: Any, seed: str) -> str:
    target = evolution.wording if evolution.wording is not None else candidate
    text = realise(schema, target.sql(dialect=sqlglot_dialect(schema.dialect)), seed).text
    return with_hypothesis(evolution.hypothesis, text) if evolution.hypothesis else text
