"""Values in a question, and putting them into retrieved SQL in place of its literals.

A retrieved query was written for another question, so its constants are that
question's (``Country = 'France'``). This module finds the values the new
question names and swaps them in:

- :class:`ValueIndex` holds the distinct short text values of a database's text
  columns, keyed by a normalised form (lower case, punctuation as spaces), so
  "How many singers from the netherlands?" finds ``singer.Country = 'Netherlands'``
  with the database's own spelling;
- :func:`find_values` reads a question's quoted strings, database values and
  numbers, each with its place in the question;
- :func:`literal_slots` lists the literals of a query that stand for values,
  with the column each is compared with;
- :func:`assign` matches slots and question values, preferring a value found in
  the slot's own column, then one of the slot's type, in question order;
- :func:`substitute` rewrites the SQL tree and says what it replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.sql.literals import in_value_position, quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_one, sqlglot_dialect
from sqlfoundry.synth.naming import singular

# Values longer than this are free text (reviews, descriptions), not things people name.
MAX_VALUE_CHARS = 60
MAX_VALUE_WORDS = 8
# Distinct values read per column: enough for names, cities, codes; bounded for big tables.
VALUES_PER_COLUMN = 5000

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
# "...", “...”, ``...'' and '...' (an apostrophe inside a word is not a quote).
_QUOTED = re.compile(
    r'"([^"\n]{1,80})"|“([^”\n]{1,80})”|``\s*([^`\n]{1,80}?)\s*\'\'|`([^`\n]{1,80})`'
    r"|(?<![\w'])'([^'\n]{1,80})'(?![\w])"
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "hundred": 100,
    "once": 1, "twice": 2, "single": 1,
}  # fmt: skip
# Words that are database values somewhere but almost never mean one in a question.
VALUE_STOP_WORDS = frozenset(
    """a an the of in on at to for from by with and or not no is are was were be been
    what which who whom whose where when how many much show list find give return tell me
    all each every any some that this these those their its his her there have has had do
    does did than more less most least number count name names id ids order ordered sorted
    by per other others also both either same different distinct total average sum""".split()
)


def normalise(text: str) -> str:
    """The matching key of a value or a span of a question: lower-case words, one space apart."""
    return " ".join(_WORD.findall(text.lower()))


# --------------------------------------------------------------------------- the value index


@dataclass(frozen=True)
class DbValue:
    """One distinct value of one column; ``table`` and ``column`` as the schema spells them."""

    table: str
    column: str
    value: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.table.lower(), self.column.lower())


class ValueIndex:
    """The database's short text values by normalised text (see the module doc)."""

    def __init__(self, entries: dict[str, list[DbValue]]) -> None:
        self.entries = entries
        self.max_words = max((k.count(" ") + 1 for k in entries), default=0)

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, key: str) -> list[DbValue]:
        return self.entries.get(key, [])

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, Any]]) -> ValueIndex:
        """Build from ``(table, column, value)``; non-text, long and empty values are skipped."""
        entries: dict[str, list[DbValue]] = {}
        seen: set[tuple[str, str, str]] = set()
        for table, column, value in rows:
            if not isinstance(value, str):
                continue
            text = value.strip()
            if not text or len(text) > MAX_VALUE_CHARS:
                continue
            key = normalise(text)
            if not key or key.count(" ") >= MAX_VALUE_WORDS or (table, column, key) in seen:
                continue
            seen.add((table, column, key))
            entries.setdefault(key, []).append(DbValue(table, column, value))
        return cls(entries)

    @classmethod
    def build(cls, database: Any, schema: Schema, per_column: int = VALUES_PER_COLUMN) -> ValueIndex:
        """Read the distinct values of every text-like column of an open database.

        Args:
            database: an open ``sqlfoundry.db.base.Database`` (its ``query`` runs read-only).
            schema: its schema (with a few sample values, used to spot text columns).
            per_column: at most this many distinct values per column.
        """
        dialect = sqlglot_dialect(schema.dialect)
        rows: list[tuple[str, str, Any]] = []
        for table in schema.tables:
            for column in table.columns:
                if not _may_hold_text(column.type, column.samples):
                    continue
                query = (
                    exp.select(exp.column(column.name, quoted=True))
                    .distinct()
                    .from_(exp.table_(table.name, quoted=True))
                    .where(exp.column(column.name, quoted=True).is_(exp.null()).not_())
                    .limit(per_column)
                    .sql(dialect=dialect)
                )
                try:
                    found = database.query(query, timeout=10.0)
                except Exception:  # noqa: BLE001 - one unreadable column leaves the others
                    continue
                rows.extend((table.name, column.name, r[0]) for r in found)
        return cls.from_rows(rows)

    def to_rows(self) -> list[list[str]]:
        return [[v.table, v.column, v.value] for vs in self.entries.values() for v in vs]


def _may_hold_text(declared: str, samples: Sequence[Any]) -> bool:
    low = (declared or "").lower()
    if any(t in low for t in ("char", "text", "clob", "string", "varchar")):
        return True
    if any(t in low for t in ("int", "real", "float", "double", "num", "dec", "bool", "blob")):
        return False
    # Untyped SQLite columns (and DATE/TIME ones) hold whatever was stored.
    return any(isinstance(s, str) for s in samples)


# --------------------------------------------------------------------------- question values


@dataclass(frozen=True)
class QuestionValue:
    """A value a question names.

    Attributes:
        text: the literal to write (the database's spelling for a database value).
        kind: ``db`` (found in the database), ``quoted`` (in quotes, not found) or ``number``.
        start, end: character span in the question.
        columns: lower-cased ``(table, column)`` holding the value (database values).
        confidence: how sure the reading is: a lower-case common word found as a value
            is less likely to mean it than a capitalised name or a quoted string.
    """

    text: str
    kind: str
    start: int
    end: int
    columns: frozenset[tuple[str, str]] = frozenset()
    confidence: float = 1.0

    @property
    def is_number(self) -> bool:
        return self.kind == "number"


def find_values(question: str, index: ValueIndex | None = None) -> list[QuestionValue]:
    """The values ``question`` names, in question order (see :class:`QuestionValue`)."""
    found: list[QuestionValue] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for match in _QUOTED.finditer(question):
        group = next(g for g in range(1, 6) if match.group(g) is not None)
        text = match.group(group).strip()
        if not text:
            continue
        start, end = match.span()
        hits = index.lookup(normalise(text)) if index is not None else []
        exact = [h for h in hits if h.value.strip().lower() == text.lower()]
        if exact:
            found.append(QuestionValue(exact[0].value, "db", start, end,
                                       frozenset(h.key for h in exact)))  # fmt: skip
        elif _NUMBER.fullmatch(text):
            found.append(QuestionValue(text, "number", start, end))
        else:
            found.append(QuestionValue(text, "quoted", start, end,
                                       frozenset(h.key for h in hits)))  # fmt: skip
        taken.append((start, end))
    if index is not None and len(index):
        for value in _database_values(question, index, free):
            found.append(value)
            taken.append((value.start, value.end))
    for match in _NUMBER.finditer(question):
        if free(*match.span()):
            found.append(QuestionValue(match.group(), "number", *match.span()))
            taken.append(match.span())
    for match in _WORD.finditer(question):
        word = match.group().lower()
        if word in _NUMBER_WORDS and free(*match.span()):
            found.append(QuestionValue(str(_NUMBER_WORDS[word]), "number", *match.span(),
                                       confidence=0.5))  # fmt: skip
    found.sort(key=lambda v: v.start)
    return found


def _database_values(question: str, index: ValueIndex, free) -> list[QuestionValue]:
    """Longest spans of question words that are database values, left to right."""
    words = list(_WORD.finditer(question))
    out: list[QuestionValue] = []
    i = 0
    longest = min(index.max_words, MAX_VALUE_WORDS)
    while i < len(words):
        hit = None
        for n in range(min(longest, len(words) - i), 0, -1):
            span = words[i : i + n]
            start, end = span[0].start(), span[-1].end()
            if not free(start, end):
                continue
            lowered = [w.group().lower() for w in span]
            if n == 1 and (lowered[0] in VALUE_STOP_WORDS or len(lowered[0]) < 2
                           or lowered[0].isdigit()):  # fmt: skip
                continue
            if all(w in VALUE_STOP_WORDS for w in lowered):
                continue
            key = " ".join(lowered)
            values = index.lookup(key)
            if not values and len(lowered[-1]) > 3:  # "dogs" names the value "dog"
                values = index.lookup(" ".join(lowered[:-1] + [singular(lowered[-1])]))
            if values:
                hit = (n, start, end, values, span)
                break
        if hit is None:
            i += 1
            continue
        n, start, end, values, span = hit
        text = question[start:end]
        # The value as the question writes it, else the most common spelling.
        exact = [v for v in values if v.value == text]
        chosen = exact[0] if exact else values[0]
        capitalised = any(w.group()[0].isupper() for w in span) and start > 0
        confidence = 1.0 if (n > 1 or capitalised or exact) else 0.6
        out.append(QuestionValue(chosen.value, "db", start, end,
                                 frozenset(v.key for v in values), confidence))  # fmt: skip
        i += n
    return out


# --------------------------------------------------------------------------- slots in SQL


@dataclass(frozen=True)
class Slot:
    """A literal of a query that stands for a value.

    Attributes:
        table, column: lower-cased column it is compared with ("" when it is compared with
            an aggregate or an expression).
        kind: ``text`` or ``number`` (the literal's own type); ``limit`` for a LIMIT count.
        like: the literal is a LIKE pattern (its ``%`` are kept around the new value).
        value: the literal's value.
    """

    table: str
    column: str
    kind: str
    like: bool = False
    value: str = ""

    def to_list(self) -> list[Any]:
        return [self.table, self.column, self.kind, self.like, self.value]

    @classmethod
    def from_list(cls, data: Sequence[Any]) -> Slot:
        return cls(str(data[0]), str(data[1]), str(data[2]), bool(data[3]), str(data[4]))


@dataclass
class _Located:
    slot: Slot
    node: exp.Expression


def literal_slots(tree: exp.Expression, schema: Schema | None = None) -> list[Slot]:
    """The value literals of ``tree`` in query order; see :class:`Slot`."""
    return [located.slot for located in _locate(tree, schema)]


def _locate(tree: exp.Expression, schema: Schema | None) -> list[_Located]:
    columns = column_sets(schema)
    out = []
    for node in tree.walk():
        if isinstance(node, exp.Literal):
            if isinstance(node.parent, exp.Limit) and node.arg_key == "expression":
                if node.is_int and int(node.this) > 1:
                    out.append(_Located(Slot("", "", "limit", value=node.this), node))
                continue
            target = node.parent if isinstance(node.parent, exp.Neg) else node
            if not in_value_position(target):
                continue
            parent = target.parent
            table, column = resolve_column(parent.this, columns)
            kind = "text" if node.is_string else "number"
            like = isinstance(parent, (exp.Like, exp.ILike))
            value = node.this if not isinstance(target, exp.Neg) else f"-{node.this}"
            out.append(_Located(Slot(table, column, kind, like, value), target))
    return out


def column_sets(schema: Schema | None) -> dict[str, set[str]]:
    """Lower-cased ``{table: {column, ...}}`` of a schema."""
    if schema is None:
        return {}
    return {t.name.lower(): {c.name.lower() for c in t.columns} for t in schema.tables}


def resolve_column(node: exp.Expression | None, columns: dict[str, set[str]]) -> tuple[str, str]:
    """The lower-cased ``(table, column)`` a column reference reads, aliases resolved in
    its own SELECT; ``("", "")`` when ``node`` is not a column (an aggregate, an expression)."""
    if not isinstance(node, exp.Column) or not node.name:
        return "", ""
    name = node.name.lower()
    select = node.find_ancestor(exp.Select)
    sources: dict[str, str] = {}
    if select is not None:
        for table in select.find_all(exp.Table):
            if table.find_ancestor(exp.Select) is select:
                sources[table.alias_or_name.lower()] = table.name.lower()
    qualifier = node.table.lower()
    if qualifier:
        return sources.get(qualifier, qualifier), name
    holders = [t for t in dict.fromkeys(sources.values()) if name in columns.get(t, ())]
    if holders:
        return holders[0], name
    only = list(dict.fromkeys(sources.values()))
    return (only[0] if len(only) == 1 else ""), name


# --------------------------------------------------------------------------- matching


def _affinity(slot: Slot, value: QuestionValue) -> float:
    """How well ``value`` fills ``slot``; 0 when it cannot."""
    if slot.kind == "limit":
        return 2.0 if value.is_number and _is_count(value.text) else 0.0
    if slot.kind == "number":
        if value.is_number:
            return 2.5 * value.confidence
        return 0.0
    # A text slot.
    if value.kind == "db":
        if slot.column and (slot.table, slot.column) in value.columns:
            return 3.0 * value.confidence + 0.5
        if slot.column and any(c == slot.column for _, c in value.columns):
            return 2.0 * value.confidence
        return 1.0 * value.confidence
    if value.kind == "quoted":
        bonus = 0.5 if slot.column and (slot.table, slot.column) in value.columns else 0.0
        return 2.5 + bonus
    # A number in a text slot: years and codes stored as text ("Year = '2014'").
    if _NUMBER.fullmatch(slot.value.strip()):
        return 2.5 * value.confidence
    return 0.4 * value.confidence


def _is_count(text: str) -> bool:
    return text.isdigit() and 1 < int(text) <= 1000


def assign(slots: Sequence[Slot], values: Sequence[QuestionValue]) -> list[int | None]:
    """For each slot, the index of the question value that fills it (or None).

    Each value fills at most one slot. Pairs are taken best first; among equally
    good pairs, slots take values in order, so ``BETWEEN 5 AND 10`` takes the
    question's numbers in the order they come.
    """
    pairs = []
    for i, slot in enumerate(slots):
        for j, value in enumerate(values):
            score = _affinity(slot, value)
            if score > 0:
                pairs.append((-round(score, 6), i, j))
    pairs.sort()
    chosen: list[int | None] = [None] * len(slots)
    used: set[int] = set()
    for _, i, j in pairs:
        if chosen[i] is None and j not in used:
            chosen[i] = j
            used.add(j)
    return chosen


# Affinity of a middling fill: above it a fill counts for the query, below it against.
_FAIR_FILL = 1.75


def fit(slots: Sequence[Slot], values: Sequence[QuestionValue]) -> tuple[float, float]:
    """How well a query's slots and a question's values agree.

    Returns:
        (slot score: +1 per slot filled from its own column, down to -1 per slot
        left with the synthesized value (LIMIT counts excepted), confidence summed
        over the question values left unused).
    """
    if not slots and not values:
        return 0.0, 0.0
    chosen = assign(slots, values)
    score = 0.0
    for i, j in enumerate(chosen):
        if j is not None:
            score += min(1.0, (_affinity(slots[i], values[j]) - _FAIR_FILL) / _FAIR_FILL)
        elif slots[i].kind != "limit":
            score -= 1.0
    used = {j for j in chosen if j is not None}
    unused = sum(v.confidence for j, v in enumerate(values) if j not in used)
    return score, unused


# --------------------------------------------------------------------------- rewriting


@dataclass
class Substitution:
    sql: str
    replaced: dict[str, str] = field(default_factory=dict)


def substitute(
    sql: str, values: Sequence[QuestionValue], schema: Schema | None = None, dialect: str = "sqlite"
) -> Substitution:
    """Put the question's values into ``sql`` in place of its literals.

    Returns:
        The new SQL and ``{old literal: new literal}`` for every literal changed.
    """
    tree = quoted_strings_to_literals(parse_one(sql, dialect), dialect)
    located = _locate(tree, schema)
    chosen = assign([loc.slot for loc in located], values)
    replaced: dict[str, str] = {}
    for loc, j in zip(located, chosen, strict=True):
        if j is None:
            continue
        new = _literal_for(loc.slot, values[j])
        if new is None:
            continue
        old = loc.node.sql(dialect=sqlglot_dialect(dialect))
        loc.node.replace(new)
        text = new.sql(dialect=sqlglot_dialect(dialect))
        if text != old:
            replaced.setdefault(old, text)
    if not replaced:
        return Substitution(sql)
    return Substitution(tree.sql(dialect=sqlglot_dialect(dialect)), replaced)


def _literal_for(slot: Slot, value: QuestionValue) -> exp.Expression | None:
    text = value.text
    if slot.kind in ("number", "limit"):
        if not _NUMBER.fullmatch(text):
            return None
        if text.startswith("-"):
            return exp.Neg(this=exp.Literal.number(text[1:]))
        return exp.Literal.number(text)
    if slot.like:
        prefix = "%" if slot.value.startswith("%") else ""
        suffix = "%" if slot.value.endswith("%") else ""
        return exp.Literal.string(f"{prefix}{text}{suffix}")
    return exp.Literal.string(text)
