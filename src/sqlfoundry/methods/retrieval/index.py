"""The pair index: the pairs of one database, and how they are ranked for a question.

:meth:`PairIndex.search` scores every pair (:mod:`features`) as the sum of

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

Each pair is scored as it would be once fitted to the question: a column the
question does not name may be swapped for one of the same table and kind that it
does, a bare SELECT item left out, a named column added to a plain SELECT list,
a value no literal takes added as a condition, and MAX / MIN and sort
directions turned round ("youngest" for a pair about the oldest). Each change
costs a little, so a pair that fits as it is wins over one that needs changes.
:mod:`adapt` makes the changes on the SQL.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlfoundry.methods.retrieval.features import Pair
from sqlfoundry.methods.retrieval.linking import Links
from sqlfoundry.methods.retrieval.substitution import Slot, fit
from sqlfoundry.methods.retrieval.values import QuestionValue

# How much agreeing (or not) on each cue weighs; cues people often leave unsaid weigh less.
CUE_WEIGHTS = {
    "count": 1.2, "avg": 1.2, "sum": 1.0, "max": 0.9, "min": 0.9, "group": 0.7, "order": 0.8,
    "neg": 0.9, "intersect": 0.6, "union": 0.4, "gt": 0.6, "lt": 0.6, "between": 0.5,
    "like": 0.6, "asc": 0.8, "desc": 0.8,
}  # fmt: skip
# A question word for a cue the SQL lacks is weaker evidence than the reverse for
# most cues: "over", "more", "each" appear in questions of every shape, and people
# often leave "ascending" unsaid. "average" or "how many" are never idle.
QUESTION_ONLY_FACTOR = {"count": 1.0, "avg": 1.0, "sum": 0.7, "max": 0.7, "min": 0.7, "group": 0.8}
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
    missing_table: float = 0.3
    slot: float = 1.0
    unused_value: float = 0.8
    swap_cost: float = 0.35
    insert_cost: float = 0.3
    flip_cost: float = 0.2
    add_cost: float = 0.3
    drop_cost: float = 0.15


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
        """The BM25 score of every document for the query terms."""
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
        inserts: conditions to add for values no literal takes.
        flip: turn every sort direction and MAX / MIN round ("youngest" for "oldest").
        adds: columns to add to the SELECT list.
    """

    score: float
    pair: Pair
    parts: dict[str, float]
    swaps: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    drops: frozenset[tuple[str, str]] = frozenset()
    inserts: tuple[Insert, ...] = ()
    flip: bool = False
    adds: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Insert:
    """A condition to add to the outer WHERE for a value no literal of the query takes."""

    table: str
    column: str
    op: str
    value: QuestionValue


# number and year columns stand in for each other, text and yes/no ones too.
_KIND_GROUPS = {"number": "number", "year": "number", "text": "text", "bool": "text",
                "date": "date"}  # fmt: skip


def compatible(kind: str, other: str) -> bool:
    """Whether two value kinds can stand for each other (same kind group)."""
    return _KIND_GROUPS.get(kind, kind) == _KIND_GROUPS.get(other, other)


def _structure(question: frozenset[str], sql: frozenset[str], w: Weights) -> float:
    """Structure agreement, with the query turned round when that fits better."""
    if should_flip(question, sql):
        return w.structure * (cue_agreement(question, flipped(sql)) - w.flip_cost)
    return w.structure * cue_agreement(question, sql)


@dataclass
class _Fit:
    score: float
    parts: dict[str, float]
    swaps: dict[tuple[str, str], tuple[str, str]]
    drops: frozenset[tuple[str, str]]
    inserts: tuple[Insert, ...]
    flip: bool
    adds: tuple[tuple[str, str], ...]


@dataclass
class _Adaptation:
    score: float
    swaps: dict[tuple[str, str], tuple[str, str]]
    drops: frozenset[tuple[str, str]]
    slots: tuple[Slot, ...]
    adds: tuple[tuple[str, str], ...] = ()


class PairIndex:
    """The pairs of one database, ranked for questions (see the module doc).

    Args:
        pairs: the pairs.
        kinds: ``(table, column) -> kind`` (number, year, date, text, bool) of the
            schema's columns; with it a pair's column the question does not name
            may be swapped for one of the same table and kind that it does name.
        weights: the score weights.
        keys: the schema's key columns (:func:`key_columns`).
        shortlist: how many pairs, best by a quick score, get the full score.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        kinds: dict[tuple[str, str], str] | None = None,
        weights: Weights | None = None,
        keys: set[tuple[str, str]] | None = None,
        shortlist: int = 50,
    ) -> None:
        self.pairs = list(pairs)
        self.kinds = kinds or {}
        self.keys = keys or set()
        self.weights = weights or Weights()
        self.bm25 = BM25([p.terms for p in self.pairs])
        self.shortlist = shortlist

    def __len__(self) -> int:
        return len(self.pairs)

    def search(self, query: Query, k: int = 1) -> list[Scored]:
        """The ``k`` best pairs for ``query``, best first."""
        if not self.pairs:
            return []
        lexical = self.bm25.scores(query.terms)
        top = max(lexical) or 1.0
        named = _named_by_table(query)
        w = self.weights
        # A quick score first (words, structure, named columns); only the best
        # ``shortlist`` pairs get the full score with its fitting steps.
        structure: dict[frozenset[str], float] = {}
        quick = []
        for i, pair in enumerate(self.pairs):
            cue_score = structure.get(pair.cues)
            if cue_score is None:
                cue_score = structure[pair.cues] = _structure(query.cues, pair.cues, w)
            named_columns = sum(
                1.0 if query.links.column(c) >= 0.75 or c in named.valued else -0.5
                for c in pair.columns
            )
            quick.append((-(w.lexical * lexical[i] / top + cue_score + 0.5 * named_columns), i))
        fitted: dict[int, _Fit] = {}
        ranked = []
        for _, i in heapq.nsmallest(self.shortlist, quick):
            pair = self.pairs[i]
            fit_ = fitted[i] = self._fit(pair, query, named)
            score = w.lexical * lexical[i] / top + fit_.score
            ranked.append((-score, len(pair.sql), i))
        out = []
        for negative, _, i in heapq.nsmallest(k, ranked):
            f = fitted[i]
            parts = {"lexical": self.weights.lexical * lexical[i] / top, **f.parts}
            out.append(Scored(-negative, self.pairs[i], parts, f.swaps, f.drops, f.inserts,
                              f.flip, f.adds))  # fmt: skip
        return out

    def _fit(self, pair: Pair, query: Query, named: _Named) -> _Fit:
        """Every part of a pair's score but the lexical one, and the changes it needs."""
        w = self.weights
        adapted = self._adapt(pair, query, named)
        slotted, unused = fit(adapted.slots, query.values)
        inserts = self._inserts(pair, adapted, [query.values[j] for j in unused], named,
                                query.links)  # fmt: skip
        left = sum(query.values[j].confidence for j in unused)
        left -= sum(ins.value.confidence for ins in inserts)
        flip = should_flip(query.cues, pair.cues)
        structure = _structure(query.cues, pair.cues, w)
        parts = {
            "schema": w.schema * adapted.score,
            "structure": structure,
            "value": w.value * (w.slot * slotted - w.unused_value * left
                                - w.insert_cost * len(inserts)),
        }  # fmt: skip
        return _Fit(sum(parts.values()), parts, adapted.swaps, adapted.drops, inserts, flip,
                    adapted.adds)  # fmt: skip

    def _inserts(
        self,
        pair: Pair,
        fitted: _Adaptation,
        unused: list[QuestionValue],
        named: _Named,
        links: Links,
    ) -> tuple[Insert, ...]:
        """Conditions for values the query has no literal for: a database value on a
        column that holds it, a number on a numeric column the question names, each
        on a table of the outer SELECT."""
        if not unused or not pair.outer_tables:
            return ()
        taken = {(s.table, s.column) for s in fitted.slots}
        out: list[Insert] = []
        for value in unused:
            if len(out) == 2:
                break
            if value.kind == "db":
                # The column the question names ("destination ATO"), else any holder.
                options = sorted((c for c in value.columns
                                  if c[0] in pair.outer_tables and c not in taken),
                                 key=lambda c: (-links.column(c), c))  # fmt: skip
                op = "="
            elif value.is_number and value.confidence >= 1.0:
                options = [c for t in sorted(pair.outer_tables) for _, c in named.columns.get(t, ())
                           if c not in taken and self.kinds.get(c) in ("number", "year")]  # fmt: skip
                op = value.comparator
            else:
                continue
            if options:
                taken.add(options[0])
                out.append(Insert(options[0][0], options[0][1], op, value))
        return tuple(out)

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
                # A key only stands in for a listed column: "the IDs of ...", never for a
                # measure someone averages or sorts by.
                choice = next(((s, c) for s, c in named.columns.get(column[0], ())
                               if c not in used and compatible(kind, self.kinds.get(c, ""))
                               and (c not in self.keys or column in pair.projected)),
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
        adds: list[tuple[str, str]] = []
        for column, strength in sorted(links.columns.items()):
            if strength < 0.99 or column[0] not in pair.tables or column in used:
                continue
            if pair.plain and column[0] in pair.outer_tables and len(adds) < 3:
                # "the names, ages and countries of ...": list it too.
                adds.append(column)
                used.add(column)
                score += strength - w.add_cost
            else:
                score -= w.missing_column
        for table, strength in links.tables.items():
            if strength >= 0.99 and table not in pair.tables:
                score -= w.missing_table
        slots = pair.slots
        if swaps:
            slots = tuple(
                Slot(*swaps[(s.table, s.column)], s.kind, s.op, s.value)
                if (s.table, s.column) in swaps else s
                for s in slots
            )  # fmt: skip
        return _Adaptation(score, swaps, frozenset(drops), slots, tuple(adds))


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


_OPPOSITE = {"max": "min", "min": "max", "asc": "desc", "desc": "asc"}


def should_flip(question: frozenset[str], sql: frozenset[str]) -> bool:
    """Whether the query asks for the other end than the question: it has one of
    MAX / MIN (or of ascending / descending) and the question only the other one."""
    for a, b in (("max", "min"), ("desc", "asc")):
        for mine, other in ((a, b), (b, a)):
            if mine in sql and other not in sql and other in question and mine not in question:
                return True
    return False


def flipped(cues: frozenset[str]) -> frozenset[str]:
    """The cues with each direction turned round (highest for lowest, ...)."""
    return frozenset(_OPPOSITE.get(c, c) for c in cues)


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
