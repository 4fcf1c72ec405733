"""TeachingsGenerator: short, grounded notes that help write correct SQL for one database.

A :class:`Teaching` is one fragment of a kind (term, hint, guardrail, example,
clarification, quirk, style guide) with the ``table.column`` references it is
about. The schema synthesizer puts them in its prompts, and
:func:`render_teachings` gives the text a method's prompt can carry as
external knowledge.

* offline: from the data profile and the schema: guardrails for personal
  columns (email, phone, licence numbers, salaries...), hints listing the
  exact values of status and other code columns, clarifications for column
  names several tables share, quirks of dates stored as text and of 0/1
  flags, the join paths, and examples from the given pairs;
* LLM: the ``teachings_generation`` prompt, shown the DDL, those profile facts
  and the pairs; a teaching whose references are not in the schema is dropped
  (a reject), and fewer than three are topped up from the offline ones.

Between 3 and 10 teachings come out, the most useful first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sqlfoundry.llm import parse_json, render_prompt
from sqlfoundry.synth.base import Engine
from sqlfoundry.synth.naming import entities, humanize, words
from sqlfoundry.synth.producers.base import EngineUser, as_pair
from sqlfoundry.synth.producers.database import PairDatabase

Kind = Literal["term", "hint", "guardrail", "example", "clarification", "quirk", "style_guide"]
KINDS: tuple[str, ...] = ("term", "hint", "guardrail", "example", "clarification", "quirk",
                          "style_guide")  # fmt: skip
KIND_GUIDE = {
    "guardrail": "a rule about what must not be returned or done, and why",
    "hint": "how to filter or join correctly: exact values of a code column, a join path",
    "clarification": "a name or measure a question could mean in several ways, and how to settle it",
    "quirk": "a trap in how the data is stored (dates as text, 0/1 flags, NULL meaning)",
    "term": "what a domain word means in terms of this schema",
    "example": "a question and the SQL that answers it",
    "style_guide": "how queries on this database should be written",
}
MIN_TEACHINGS, MAX_TEACHINGS = 3, 10

# Words in a column name that mark personal or sensitive data.
_SENSITIVE = {
    "email", "mail", "phone", "mobile", "telephone", "ssn", "passport", "license", "licence",
    "salary", "wage", "iban", "card", "password", "address", "birth", "dob", "insurance",
    "diagnosis", "blood",
}  # fmt: skip
# Words that mark a status or type column, whose codes matter most.
_CODE_WORDS = {"status", "state", "type", "kind", "class", "category", "method", "level", "tier",
               "mode", "stage"}  # fmt: skip
_MAX_CODES = 12


class Teaching(BaseModel):
    """One teaching fragment: its kind, its text and the schema items it is about."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    text: str = Field(min_length=1)
    refs: list[str] = Field(default_factory=list)

    def render(self) -> str:
        """The teaching as one prompt line: ``- kind: text``."""
        return f"- {self.kind.replace('_', ' ')}: {self.text}"


def render_teachings(teachings: Sequence[Teaching | dict[str, Any]]) -> str:
    """The teachings as prompt text, one line each (empty for none)."""
    items = [t if isinstance(t, Teaching) else Teaching(**t) for t in teachings]
    return "\n".join(t.render() for t in items)


class TeachingsGenerator(EngineUser):
    """Teachings for one database.

    Args:
        db: the database (``db.db_id``).
        pairs: question/SQL pairs on it (a producer's output, samples or records),
            used as examples.
    """

    name = "teachings_generator"

    def __init__(
        self, db: PairDatabase, pairs: Sequence[Any] = (), *, engine: Engine = "auto"
    ) -> None:
        super().__init__(db=db, engine=engine)
        self.pairs = [as_pair(p) for p in pairs]

    async def generate(self) -> list[Teaching]:
        """3-10 teachings, most useful first (fewer only when the schema has little to say)."""
        self.require_engine()
        assert self.db is not None
        db_id = self.db.require_id(who=self.name)
        derived = await self._derived(db_id)
        if self.engine == "offline":
            teachings = derived[:MAX_TEACHINGS]
        else:
            teachings = await self._llm(db_id, derived)
        self.stats["teachings"] = len(teachings)
        return teachings

    # ------------------------------------------------------------------ offline

    async def _derived(self, db_id: str) -> list[Teaching]:
        """Every teaching the profile supports, in priority order."""
        assert self.db is not None
        db = self.db.using(db_id)
        profile = await db.profile()
        schema = db.schema()
        ranked: list[tuple[int, Teaching]] = []
        ranked += [(0, t) for t in _guardrails(profile)]
        ranked += [(1, t) for t in _code_hints(profile)]
        ranked += [(2, t) for t in _clarifications(profile)]
        ranked += [(3, t) for t in _quirks(profile, schema.dialect)]
        ranked += [(4, t) for t in _examples(self.pairs, db_id)]
        ranked += [(5, t) for t in _terms(schema)]
        ranked += [(6, t) for t in _join_paths(profile)]
        return _spread(ranked)

    # ------------------------------------------------------------------ LLM

    async def _llm(self, db_id: str, derived: list[Teaching]) -> list[Teaching]:
        assert self.db is not None
        db = self.db.using(db_id)
        examples = "\n".join(
            f"Q: {p.question}\nSQL: {p.sql}" for p in _usable(self.pairs, db_id)[:5]
        )
        kinds = "\n".join(f"- {k}: {KIND_GUIDE[k]}" for k in KINDS)
        messages = render_prompt("teachings_generation", dialect=db.dialect_title(), schema=db.ddl(),
                                 facts=render_teachings(derived), examples=examples, kinds=kinds)  # fmt: skip
        text, error = await self.ask(messages)
        items: list[Any] = []
        if text is None:
            self.drop(error or "no answer", source=db_id)
        else:
            parsed = parse_json(text, expect=dict)
            found = parsed.value.get("teachings") if parsed.ok else None
            if isinstance(found, list):
                items = found
            else:
                reason = parsed.error if not parsed.ok else "the answer has no 'teachings' list"
                self.rejects.append({**self.reject(f"unparsable answer: {reason}", source=db_id),
                                     "raw": text})  # fmt: skip
                self.stats["rejected"] += 1
        known = _schema_refs(db.schema())
        out: list[Teaching] = []
        for i, item in enumerate(items):
            teaching = _teaching_of(item, known)
            if isinstance(teaching, str):
                self.drop(f"teaching {i}: {teaching}", source=db_id)
            elif len(out) < MAX_TEACHINGS:
                out.append(teaching)
        if len(out) < MIN_TEACHINGS:
            texts = {t.text for t in out}
            out += [t for t in derived if t.text not in texts][: MIN_TEACHINGS - len(out)]
        return out


def _spread(ranked: list[tuple[int, Teaching]]) -> list[Teaching]:
    """Priority order, but the best of every kind of fact before the second of any."""
    firsts: dict[int, int] = {}
    for position, (priority, _) in enumerate(ranked):
        firsts.setdefault(priority, position)
    lead = sorted(firsts.values())
    rest = [i for i in range(len(ranked)) if i not in firsts.values()]
    order = sorted(lead, key=lambda i: ranked[i][0]) + sorted(rest, key=lambda i: (ranked[i][0], i))
    return [ranked[i][1] for i in order]


def _teaching_of(item: Any, known: dict[str, str]) -> Teaching | str:
    """A grounded teaching from one answer entry, or why it is not one."""
    if not isinstance(item, dict):
        return "not a JSON object"
    kind = str(item.get("kind") or "").strip().lower().replace(" ", "_").replace("-", "_")
    kind = {"styleguide": "style_guide", "guard": "guardrail"}.get(kind, kind)
    refs = [str(r).strip() for r in item.get("refs") or [] if str(r).strip()]
    unknown = [r for r in refs if r.lower() not in known]
    if unknown:
        return f"not in the schema: {', '.join(unknown)}"
    text = str(item.get("text") or "").strip()
    if not refs and not any(w in known for w in words(text)):
        return "names nothing in the schema"
    try:
        return Teaching(kind=kind, text=text, refs=[known[r.lower()] for r in refs])  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"


def _schema_refs(schema: Any) -> dict[str, str]:
    """Lower-cased ``table``, ``table.column`` and bare column names -> their spelling."""
    known: dict[str, str] = {}
    for table in schema.tables:
        known[table.name.lower()] = table.name
        for column in table.columns:
            known[f"{table.name}.{column.name}".lower()] = f"{table.name}.{column.name}"
            known.setdefault(column.name.lower(), column.name)
    return known


def _ref(column: Any) -> str:
    return f"{column.table}.{column.name}"


def _list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _guardrails(profile: Any) -> list[Teaching]:
    out = []
    for table in profile.tables.values():
        sensitive = [c for c in table.columns if _SENSITIVE & set(words(c.name))]
        if not sensitive:
            continue
        names = [_ref(c) for c in sensitive]
        out.append(Teaching(
            kind="guardrail",
            text=f"{_list(names)} {'hold' if len(names) > 1 else 'holds'} personal or sensitive "
            f"data: return {(it := 'them' if len(names) > 1 else 'it')} only when the question "
            f"asks for {it} by name, never for all {entities(table.name)} at once.",
            refs=names,
        ))  # fmt: skip
    return sorted(out, key=lambda t: -len(t.refs))


def _code_hints(profile: Any) -> list[Teaching]:
    found = []
    for table in profile.tables.values():
        for column in table.of_role("category"):
            if not column.values or not 2 <= column.distinct <= _MAX_CODES:
                continue
            if not all(isinstance(v, str) for v in column.values):
                continue
            coded = bool(_CODE_WORDS & set(words(column.name)))
            values = ", ".join(f"'{v}'" for v in sorted(column.values))
            case = _case(column.values)
            found.append((not coded, column.distinct, Teaching(
                kind="hint",
                text=f"{_ref(column)} takes the values {values}{case}; filter with these exact "
                "strings.",
                refs=[_ref(column)],
            )))  # fmt: skip
    found.sort(key=lambda item: (item[0], item[1]))
    return [t for *_, t in found[:6]]


def _case(values: Sequence[str]) -> str:
    letters = [v for v in values if any(ch.isalpha() for ch in v)]
    if letters and all(v == v.lower() for v in letters):
        return " (all lower case)"
    if letters and all(v == v.upper() for v in letters):
        return " (all upper case)"
    return ""


def _clarifications(profile: Any) -> list[Teaching]:
    owners: dict[str, list[Any]] = defaultdict(list)
    for table in profile.tables.values():
        for column in table.columns:
            if column.role not in ("key", "other"):
                owners[column.name.lower()].append(column)
    out = []
    for name, columns in sorted(owners.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(columns) < 2:
            continue
        refs = [_ref(c) for c in columns]
        readings = [f"the {humanize(c.name)} of {entities(c.table)}" for c in columns]
        out.append(Teaching(
            kind="clarification",
            text=f"\"{humanize(name)}\" could mean {_list(readings)}; take the one of the "
            "entity the question is about, and ask when it names none.",
            refs=refs,
        ))  # fmt: skip
    return out[:3]


def _quirks(profile: Any, dialect: str) -> list[Teaching]:
    out = []
    text_dates = [
        c for t in profile.tables.values() for c in t.of_role("date")
        if c.values and isinstance(c.values[0], str)
    ]  # fmt: skip
    if text_dates:
        shapes = sorted({_date_shape(str(c.values[0])) for c in text_dates})
        how = "strftime('%Y', ...) and strftime('%m', ...)" if dialect == "sqlite" else (
            "the date functions of the database")  # fmt: skip
        refs = [_ref(c) for c in text_dates]
        shown = _list(refs[:4]) + (" and others" if len(refs) > 4 else "")
        out.append(Teaching(
            kind="quirk",
            text=f"{shown} are dates stored as text ({' or '.join(shapes)}): compare them with "
            f"strings of that form, and take years or months with {how}.",
            refs=refs,
        ))  # fmt: skip
    flags = [c for t in profile.tables.values() for c in t.of_role("boolean") if c.numeric]
    if flags:
        refs = [_ref(c) for c in flags]
        out.append(Teaching(kind="quirk",
                            text=f"{_list(refs)} store 1 for yes and 0 for no.", refs=refs))  # fmt: skip
    return out


def _date_shape(value: str) -> str:
    shape = "".join("9" if ch.isdigit() else ch for ch in value)
    return {"9999-99-99": "'YYYY-MM-DD'", "9999-99-99 99:99:99": "'YYYY-MM-DD HH:MM:SS'",
            "9999-99-99T99:99:99": "'YYYY-MM-DDTHH:MM:SS'", "9999-99-99 99:99": "'YYYY-MM-DD HH:MM'",
            "9999": "'YYYY'"}.get(shape, f"like '{value}'")  # fmt: skip


def _usable(pairs: Sequence[Any], db_id: str) -> list[Any]:
    return [p for p in pairs if p.success and p.sql and (p.db_id in (None, db_id))]


def _examples(pairs: Sequence[Any], db_id: str) -> list[Teaching]:
    return [
        Teaching(kind="example", text=f'"{p.question}" is answered by: {p.sql}')
        for p in _usable(pairs, db_id)[:2]
    ]


def _terms(schema: Any) -> list[Teaching]:
    out = []
    for table in schema.tables:
        for column in table.columns:
            meaning = column.value_description or column.description
            if meaning:
                name = column.readable_name or humanize(column.name)
                out.append(Teaching(kind="term", text=f"\"{name}\" is {table.name}.{column.name}: "
                                    f"{meaning}", refs=[f"{table.name}.{column.name}"]))  # fmt: skip
    return out[:3]


def _join_paths(profile: Any) -> list[Teaching]:
    if not profile.links:
        return []
    paths = [
        f"{link.child}.{link.child_columns[0]} -> {link.parent}.{link.parent_columns[0]}"
        for link in profile.links[:8]
    ]
    refs = sorted({f"{link.child}.{link.child_columns[0]}" for link in profile.links[:8]})
    return [Teaching(kind="hint", text=f"Join along the foreign keys: {'; '.join(paths)}.",
                     refs=refs)]  # fmt: skip
