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


# Question cue sets whose structure scores an index keeps (there are 16 cues, and
# questions use a few of their combinations).
_CUE_SETS_KEPT = 1024
# Scores closer than this are treated as possibly equal when pruning (float rounding).
_MARGIN = 1e-9


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
        prune: fit only the shortlisted pairs whose score ceiling can still reach the
            ``k`` best (False fits every one: the same ranking, slower).
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        kinds: dict[tuple[str, str], str] | None = None,
        weights: Weights | None = None,
        keys: set[tuple[str, str]] | None = None,
        shortlist: int = 50,
        prune: bool = True,
    ) -> None:
        self.pairs = list(pairs)
        self.kinds = kinds or {}
        self.keys = keys or set()
        self.weights = weights or Weights()
        self.bm25 = BM25([p.terms for p in self.pairs])
        self.shortlist = shortlist
        # What ranking reads of each pair, worked out once rather than per question:
        # the distinct cue sets (a few dozen: a question's structure score is per set),
        # each column's pairs (so a question counts the columns it names per pair by
        # visiting only the pairs that hold them), and each pair's sorted columns and
        # compared columns for :meth:`_adapt`.
        self._cue_sets = list(dict.fromkeys(p.cues for p in self.pairs))
        cue_ids = {cues: n for n, cues in enumerate(self._cue_sets)}
        self._cue_of = [cue_ids[p.cues] for p in self.pairs]
        self._unnamed = [-0.25 * len(p.columns) for p in self.pairs]
        self._holders: dict[tuple[str, str], list[int]] = {}
        for i, pair in enumerate(self.pairs):
            for column in pair.columns:
                self._holders.setdefault(column, []).append(i)
        self._sorted_columns = [tuple(sorted(p.columns)) for p in self.pairs]
        self._compared = [{(s.table, s.column): s.kind for s in p.slots if s.column}
                          for p in self.pairs]  # fmt: skip
        self._open_slots = [sum(1 for s in p.slots if s.kind != "limit") for p in self.pairs]
        # Each pair's columns as numbers of (column, compared in the pair, droppable in
        # the pair): what a column's ceiling depends on besides the question, so a
        # question works each out once for all the pairs that share it.
        self._column_kinds: list[tuple[tuple[str, str], bool, bool]] = []
        kind_ids: dict[tuple[tuple[str, str], bool, bool], int] = {}
        self._column_ids: list[tuple[int, ...]] = []
        for pair, compared, columns in zip(self.pairs, self._compared, self._sorted_columns,
                                           strict=True):  # fmt: skip
            ids = []
            for column in columns:
                kind = (column, column in compared, column in pair.droppable)
                if kind not in kind_ids:
                    kind_ids[kind] = len(self._column_kinds)
                    self._column_kinds.append(kind)
                ids.append(kind_ids[kind])
            self._column_ids.append(tuple(ids))
        self._by_cues: dict[frozenset[str], tuple[list[float], list[bool]]] = {}
        # The ceiling below holds only when no weight turns a cost into a gain.
        self._ceilings = prune and all(v >= 0 for v in vars(self.weights).values())

    def __len__(self) -> int:
        return len(self.pairs)

    def _structure(self, cues: frozenset[str]) -> tuple[list[float], list[bool]]:
        """For a question's cues, each cue set's structure score and whether it is
        turned round; kept per cue set of the question, as few recur."""
        known = self._by_cues.get(cues)
        if known is None:
            if len(self._by_cues) >= _CUE_SETS_KEPT:
                self._by_cues.clear()
            w = self.weights
            known = self._by_cues[cues] = (
                [_structure(cues, pair_cues, w) for pair_cues in self._cue_sets],
                [should_flip(cues, pair_cues) for pair_cues in self._cue_sets],
            )  # fmt: skip
        return known

    def search(self, query: Query, k: int = 1) -> list[Scored]:
        """The ``k`` best pairs for ``query``, best first."""
        if not self.pairs:
            return []
        lexical = self.bm25.scores(query.terms)
        top = max(lexical) or 1.0
        asked = _Asked.of(query, self._structure(query.cues), self.weights)
        w = self.weights
        # A quick score first (words, structure, named columns); only the best
        # ``shortlist`` pairs get the full score with its fitting steps. A pair's
        # columns count 0.5 x (+1 when the question names them, -0.5 when not): from
        # -0.25 per column, +0.75 per named one, sums exact in floating point.
        named = self._unnamed.copy()
        for column in asked.strong:
            for i in self._holders.get(column, ()):
                named[i] += 0.75
        structure = asked.structure
        quick = [
            -(w.lexical * lex / top + structure[cue] + columns)
            for lex, cue, columns in zip(lexical, self._cue_of, named, strict=True)
        ]  # fmt: skip
        # Best first, ties in pair order (a stable sort).
        shortlist = sorted(range(len(quick)), key=quick.__getitem__)[: self.shortlist]
        # The full score of a pair is at most its lexical score plus its ceiling
        # (:meth:`_ceiling`). Pairs are fitted highest ceiling first, and once the
        # ``k``-th best full score so far is above every ceiling left, no pair left
        # can enter the ``k`` best (nor tie: the margin covers rounding), so the rest
        # are not fitted. The result is the one fitting all of them would give.
        if self._ceilings:
            columns: list[float | None] = [None] * len(self._column_kinds)
            order = sorted(
                (-(w.lexical * lexical[i] / top + self._ceiling(i, query, asked, columns)), i)
                for i in shortlist
            )  # fmt: skip
        else:
            order = [(-math.inf, i) for i in shortlist]
        fitted: dict[int, _Fit] = {}
        ranked: list[tuple[float, int, int]] = []
        kth: list[float] = []  # the k best full scores so far (a heap: kth[0] is the k-th)
        for negative_ceiling, i in order:
            if len(kth) == k and -negative_ceiling + _MARGIN < kth[0]:
                break
            pair = self.pairs[i]
            fit_ = fitted[i] = self._fit(i, query, asked)
            score = w.lexical * lexical[i] / top + fit_.score
            ranked.append((-score, len(pair.sql), i))
            if len(kth) < k:
                heapq.heappush(kth, score)
            elif score > kth[0]:
                heapq.heapreplace(kth, score)
        out = []
        for negative, _, i in heapq.nsmallest(k, ranked):
            f = fitted[i]
            parts = {"lexical": self.weights.lexical * lexical[i] / top, **f.parts}
            out.append(Scored(-negative, self.pairs[i], parts, f.swaps, f.drops, f.inserts,
                              f.flip, f.adds))  # fmt: skip
        return out

    def _ceiling(self, i: int, query: Query, asked: _Asked, columns: list[float | None]) -> float:
        """An upper bound of :meth:`_fit`'s score, in a few set lookups: each column
        counted at its link strength when named, else at the best a swap, a drop or
        nothing could give (``columns``: those worked out so far for this question, by
        column number); the tables and missing tables as :meth:`_adapt` counts them;
        each column that may be added at its gain; each slot filled as well as a slot
        can be, as far as the question has values; the values no slot can take at
        their least cost."""
        w = self.weights
        pair = self.pairs[i]
        links = query.links
        bound = 0.0
        for n in self._column_ids[i]:
            ceiling = columns[n]
            if ceiling is None:
                ceiling = columns[n] = self._column_ceiling(n, links, asked.named)
            bound += ceiling
        for table in pair.tables:
            bound += 0.5 * (links.tables.get(table, 0.0) - 0.3)
        if pair.plain:
            for column, strength in asked.sure_columns:
                if (column[0] in pair.outer_tables and column[0] in pair.tables
                        and column not in pair.columns):  # fmt: skip
                    bound += max(0.0, strength - w.add_cost)
        for table in asked.sure_tables:
            if table not in pair.tables:
                bound -= w.missing_table
        values = len(query.values)
        slotted = min(len(pair.slots), values) - max(0, self._open_slots[i] - values)
        left = asked.leftover[max(0, values - len(pair.slots))]
        return (w.schema * bound + asked.structure[self._cue_of[i]]
                + w.value * (w.slot * slotted - left))  # fmt: skip

    def _column_ceiling(self, n: int, links: Links, named: _Named) -> float:
        """The most one column of a pair can add in :meth:`_adapt` (see :meth:`_ceiling`)."""
        w = self.weights
        column, compared, droppable = self._column_kinds[n]
        strength = links.column(column)
        if compared and column in named.valued:
            strength = max(strength, 0.9)
        if strength >= 0.75:
            return strength
        best = -w.unlinked_column * (1 - strength)
        if droppable:
            best = max(best, -w.drop_cost)
        # A swap for a named column of the same table and a kind that fits (whether the
        # pair uses it already, or it is a key, is left to :meth:`_adapt`).
        kind = self.kinds.get(column, "text")
        for gain, other in named.columns.get(column[0], ()):
            if other != column and compatible(kind, self.kinds.get(other, "")):
                best = max(best, gain - w.swap_cost)
                break  # strongest first
        if compared:
            for other in named.values.get(column[0], ()):
                if other != column and compatible(kind, self.kinds.get(other, "")):
                    best = max(best, 0.9 - w.swap_cost)
                    break
        return best

    def _fit(self, i: int, query: Query, asked: _Asked) -> _Fit:
        """Every part of a pair's score but the lexical one, and the changes it needs."""
        w = self.weights
        pair = self.pairs[i]
        adapted = self._adapt(i, query, asked)
        slotted, unused = fit(adapted.slots, query.values)
        inserts = self._inserts(pair, adapted, [query.values[j] for j in unused], asked.named,
                                query.links)  # fmt: skip
        left = sum(query.values[j].confidence for j in unused)
        left -= sum(ins.value.confidence for ins in inserts)
        cue = self._cue_of[i]
        parts = {
            "schema": w.schema * adapted.score,
            "structure": asked.structure[cue],
            "value": w.value * (w.slot * slotted - w.unused_value * left
                                - w.insert_cost * len(inserts)),
        }  # fmt: skip
        return _Fit(sum(parts.values()), parts, adapted.swaps, adapted.drops, inserts,
                    asked.flips[cue], adapted.adds)  # fmt: skip

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

    def _adapt(self, i: int, query: Query, asked: _Asked) -> _Adaptation:
        """Score how well the pair's columns match the question's, swapping or leaving
        out the ones it does not name where the question names a fitting other."""
        w = self.weights
        links = query.links
        named = asked.named
        pair = self.pairs[i]
        score = 0.0
        used = set(pair.columns)
        swaps: dict[tuple[str, str], tuple[str, str]] = {}
        drops: set[tuple[str, str]] = set()
        compared = self._compared[i]
        for column in self._sorted_columns[i]:
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
        for column, strength in asked.sure_columns:
            if column[0] not in pair.tables or column in used:
                continue
            if pair.plain and column[0] in pair.outer_tables and len(adds) < 3:
                # "the names, ages and countries of ...": list it too.
                adds.append(column)
                used.add(column)
                score += strength - w.add_cost
            else:
                score -= w.missing_column
        for table in asked.sure_tables:
            if table not in pair.tables:
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


@dataclass
class _Asked:
    """What ranking reads of one question, worked out once for all its pairs.

    Attributes:
        named: what it names, by table.
        strong: the columns that count as named in the quick score.
        sure_columns: ``(column, strength)`` linked for sure (>= 0.99), sorted.
        sure_tables: the tables linked for sure, in link order.
        structure, flips: the structure score, and whether the query is turned round,
            for each of the index's cue sets.
        leftover: ``leftover[u]``, the least that ``u`` of its values no slot takes can
            cost: each costs its insert or, left out, its confidence's weight.
    """

    named: _Named
    strong: set[tuple[str, str]]
    sure_columns: list[tuple[tuple[str, str], float]]
    sure_tables: list[str]
    structure: list[float]
    flips: list[bool]
    leftover: list[float]

    @classmethod
    def of(cls, query: Query, structure: tuple[list[float], list[bool]], w: Weights) -> _Asked:
        named = _named_by_table(query)
        links = query.links
        strong = {c for c, s in links.columns.items() if s >= 0.75} | named.valued
        costs = sorted(min(w.insert_cost, w.unused_value * v.confidence) for v in query.values)
        return cls(
            named=named,
            strong=strong,
            sure_columns=[(c, s) for c, s in sorted(links.columns.items()) if s >= 0.99],
            sure_tables=[t for t, s in links.tables.items() if s >= 0.99],
            structure=structure[0],
            flips=structure[1],
            leftover=[sum(costs[:u]) for u in range(len(costs) + 1)],
        )


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
