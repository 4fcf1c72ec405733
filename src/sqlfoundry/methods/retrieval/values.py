"""Values a question names: quoted strings, values found in the database, numbers.

- :class:`ValueIndex` holds the distinct short text values of a database's text
  columns, keyed by a normalised form (lower case, punctuation as spaces), so
  "How many singers from the netherlands?" finds ``singer.Country = 'Netherlands'``
  with the database's own spelling;
- :func:`find_values` reads a question's quoted strings, database values and
  numbers (with the comparison the words around a number ask for), each with
  its place in the question.

:mod:`substitution` puts them into retrieved SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.sql.parse import sqlglot_dialect
from sqlfoundry.synth.naming import singular

# Values longer than this are free text (reviews, descriptions), not things people name.
MAX_VALUE_CHARS = 60
MAX_VALUE_WORDS = 8
# Distinct values read per column: enough for names, cities, codes; bounded for big tables.
VALUES_PER_COLUMN = 5000

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
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
        """The value's ``(table, column)``, lower-cased."""
        return (self.table.lower(), self.column.lower())


class ValueIndex:
    """The database's short text values by normalised text (see the module doc)."""

    def __init__(self, entries: dict[str, list[DbValue]]) -> None:
        self.entries = entries
        self.max_words = max((k.count(" ") + 1 for k in entries), default=0)
        # The first words of every value of several words ("new" and "new york" of
        # "new york city"): a span of question words is looked up only when the span
        # without its last word begins some value.
        self.leads: set[str] = set()
        for key in entries:
            spaces = [i for i, c in enumerate(key) if c == " "]
            self.leads.update(key[:i] for i in spaces)

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, key: str) -> list[DbValue]:
        """The database values whose normalised text is ``key``."""
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
    def build(
        cls, database: Any, schema: Schema, per_column: int = VALUES_PER_COLUMN
    ) -> ValueIndex:
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
        """Every value as a ``[table, column, value]`` row (the index's cache form)."""
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
        comparator: for a number, the comparison the words around it ask for
            ("older than 30" -> ``>``, "3 or more" -> ``>=``, "top 5" -> ``top``; ``=``
            when they ask for none).
    """

    text: str
    kind: str
    start: int
    end: int
    columns: frozenset[tuple[str, str]] = frozenset()
    confidence: float = 1.0
    comparator: str = "="

    @property
    def is_number(self) -> bool:
        """Whether the question names a number."""
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
        elif NUMBER.fullmatch(text):
            found.append(QuestionValue(text, "number", start, end))
        else:
            found.append(QuestionValue(text, "quoted", start, end,
                                       frozenset(h.key for h in hits)))  # fmt: skip
        taken.append((start, end))
    if index is not None and len(index):
        for value in _database_values(question, index, free):
            found.append(value)
            taken.append((value.start, value.end))
    for match in NUMBER.finditer(question):
        if free(*match.span()):
            found.append(QuestionValue(match.group(), "number", *match.span(),
                                       comparator=comparator_at(question, *match.span())))  # fmt: skip
            taken.append(match.span())
    for match in _WORD.finditer(question):
        word = match.group().lower()
        if word in _NUMBER_WORDS and free(*match.span()):
            found.append(QuestionValue(str(_NUMBER_WORDS[word]), "number", *match.span(),
                                       confidence=0.5,
                                       comparator=comparator_at(question, *match.span())))  # fmt: skip
    found.sort(key=lambda v: v.start)
    return found


_COMPARATORS = (
    (">=", re.compile(r"\b(?:at least|no less than|not less than|minimum of)\s*$")),
    ("<=", re.compile(r"\b(?:at most|no more than|not more than|maximum of|up to)\s*$")),
    (">", re.compile(r"\b(?:more|greater|larger|bigger|higher|older|longer|heavier|taller|"
                     r"later|over|above|exceeding|exceeds|after|beyond)(?: than)?\s*$")),
    ("<", re.compile(r"\b(?:less|fewer|smaller|lower|younger|shorter|lighter|earlier|under|"
                     r"below|before|cheaper)(?: than)?\s*$")),
    ("!=", re.compile(r"\b(?:not|other than|except|besides)\s*$")),
)  # fmt: skip


_AFTER = (
    (">=", re.compile(r"^\s*(?:\w+\s+)?or (?:more|above|greater|higher|older|over|later)\b")),
    ("<=", re.compile(r"^\s*(?:\w+\s+)?or (?:less|fewer|below|lower|younger|under|earlier)\b")),
)


_TOP = re.compile(r"\b(?:top|first|last|best|worst)\s*$")


def comparator_at(question: str, start: int, end: int) -> str:
    """The comparison the words around a number ask for ("more than 3", "3 or more");
    ``top`` for "top 5" / "first 3" (a LIMIT); ``=`` when they ask for none."""
    after = question[end : end + 30].lower()
    for op, pattern in _AFTER:
        if pattern.search(after):
            return op
    before = question[max(0, start - 30) : start].lower()
    if _TOP.search(before):
        return "top"
    for op, pattern in _COMPARATORS:
        if pattern.search(before):
            return op
    return "="


def _database_values(question: str, index: ValueIndex, free) -> list[QuestionValue]:
    """Longest spans of question words that are database values, left to right."""
    words = list(_WORD.finditer(question))
    low = [w.group().lower() for w in words]
    out: list[QuestionValue] = []
    i = 0
    longest = min(index.max_words, MAX_VALUE_WORDS)
    while i < len(words):
        hit = None
        # The longest span that can be a value: each shorter one must begin a value.
        most = 1
        while most < min(longest, len(words) - i) and " ".join(low[i : i + most]) in index.leads:
            most += 1
        for n in range(most, 0, -1):
            span = words[i : i + n]
            start, end = span[0].start(), span[-1].end()
            if not free(start, end):
                continue
            lowered = low[i : i + n]
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
