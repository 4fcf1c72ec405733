"""SchemaSynthesizer: new question/SQL pairs from a database, per persona and complexity.

For every persona (or none) and every complexity level (simple, moderate,
complex, highly complex), ``count`` pairs:

* LLM: the ``pair_questions`` prompt (DDL with example values, the persona,
  the teachings) asks for ``count`` questions; each gets its SQL from the
  ``pair_sql`` prompt, checked on the schema and run, and repaired with the
  error up to ``max_attempts`` answers (:mod:`.sql_writer`). A question whose
  SQL never ran, or that the model called unanswerable, is a pair with
  ``success=False`` and the reason in ``meta["error"]``.
* offline: the sampler draws verified SQL at the level's Spider hardness
  (simple=easy, moderate=medium, complex=hard, highly complex=extra) from the
  real data, preferring queries on the persona's tables; the realiser words
  each in one of the persona's styles. Guardrail teachings are enforced: a
  query that returns a guarded column is rejected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlfoundry.core.errors import ConfigError, SqlfoundryError
from sqlfoundry.llm import parse_json, prompt_data, render_prompt
from sqlfoundry.sql.references import referenced_tables
from sqlfoundry.synth.base import Engine
from sqlfoundry.synth.producers.base import Outcome, PairProducer
from sqlfoundry.synth.producers.checks import projected_columns
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.pair import ExtractedPair, provenance
from sqlfoundry.synth.producers.personas import Persona
from sqlfoundry.synth.producers.sql_writer import write_sql
from sqlfoundry.synth.producers.teachings import Teaching, render_teachings
from sqlfoundry.synth.producers.wording import OFFLINE_STYLES, in_style, realise
from sqlfoundry.synth.realiser import RealiseError
from sqlfoundry.synth.sampling import sample_database

COMPLEXITIES = ("simple", "moderate", "complex", "highly complex")
# The Spider hardness level the offline sampler aims at for each complexity.
LEVELS = {"simple": "easy", "moderate": "medium", "complex": "hard", "highly complex": "extra"}
_ALIASES = {"high complex": "highly complex", "highly_complex": "highly complex",
            "highly-complex": "highly complex"}  # fmt: skip
OVERSAMPLE = 3  # offline: candidates drawn per wanted pair, to prefer the persona's tables


def complexity_of(value: str) -> str:
    """A complexity level by name (``"high complex"`` and ``"highly-complex"`` work too)."""
    name = _ALIASES.get(value.strip().lower(), value.strip().lower())
    if name not in COMPLEXITIES:
        raise ConfigError(
            f"unknown complexity {value!r}", hint=f"levels: {', '.join(COMPLEXITIES)}"
        )
    return name


class SchemaSynthesizer(PairProducer):
    """Pairs synthesized from one database.

    Args:
        db: the database (``db.db_id``).
        count: pairs per persona and complexity.
        complexity: one level or a list of them.
        personas: who asks (``Persona`` objects or dicts); none: a generic user.
        teachings: notes on the database (``Teaching`` objects or dicts) for the prompts;
            offline, guardrails are enforced.
        max_attempts: LLM: answers per question before its SQL counts as failed.
    """

    name = "schema_synthesizer"

    def __init__(
        self,
        db: PairDatabase,
        count: int = 5,
        complexity: str | Sequence[str] = "moderate",
        personas: Sequence[Persona | dict[str, Any]] | None = None,
        teachings: Sequence[Teaching | dict[str, Any]] | None = None,
        *,
        max_attempts: int = 3,
        engine: Engine = "auto",
        concurrency: int | None = None,
    ) -> None:
        super().__init__(db=db, engine=engine, concurrency=concurrency)
        if not 1 <= count <= 100:
            raise ConfigError("count must be between 1 and 100")
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        levels = [complexity] if isinstance(complexity, str) else list(complexity)
        self.complexities = list(dict.fromkeys(complexity_of(c) for c in levels))
        if not self.complexities:
            raise ConfigError("give at least one complexity")
        self.count = count
        self.personas = [p if isinstance(p, Persona) else Persona(**p) for p in personas or []]
        self.teachings = [t if isinstance(t, Teaching) else Teaching(**t) for t in teachings or []]
        self.max_attempts = max_attempts

    def config(self) -> dict[str, Any]:
        return {"db_id": self.db.db_id if self.db else None, "count": self.count,
                "complexities": self.complexities, "max_attempts": self.max_attempts,
                "personas": [p.model_dump() for p in self.personas],
                "teachings": [t.model_dump() for t in self.teachings]}  # fmt: skip

    def combinations(self) -> list[tuple[int, Persona | None, str]]:
        """``(persona index, persona, complexity)`` for every persona x complexity."""
        personas: list[Persona | None] = list(self.personas) or [None]
        return [(i, p, c) for i, p in enumerate(personas) for c in self.complexities]

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        assert self.db is not None
        self.db.require_id(who=self.name)

        async def inputs() -> AsyncIterator[list[tuple[int, Persona | None, str]]]:
            yield self.combinations()

        def key(combo: tuple[int, Persona | None, str]) -> list[Any]:
            index, persona, complexity = combo
            return [index, persona.model_dump() if persona else None, complexity]

        async for chunk in self.each(inputs(), self._combination, key):
            yield chunk

    async def _combination(self, combo: tuple[int, Persona | None, str]) -> Outcome:
        if self.engine == "offline":
            return await self._offline(*combo)
        return await self._llm(*combo)

    def _label(self, index: int, persona: Persona | None, complexity: str) -> tuple[str, str]:
        """The pair id prefix and the ``source`` of one combination."""
        assert self.db is not None
        slug = complexity.replace(" ", "-")
        who = persona.role if persona else "any user"
        return f"{self.db.db_id}-p{index}-{slug}", f"{self.db.db_id}: {who}, {complexity}"

    def _pair(
        self, question: str, sql: str, prefix: str, k: int, source: str, **info: Any
    ) -> ExtractedPair:
        assert self.db is not None
        meta = {"source": source, **{k2: v for k2, v in info.items() if v is not None}}
        return ExtractedPair(question=question, sql=sql, db_id=self.db.db_id, id=f"{prefix}-{k}",
                             meta=meta)  # fmt: skip

    # ------------------------------------------------------------------ LLM

    async def _llm(self, index: int, persona: Persona | None, complexity: str) -> Outcome:
        assert self.db is not None
        out = Outcome()
        prefix, source = self._label(index, persona, complexity)
        db, teachings = self.db, render_teachings(self.teachings)
        messages = render_prompt(
            "pair_questions", dialect=db.dialect_title(), schema=db.ddl(), count=self.count,
            complexity=complexity, complexity_guide=prompt_data("pair_complexity")[complexity]["guide"],
            persona=persona.describe() if persona else "", teachings=teachings,
        )  # fmt: skip
        text, error = await self.ask(messages)
        questions, problem = (None, error) if text is None else _questions(text)
        if not questions:
            reject = self.reject(f"question generation failed: {problem}", source=source)
            out.rejects.append({**reject, "raw": text} if text else reject)
            return out
        written = await asyncio.gather(*(
            write_sql(self, db, db.db_id, q, teachings=teachings, max_attempts=self.max_attempts)
            for q in questions[: self.count]
        ))  # fmt: skip
        for k, (question, result) in enumerate(zip(questions, written, strict=False)):
            pair = self._pair(question, result.sql, prefix, k, source, complexity=complexity,
                              persona=persona.role if persona else None,
                              attempts=result.attempts, rows=result.rows)  # fmt: skip
            if not result.ok:
                pair = pair.failed(result.error or "no SQL")
            out.pairs.append(provenance(pair, self.name, "llm"))
        return out

    # ------------------------------------------------------------------ offline

    async def _offline(self, index: int, persona: Persona | None, complexity: str) -> Outcome:
        assert self.db is not None
        out = Outcome()
        db = self.db
        prefix, source = self._label(index, persona, complexity)
        level = LEVELS[complexity]
        seed = f"{db.seed}:{self.name}:{db.db_id}:{index}:{complexity}"
        timeout = getattr(db.ctx.executor, "timeout", 5.0)
        sampled = await asyncio.to_thread(sample_database, db.spec(), self.count * OVERSAMPLE, seed,
                                          {level: 1.0}, None, timeout)  # fmt: skip
        if sampled.error:
            out.rejects.append(self.reject(sampled.error, source=source))
            return out
        schema = db.schema()
        focus = {t.lower() for t in persona.tables} if persona else set()
        guarded = {r.lower() for t in self.teachings if t.kind == "guardrail" for r in t.refs}
        styles = [s for s in (persona.styles if persona else []) if s in OFFLINE_STYLES]

        def rank(query: Any) -> tuple[bool, bool]:
            touches = bool(focus & referenced_tables(query.sql, schema.dialect)) if focus else True
            return (not touches, query.hardness != level)

        for query in sorted(sampled.queries, key=rank):
            if len(out.pairs) >= self.count:
                break
            shown = sorted(projected_columns(query.sql, schema) & guarded) if guarded else []
            if shown:
                out.rejects.append(self.reject(f"guardrail: returns {', '.join(shown)}",
                                               source=source))  # fmt: skip
                continue
            k = len(out.pairs)
            try:
                question, style = _worded(schema, query.sql, styles, k, f"{seed}:{k}")
            except (RealiseError, SqlfoundryError) as err:
                out.rejects.append(self.reject(f"cannot realise SQL: {err.message}", source=source))
                continue
            pair = self._pair(question, query.sql, prefix, k, source, complexity=complexity,
                              persona=persona.role if persona else None, rows=query.rows,
                              hardness=query.hardness)  # fmt: skip
            out.pairs.append(provenance(pair, self.name, "offline", style=style))
        return out


def _worded(schema: Any, sql: str, styles: list[str], k: int, seed: str) -> tuple[str, str]:
    """The question in the k-th of the persona's styles (the realiser's own without one)."""
    if styles:
        style = styles[k % len(styles)]
        text = in_style(schema, sql, style, seed)
        if text is not None:
            return text, style
    result = realise(schema, sql, seed)
    return result.text, result.style


def _questions(text: str) -> tuple[list[str], str | None]:
    """The distinct questions of a ``{"questions": [...]}`` answer (a bare list works too)."""
    parsed = parse_json(text, expect=(dict, list))
    if not parsed.ok:
        return [], f"unparsable answer: {parsed.error}"
    items = parsed.value.get("questions") if isinstance(parsed.value, dict) else parsed.value
    if not isinstance(items, list):
        return [], "the answer has no 'questions' list"
    questions = [" ".join(q.split()) for q in items if isinstance(q, str) and q.strip()]
    if not questions:
        return [], "the answer lists no question"
    return list(dict.fromkeys(questions)), None
