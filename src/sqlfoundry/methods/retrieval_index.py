"""The pair index: synthesized question/SQL pairs of one database, and how they are ranked.

Each :class:`Pair` keeps, besides its question and SQL, what ranking needs so
nothing is parsed at question time: the question's terms with its values taken
out, the tables and columns the SQL reads (join keys left out), the structure
cues the SQL carries (:func:`sql_cues`) and its value slots.

:meth:`PairIndex.search` scores every pair for a question as the sum of

- lexical similarity: BM25 between the question's terms and the pair's, values
  left out on both sides (the values are swapped in later, so "singers from
  Netherlands" must match "singers from France");
- schema agreement: the columns and tables the SQL uses that the question names
  (by their English names, a superlative, or a value found in that column) count
  for it, those it does not name count against it;
- structure agreement: cues present on one side only ("how many" without a
  COUNT, ORDER BY without "sorted"/"oldest"...) count against it;
- value fit: a literal the question has no value for would stay the synthesized
  one, which is almost always wrong, and a value the question names that the SQL
  has no place for is lost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.retrieval_linking import Links, terms
from sqlfoundry.methods.value_substitution import (
    QuestionValue,
    Slot,
    column_sets,
    fit,
    literal_slots,
    resolve_column,
)
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_one
from sqlfoundry.sql.references import referenced_columns, referenced_tables

_AGGREGATES = {exp.Count: "count", exp.Avg: "avg", exp.Sum: "sum", exp.Max: "max", exp.Min: "min"}

# How much agreeing (or not) on each cue weighs; cues people often leave unsaid weigh less.
CUE_WEIGHTS = {
    "count": 1.2, "avg": 1.2, "sum": 1.0, "max": 0.9, "min": 0.9, "group": 0.7, "order": 0.8,
    "neg": 0.9, "intersect": 0.6, "union": 0.4, "gt": 0.6, "lt": 0.6, "between": 0.5,
    "like": 0.6, "asc": 0.8, "desc": 0.8,
}  # fmt: skip
# A question word for a cue the SQL lacks is weaker evidence than the reverse for
# most cues: "over", "more", "each" appear in questions of every shape, and people
# often leave "ascending" unsaid. "average" or "how many" are never idle.
QUESTION_ONLY_FACTOR = {"count": 1.0, "avg": 1.0, "sum": 0.7, "max": 0.7, "min": 0.7}
DEFAULT_QUESTION_ONLY_FACTOR = 0.5


@dataclass(frozen=True)
class Weights:
    """The weights of the four parts of a pair's score (see the module doc)."""

    lexical: float = 2.0
    schema: float = 1.0
    structure: float = 1.0
    value: float = 1.0
    unlinked_column: float = 0.8
    missing_column: float = 0.25
    slot: float = 1.0
    unused_value: float = 0.8
    swap_cost: float = 0.35
    drop_cost: float = 0.15


@dataclass(frozen=True)
class Pair:
    """One question/SQL pair with its ranking features."""

    question: str
    sql: str
    id: str = ""
    hardness: str | None = None
    origin: str = "synthesized"
    terms: tuple[str, ...] = ()
    tables: frozenset[str] = frozenset()
    columns: frozenset[tuple[str, str]] = frozenset()
    cues: frozenset[str] = frozenset()
    slots: tuple[Slot, ...] = ()
    # Bare columns of the outer SELECT list used nowhere else: they can be left out.
    droppable: frozenset[tuple[str, str]] = frozenset()
    width: int = 1  # expressions in the outer SELECT list

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "sql": self.sql,
            "hardness": self.hardness,
            "origin": self.origin,
            "terms": list(self.terms),
            "tables": sorted(self.tables),
            "columns": sorted(list(c) for c in self.columns),
            "cues": sorted(self.cues),
            "slots": [s.to_list() for s in self.slots],
            "droppable": sorted(list(c) for c in self.droppable),
            "width": self.width,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pair:
        return cls(
            question=data["question"],
            sql=data["sql"],
            id=data.get("id", ""),
            hardness=data.get("hardness"),
            origin=data.get("origin", "synthesized"),
            terms=tuple(data.get("terms", ())),
            tables=frozenset(data.get("tables", ())),
            columns=frozenset(tuple(c) for c in data.get("columns", ())),
            cues=frozenset(data.get("cues", ())),
            slots=tuple(Slot.from_list(s) for s in data.get("slots", ())),
            droppable=frozenset(tuple(c) for c in data.get("droppable", ())),
            width=int(data.get("width", 1)),
        )


def make_pair(
    question: str,
    sql: str,
    schema: Schema,
    *,
    id: str = "",
    hardness: str | None = None,
    origin: str = "synthesized",
) -> Pair:
    """A :class:`Pair` with its features read off the SQL.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    tree = quoted_strings_to_literals(parse_one(sql, schema.dialect), schema.dialect)
    slots = tuple(literal_slots(tree, schema))
    value_terms = {t for s in slots for t in terms(s.value)}
    return Pair(
        question=question,
        sql=sql,
        id=id,
        hardness=hardness,
        origin=origin,
        terms=tuple(t for t in terms(question) if t not in value_terms and not t.isdigit()),
        tables=frozenset(referenced_tables(tree, schema.dialect)),
        columns=frozenset(_used_columns(tree, schema)),
        cues=sql_cues(tree),
        slots=slots,
        droppable=frozenset(_droppable(tree, schema)),
        width=len(tree.expressions) if isinstance(tree, exp.Select) else 1,
    )


def _droppable(tree: exp.Expression, schema: Schema) -> set[tuple[str, str]]:
    if not isinstance(tree, exp.Select) or len(tree.expressions) < 2:
        return set()
    columns = column_sets(schema)
    uses: dict[tuple[str, str], int] = {}
    for node in tree.find_all(exp.Column):
        key = resolve_column(node, columns)
        uses[key] = uses.get(key, 0) + 1
    bare = [resolve_column(e, columns) for e in tree.expressions if isinstance(e, exp.Column)]
    return {key for key in bare if key[0] and uses.get(key) == 1}


def _used_columns(tree: exp.Expression, schema: Schema) -> set[tuple[str, str]]:
    """Columns the query reads outside its join conditions (keys joined on say little)."""
    bare = tree.copy()
    for join in bare.find_all(exp.Join):
        join.set("on", None)
        join.set("using", None)
    found = referenced_columns(bare, schema.dialect, schema.column_map())
    return {(t, c) for t, c in found if c != "*" and t}


def sql_cues(tree: exp.Expression) -> frozenset[str]:
    """The structure cues of a query: the SQL side of :func:`question_cues`."""
    cues: set[str] = set()
    for node in tree.walk():
        kind = _AGGREGATES.get(type(node))
        if kind is not None:
            if node.find_ancestor(exp.Order) is not None:
                continue
            # A COUNT only in HAVING or a filter is "at least 3 ...", not "how many".
            if kind == "count" and not _projected(node):
                continue
            cues.add(kind)
        elif isinstance(node, exp.Group):
            select = node.parent
            if isinstance(select, exp.Select) and any(
                e.find(*_AGGREGATES) for e in select.expressions
            ):
                cues.add("group")
        elif isinstance(node, exp.Order):
            cues.update(_order_cues(node))
        elif isinstance(node, (exp.Not, exp.NEQ, exp.Except)):
            cues.add("neg")
        elif isinstance(node, exp.Intersect):
            cues.add("intersect")
        elif isinstance(node, exp.Union):
            cues.add("union")
        elif isinstance(node, (exp.GT, exp.GTE)):
            cues.add("gt")
        elif isinstance(node, (exp.LT, exp.LTE)):
            cues.add("lt")
        elif isinstance(node, exp.Between):
            cues.add("between")
        elif isinstance(node, (exp.Like, exp.ILike)):
            cues.add("like")
    return frozenset(cues)


def _projected(node: exp.Expression) -> bool:
    """Whether ``node`` sits in a SELECT list (not in WHERE / HAVING / ORDER BY)."""
    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        child, parent = parent, parent.parent
    return parent is not None and child.arg_key == "expressions"


def _order_cues(order: exp.Order) -> set[str]:
    select = order.parent
    limit = select.args.get("limit") if isinstance(select, exp.Query) else None
    descending = bool(order.expressions) and bool(order.expressions[0].args.get("desc"))
    if limit is None:
        return {"order", "desc" if descending else "asc"}
    return {"max" if descending else "min"}


# --------------------------------------------------------------------------- BM25


class BM25:
    """Okapi BM25 over term lists, with an inverted index (pure Python, no numpy)."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        self.size = len(documents)
        lengths = [len(d) for d in documents]
        average = (sum(lengths) / self.size) if self.size else 1.0
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, doc in enumerate(documents):
            counts: dict[str, int] = {}
            for term in doc:
                counts[term] = counts.get(term, 0) + 1
            norm = k1 * (1 - b + b * lengths[i] / max(average, 1e-9))
            for term, tf in counts.items():
                self.postings.setdefault(term, []).append((i, tf * (k1 + 1) / (tf + norm)))
        self.idf = {
            t: math.log(1 + (self.size - len(p) + 0.5) / (len(p) + 0.5))
            for t, p in self.postings.items()
        }

    def scores(self, query: Sequence[str]) -> list[float]:
        out = [0.0] * self.size
        for term in set(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, weight in self.postings[term]:
                out[i] += idf * weight
        return out


# --------------------------------------------------------------------------- search


@dataclass
class Query:
    """A question as the index compares it."""

    terms: list[str]
    cues: frozenset[str]
    links: Links
    values: list[QuestionValue] = field(default_factory=list)


@dataclass(frozen=True)
class Scored:
    """A ranked pair, with the changes that fit its SQL to the question.

    Attributes:
        swaps: ``(table, column) -> column`` of the same table to read instead.
        drops: bare columns of the SELECT list to leave out.
    """

    score: float
    pair: Pair
    parts: dict[str, float]
    swaps: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    drops: frozenset[tuple[str, str]] = frozenset()


# number and year columns stand in for each other, text and yes/no ones too.
_KIND_GROUPS = {"number": "number", "year": "number", "text": "text", "bool": "text",
                "date": "date"}  # fmt: skip


def compatible(kind: str, other: str) -> bool:
    return _KIND_GROUPS.get(kind, kind) == _KIND_GROUPS.get(other, other)


@dataclass
class _Adaptation:
    score: float
    swaps: dict[tuple[str, str], tuple[str, str]]
    drops: frozenset[tuple[str, str]]
    slots: tuple[Slot, ...]


class PairIndex:
    """The pairs of one database, ranked for questions (see the module doc).

    Args:
        pairs: the pairs.
        kinds: ``(table, column) -> kind`` (number, year, date, text, bool) of the
            schema's columns; with it a pair's column the question does not name
            may be swapped for one of the same table and kind that it does name.
        weights: the score weights.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        kinds: dict[tuple[str, str], str] | None = None,
        weights: Weights | None = None,
    ) -> None:
        self.pairs = list(pairs)
        self.kinds = kinds or {}
        self.weights = weights or Weights()
        self.bm25 = BM25([p.terms for p in self.pairs])

    def __len__(self) -> int:
        return len(self.pairs)

    def search(self, query: Query, k: int = 1) -> list[Scored]:
        """The ``k`` best pairs for ``query``, best first."""
        if not self.pairs:
            return []
        lexical = self.bm25.scores(query.terms)
        top = max(lexical) or 1.0
        w = self.weights
        named = _named_by_table(query)
        scored = []
        for i, pair in enumerate(self.pairs):
            fitted = self._adapt(pair, query, named)
            slotted, unused = fit(fitted.slots, query.values)
            parts = {
                "lexical": w.lexical * lexical[i] / top,
                "schema": w.schema * fitted.score,
                "structure": w.structure * cue_agreement(query.cues, pair.cues),
                "value": w.value * (w.slot * slotted - w.unused_value * unused),
            }
            scored.append(Scored(sum(parts.values()), pair, parts, fitted.swaps, fitted.drops))
        # Ties go to the shorter query, then to the earlier pair (sort is stable).
        scored.sort(key=lambda s: (-s.score, len(s.pair.sql)))
        return scored[:k]

    def _adapt(self, pair: Pair, query: Query, named: _Named) -> _Adaptation:
        """Score how well the pair's columns match the question's, swapping or leaving
        out the ones it does not name where the question names a fitting other."""
        w = self.weights
        links = query.links
        score = 0.0
        used = set(pair.columns)
        swaps: dict[tuple[str, str], tuple[str, str]] = {}
        drops: set[tuple[str, str]] = set()
        compared = {(s.table, s.column): s.kind for s in pair.slots if s.column}
        for column in sorted(pair.columns):
            strength = links.column(column)
            if column in compared and column in named.valued:
                strength = max(strength, 0.9)
            if strength >= 0.75:
                score += strength
                continue
            kind = self.kinds.get(column, "text")
            choice = None
            if compared.get(column) == "text":
                # The question names a value of another column of this table.
                choice = next(((0.9, c) for c in named.values.get(column[0], ())
                               if c not in used and compatible(kind, self.kinds.get(c, ""))),
                              None)  # fmt: skip
            if choice is None:
                choice = next(((s, c) for s, c in named.columns.get(column[0], ())
                               if c not in used and compatible(kind, self.kinds.get(c, ""))),
                              None)  # fmt: skip
            if choice is not None:
                swaps[column] = choice[1]
                used.add(choice[1])
                score += choice[0] - w.swap_cost
            elif column in pair.droppable and len(drops) + 1 < pair.width:
                drops.add(column)
                score -= w.drop_cost
            else:
                score -= w.unlinked_column * (1 - strength)
        for table in pair.tables:
            score += 0.5 * (links.table(table) - 0.3)
        for column, strength in links.columns.items():
            if strength >= 0.99 and column[0] in pair.tables and column not in used:
                score -= w.missing_column
        slots = pair.slots
        if swaps:
            slots = tuple(
                Slot(*swaps[(s.table, s.column)], s.kind, s.like, s.value)
                if (s.table, s.column) in swaps else s
                for s in slots
            )  # fmt: skip
        return _Adaptation(score, swaps, frozenset(drops), slots)


@dataclass
class _Named:
    """What a question names, by table: columns (strongly linked, best first) and
    columns holding one of its values."""

    columns: dict[str, list[tuple[float, tuple[str, str]]]]
    values: dict[str, list[tuple[str, str]]]
    valued: set[tuple[str, str]]


def _named_by_table(query: Query) -> _Named:
    columns: dict[str, list[tuple[float, tuple[str, str]]]] = {}
    for column, strength in sorted(query.links.columns.items(), key=lambda x: (-x[1], x[0])):
        if strength >= 0.75:
            columns.setdefault(column[0], []).append((strength, column))
    values: dict[str, list[tuple[str, str]]] = {}
    valued: set[tuple[str, str]] = set()
    for value in query.values:
        for column in sorted(value.columns):
            valued.add(column)
            values.setdefault(column[0], []).append(column)
    return _Named(columns, values, valued)


def cue_agreement(question: frozenset[str], sql: frozenset[str]) -> float:
    """Weighted agreement between a question's cues and a query's."""
    score = 0.0
    for cue in question | sql:
        weight = CUE_WEIGHTS.get(cue, 0.5)
        if cue in question and cue in sql:
            score += weight
        elif cue in sql:
            score -= weight
        else:
            score -= weight * QUESTION_ONLY_FACTOR.get(cue, DEFAULT_QUESTION_ONLY_FACTOR)
    return score
