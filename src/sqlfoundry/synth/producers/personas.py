"""PersonaGenerator: who asks questions of a database, and how they talk.

A :class:`Persona` has a role, a perspective (what they care about), one to
three communication styles from the question styles (formal, colloquial,
imperative, ...) and the tables their questions touch. Personas steer the
schema synthesizer (which questions) and the breadth evolver (how they are
worded).

* offline: derived from the data profile, each persona grounded in real
  tables: an analyst of the table with the most measures, an operations lead
  for a table with status or category columns, a manager across the most
  linked tables, a data steward for keys and missing values, a newcomer after
  headline numbers; styles are those the offline wording can do;
* LLM: the ``persona_generation`` prompt with the DDL; unknown styles and
  tables are dropped from an answer, malformed personas are rejects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sqlfoundry.llm import QUESTION_STYLES, parse_json, question_style, render_prompt
from sqlfoundry.synth.base import Engine
from sqlfoundry.synth.naming import entities, humanize
from sqlfoundry.synth.producers.base import EngineUser
from sqlfoundry.synth.producers.database import PairDatabase


class Persona(BaseModel):
    """A kind of person who queries the database."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1)
    perspective: str = Field(min_length=1)
    styles: list[str] = Field(min_length=1, max_length=3)
    tables: list[str] = Field(default_factory=list)

    @field_validator("styles")
    @classmethod
    def _known_styles(cls, styles: list[str]) -> list[str]:
        unknown = [s for s in styles if s not in QUESTION_STYLES]
        if unknown:
            raise ValueError(f"unknown style(s) {unknown}; styles: {', '.join(QUESTION_STYLES)}")
        return list(dict.fromkeys(styles))

    def describe(self) -> str:
        """The persona as prompts show it."""
        styles = "; ".join(f"{s} ({question_style(s)['description']})" for s in self.styles)
        lines = [f"Role: {self.role}", f"What they care about: {self.perspective}",
                 f"How they write: {styles}"]  # fmt: skip
        if self.tables:
            lines.append(f"Tables their questions touch: {', '.join(self.tables)}")
        return "\n".join(lines)


class PersonaGenerator(EngineUser):
    """Personas for one database.

    Args:
        db: the database (``db.db_id``).
        count: personas wanted (1-20).
    """

    name = "persona_generator"

    def __init__(self, db: PairDatabase, count: int = 5, *, engine: Engine = "auto") -> None:
        super().__init__(db=db, engine=engine)
        if not 1 <= count <= 20:
            raise ValueError("count must be between 1 and 20")
        self.count = count

    async def generate(self) -> list[Persona]:
        """The personas; on an unusable answer, fewer (the problems are in ``rejects``)."""
        self.require_engine()
        assert self.db is not None
        db_id = self.db.require_id(who=self.name)
        if self.engine == "offline":
            personas = await self._offline(db_id)
        else:
            personas = await self._llm(db_id)
        self.stats["personas"] = len(personas)
        return personas

    # ------------------------------------------------------------------ LLM

    async def _llm(self, db_id: str) -> list[Persona]:
        assert self.db is not None
        db = self.db.using(db_id)
        styles = "\n".join(f"  - {s}: {question_style(s)['description']}" for s in QUESTION_STYLES)
        messages = render_prompt("persona_generation", dialect=db.dialect_title(),
                                 schema=db.ddl(), count=self.count, styles=styles)  # fmt: skip
        text, error = await self.ask(messages)
        if text is None:
            self.drop(error or "no answer", source=db_id)
            return []
        parsed = parse_json(text, expect=dict)
        items = parsed.value.get("personas") if parsed.ok else None
        if not isinstance(items, list):
            reason = parsed.error if not parsed.ok else "the answer has no 'personas' list"
            self.rejects.append({**self.reject(f"unparsable answer: {reason}", source=db_id),
                                 "raw": text})  # fmt: skip
            self.stats["rejected"] += 1
            return []
        tables = {t.lower(): t for t in db.schema().table_names}
        out: list[Persona] = []
        for i, item in enumerate(items):
            persona = _persona_of(item, tables)
            if isinstance(persona, str):
                self.drop(f"persona {i}: {persona}", source=db_id)
            elif len(out) < self.count:
                out.append(persona)
        return out

    # ------------------------------------------------------------------ offline

    async def _offline(self, db_id: str) -> list[Persona]:
        assert self.db is not None
        profile = await self.db.profile(db_id)
        tables = list(profile.tables.values())
        if not tables:
            self.drop("no usable tables: every table is empty", source=db_id)
            return []
        makers: list[Callable[[Any, Any, int], Persona | None]] = [
            _analyst,
            _operations,
            _manager,
            _steward,
            _newcomer,
        ]
        out: list[Persona] = []
        seen: set[tuple[str, ...]] = set()
        for round_ in range(len(tables)):
            for make in makers:
                if len(out) >= self.count:
                    return out
                persona = make(profile, tables, round_)
                if persona is not None and (persona.role, *persona.tables) not in seen:
                    seen.add((persona.role, *persona.tables))
                    out.append(persona)
        return out


def _persona_of(item: Any, tables: dict[str, str]) -> Persona | str:
    """A persona from one answer entry, or why it cannot be one."""
    if not isinstance(item, dict):
        return "not a JSON object"
    styles = [s for s in item.get("styles") or [] if isinstance(s, str) and s in QUESTION_STYLES]
    named = [t for t in item.get("tables") or [] if isinstance(t, str)]
    try:
        return Persona(role=str(item.get("role") or "").strip(),
                       perspective=str(item.get("perspective") or "").strip(),
                       styles=styles[:3], tables=[tables[t.lower()] for t in named
                                                  if t.lower() in tables])  # fmt: skip
    except ValidationError as err:
        first = err.errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"


def _ranked(tables: list[Any], score: Callable[[Any], float], round_: int) -> Any | None:
    """The table at rank ``round_`` by ``score`` (only tables scoring above 0)."""
    scored = sorted((t for t in tables if score(t) > 0), key=lambda t: (-score(t), t.name))
    return scored[round_] if round_ < len(scored) else None


def _names(columns: list[Any], limit: int = 3) -> str:
    words = [humanize(c.name) for c in columns[:limit]]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _analyst(profile: Any, tables: list[Any], round_: int) -> Persona | None:
    table = _ranked(tables, lambda t: len(t.of_role("measure")), round_)
    if table is None:
        return None
    measures, groups = table.of_role("measure"), [c for c in table.columns if c.groupable]
    dates = table.of_role("date")
    focus = f"the {_names(measures)} of {entities(table.name)}"
    detail = f", compared across {_names(groups, 2)}" if groups else ""
    when = f" and over time (by {_names(dates, 1)})" if dates else ""
    return Persona(
        role=f"Analyst for {entities(table.name)}",
        perspective=f"Follows {focus}{detail}{when}. Wants totals, averages and rankings "
        "rather than single rows, and exact figures.",
        styles=["formal", "interrogative"], tables=[table.name],
    )  # fmt: skip


def _operations(profile: Any, tables: list[Any], round_: int) -> Persona | None:
    table = _ranked(
        tables, lambda t: len(t.of_role("category")) + len(t.of_role("boolean")), round_
    )
    if table is None:
        return None
    codes = table.of_role("category") + table.of_role("boolean")
    labels = table.labels
    return Persona(
        role=f"Operations lead for {entities(table.name)}",
        perspective=f"Looks up individual {entities(table.name)} by {_names(labels, 2)} and "
        f"checks their {_names(codes, 2)}; needs quick, exact lists to act on today.",
        styles=["imperative", "concise"], tables=[table.name],
    )  # fmt: skip


def _manager(profile: Any, tables: list[Any], round_: int) -> Persona | None:
    table = _ranked(tables, lambda t: len(profile.links_of(t.name)), round_)
    if table is None:
        return None
    related = sorted({other for _, other in profile.links_of(table.name)})
    return Persona(
        role=f"Manager overseeing {entities(table.name)}",
        perspective=f"Asks how {entities(table.name)} relate to "
        f"{', '.join(entities(t) for t in related[:3])}: who or what is involved, how many of "
        "each, which stand out. Prefers short answers over detail.",
        styles=["colloquial", "conversational"], tables=[table.name, *related[:3]],
    )  # fmt: skip


def _steward(profile: Any, tables: list[Any], round_: int) -> Persona | None:
    table = _ranked(tables, lambda t: sum(c.has_nulls for c in t.columns), round_)
    if table is None:
        return None
    gaps = [c for c in table.columns if c.has_nulls]
    return Persona(
        role=f"Data steward for {entities(table.name)}",
        perspective=f"Checks the completeness of {entities(table.name)}: which rows lack "
        f"{_names(gaps, 2)}, and whether every record links to what it should. Wants precise, "
        "reproducible answers.",
        styles=["formal", "descriptive"], tables=[table.name],
    )  # fmt: skip


def _newcomer(profile: Any, tables: list[Any], round_: int) -> Persona | None:
    table = _ranked(tables, lambda t: t.row_count, round_)
    if table is None:
        return None
    return Persona(
        role=f"New team member learning about {entities(table.name)}",
        perspective=f"Wants the headline numbers about {entities(table.name)}: how many there "
        "are, the most common kinds, the largest and the latest. Asks plainly, one thing at a time.",
        styles=["colloquial", "interrogative"], tables=[table.name],
    )  # fmt: skip
