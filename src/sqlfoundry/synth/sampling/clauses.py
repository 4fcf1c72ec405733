"""Conditions, aggregates and literals built from real values.

Every condition is made from one anchor row and holds for it, so an AND chain
of conditions from the same row keeps at least that row. Thresholds come from
the column's own quantiles, equality values from the row, LIKE patterns from a
word of the row's text.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlfoundry.synth.sampling.profile import (
    BOOLEAN,
    CATEGORY,
    DATE,
    KEY,
    MAX_TEXT,
    MEASURE,
    TEXT,
)
from sqlfoundry.synth.sampling.scope import Ref

AGGREGATES = {"count": exp.Count, "sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}


def literal(value: Any) -> exp.Expression:
    """A SQL literal for a value read from the database."""
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        return exp.Literal.number(repr(value))
    return exp.Literal.string(str(value))


def usable_text(value: Any) -> bool:
    """Short, plain text that reads well as a literal: no padding, control
    characters or backslashes, which people would not type."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TEXT
        and value == value.strip()
        and value.isprintable()
        and "\\" not in value
    )


@dataclass(frozen=True, eq=False)
class Cond:
    """One condition on a column.

    ``op`` is one of ``= != > >= < <= between in like notlike null notnull``;
    for LIKE, ``value`` is the pattern.
    """

    ref: Ref
    op: str
    value: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()

    def node(self, dialect: str) -> exp.Expression:
        col = self.ref.node(dialect)
        op = self.op
        if op == "null":
            return exp.Is(this=col, expression=exp.Null())
        if op == "notnull":
            return exp.Is(this=col, expression=exp.Null(), negate=True)
        if op == "between":
            return exp.Between(this=col, low=literal(self.value), high=literal(self.high))
        if op == "in":
            return exp.In(this=col, expressions=[literal(v) for v in self.values])
        if op == "like":
            return exp.Like(this=col, expression=exp.Literal.string(self.value))
        if op == "notlike":
            return exp.Like(this=col, expression=exp.Literal.string(self.value), negate=True)
        return _COMPARE[op](this=col, expression=literal(self.value))

    def holds(self, row: tuple[Any, ...]) -> bool:
        """Whether the condition keeps ``row`` (SQL semantics for the cases built here)."""
        return self.holds_value(self.ref.value(row))

    def holds_value(self, v: Any) -> bool:
        """Whether the condition keeps a row whose column holds ``v``."""
        op = self.op
        if op == "null":
            return v is None
        if v is None:
            return False
        if op == "notnull":
            return True
        try:
            if op == "between":
                return self.value <= v <= self.high
            if op == "in":
                return v in self.values
            if op in ("like", "notlike"):
                return _like(str(v), self.value) == (op == "like")
            return _PY_COMPARE[op](v, self.value)
        except TypeError:
            return False


_COMPARE = {"=": exp.EQ, "!=": exp.NEQ, ">": exp.GT, ">=": exp.GTE, "<": exp.LT, "<=": exp.LTE}
_PY_COMPARE = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _like(text: str, pattern: str) -> bool:
    """SQL LIKE for the patterns built here: ``%w%``, ``w%`` and ``%w`` (ASCII case folded)."""
    text, pattern = text.lower(), pattern.lower()
    if pattern.startswith("%") and pattern.endswith("%"):
        return pattern[1:-1] in text
    if pattern.endswith("%"):
        return text.startswith(pattern[:-1])
    if pattern.startswith("%"):
        return text.endswith(pattern[1:])
    return text == pattern


def _pick(rng: random.Random, options: Sequence[tuple[float, str]]) -> str:
    return rng.choices([o for _, o in options], weights=[w for w, _ in options])[0]


def condition(
    ref: Ref, row: tuple[Any, ...], rng: random.Random, like: bool = True, broad: bool = False
) -> Cond | None:
    """A condition on ``ref`` that ``row`` satisfies, or None when the column offers none.

    Args:
        like: allow LIKE patterns (they raise the Spider hardness by one).
        broad: only conditions that keep a group of rows, not one named row
            (no equality on names or keys), for queries that aggregate.
    """
    column = ref.column
    value = ref.value(row)
    if broad and (column.role == KEY or (column.role == TEXT and not like)):
        return None
    if value is None:
        return Cond(ref, "null") if column.has_nulls else None
    if column.has_nulls and rng.random() < 0.06:
        return Cond(ref, "notnull")
    role = column.role
    if role in (MEASURE, DATE) and column.ordered and isinstance(value, (int, float, str)):
        return _ordered_condition(ref, value, rng, like, broad)
    if role == BOOLEAN:
        return Cond(ref, "=", value)
    if role == CATEGORY:
        kind = _pick(rng, [(0.72, "="), (0.1, "!="), (0.1, "in"), (0.08 if like else 0, "like")])
        return _categorical(ref, value, rng, kind)
    if role == TEXT:
        equal = 0.0 if broad else 0.55
        kind = _pick(
            rng, [(equal, "="), (0.4 if like else 0, "like"), (0.05 if like else 0, "notlike")]
        )
        return _categorical(ref, value, rng, kind)
    if (
        role == KEY
        and isinstance(value, (int, str))
        and (isinstance(value, int) or usable_text(value))
    ):
        if len(column.values) > 2 and rng.random() < 0.2:
            return _categorical(ref, value, rng, "in")
        return Cond(ref, "=", value)
    return None


def _categorical(ref: Ref, value: Any, rng: random.Random, kind: str) -> Cond | None:
    others = [
        v for v in ref.column.values if v != value and (not isinstance(v, str) or usable_text(v))
    ]
    if kind == "!=" and others:
        return Cond(ref, "!=", rng.choice(others[:10]))
    if kind == "in" and others:
        chosen = [value, *rng.sample(others[:12], min(len(others[:12]), rng.choice((1, 1, 2))))]
        rng.shuffle(chosen)
        return Cond(ref, "in", values=tuple(chosen))
    if kind in ("like", "notlike") and isinstance(value, str):
        pattern = like_pattern(value, rng) if kind == "like" else _absent_word(ref, value, rng)
        if pattern:
            return Cond(ref, kind, pattern)
    if isinstance(value, str) and not usable_text(value):
        pattern = like_pattern(value, rng)
        return Cond(ref, "like", pattern) if pattern else None
    return Cond(ref, "=", value)


def like_pattern(value: str, rng: random.Random) -> str | None:
    """``%word%``, ``prefix%`` or ``%suffix`` taken from ``value``.

    Words are taken from text of several words; a one-word value gets a prefix
    or suffix only when it is a plain word (not a code such as ``G37779837``).
    """
    words = [w.strip(".,;:()\"'") for w in value.split()]
    words = [w for w in words if len(w) >= 3 and w.isprintable() and not set(w) & _WILDCARDS]
    words = [w for w in words if w.lower() not in _STOP_WORDS] or words
    kind = rng.random()
    if len(words) > 1 and (kind < 0.6 or len(value) > 30):
        return f"%{rng.choice(words)}%"
    text = value.strip()
    if len(text) < 3 or not text.replace(" ", "").isalpha():
        return f"%{words[0]}%" if len(words) == 1 and len(words[0]) < len(text) else None
    size = rng.randint(1, min(5, len(text) - 1))
    return f"{text[:size]}%" if kind < 0.85 else f"%{text[-size:]}"


_WILDCARDS = set("%_\\")
_STOP_WORDS = {
    "the",
    "and",
    "for",
    "with",
    "from",
    "into",
    "its",
    "are",
    "was",
    "not",
    "des",
    "der",
}


def _absent_word(ref: Ref, value: str, rng: random.Random) -> str | None:
    lowered = value.lower()
    for other in ref.column.values[:20]:
        if not isinstance(other, str):
            continue
        for word in other.split():
            if len(word) >= 3 and word.isalpha() and word.lower() not in lowered:
                return f"%{word}%"
    return None


def round_float(value: Any, up: bool) -> Any:
    """A float threshold cut to 3 significant digits, rounded away from the anchor
    (``up`` for upper bounds) so the same rows still pass: 77.109961 -> 77.1."""
    if not isinstance(value, float) or value == 0 or not math.isfinite(value):
        return value
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    scale = 10**decimals
    rounded = (math.ceil if up else math.floor)(value * scale) / scale
    return int(rounded) if rounded.is_integer() else rounded


def _ordered_condition(
    ref: Ref, value: Any, rng: random.Random, like: bool, broad: bool = False
) -> Cond | None:
    column = ref.column
    quantiles = [q for q in column.quantiles if type(q) is type(value)]
    below = sorted({q for q in quantiles if q < value})
    above = sorted({q for q in quantiles if q > value})
    few_values = column.distinct <= 25
    equal = 0.2 if few_values else (0.0 if broad else 0.06)
    options = [(0.3, ">"), (0.25, "<"), (0.15, "between"), (equal, "=")]
    if column.role == DATE and isinstance(value, str) and like:
        options.append((0.1, "like"))
    if few_values:
        options.append((0.05, "!="))
    kind = _pick(rng, options)
    # The extremes make filters that keep (nearly) every row: "price >= <minimum>".
    below = [q for q in below if q != quantiles[0]] or below
    above = [q for q in above if q != quantiles[-1]] or above
    # At the minimum there is nothing below to compare with ("x >= <min>" keeps
    # every row); turn the comparison around, and likewise at the maximum.
    if kind == ">" and not below:
        kind = "<" if above else "="
    elif kind == "<" and not above:
        kind = ">" if below else "="
    if kind == ">":
        return Cond(ref, rng.choice((">", ">", ">=")), round_float(rng.choice(below), up=False))
    if kind == "<":
        return Cond(ref, rng.choice(("<", "<", "<=")), round_float(rng.choice(above), up=True))
    if kind == "between":
        low = round_float(rng.choice(below), up=False) if below else value
        high = round_float(rng.choice(above), up=True) if above else value
        if low == high:
            return Cond(ref, "=", value)
        return Cond(ref, "between", low, high)
    if kind == "like":
        # A year or a month of an ISO date: '2009%', '2009-03%'.
        return Cond(ref, "like", value[: rng.choice((4, 4, 7))] + "%")
    if kind == "!=":
        others = [v for v in column.values if v != value]
        if others:
            return Cond(ref, "!=", rng.choice(others[:10]))
    return Cond(ref, "=", value)


def aggregate(func: str, ref: Ref | None, dialect: str, distinct: bool = False) -> exp.Expression:
    """``COUNT(*)`` when ``ref`` is None, else ``FUNC([DISTINCT] col)``."""
    if ref is None:
        return exp.Count(this=exp.Star())
    col: exp.Expression = ref.node(dialect)
    if distinct:
        col = exp.Distinct(expressions=[col])
    return AGGREGATES[func](this=col)


def aggregate_for(ref: Ref, rng: random.Random) -> str | None:
    """A fitting aggregate function for the column, or None."""
    role = ref.column.role
    if role == MEASURE:
        return rng.choices(("avg", "max", "min", "sum"), weights=(0.35, 0.25, 0.2, 0.2))[0]
    if role == DATE:
        return rng.choice(("min", "max"))
    return None


def combine(conditions: Sequence[exp.Expression], connectors: Sequence[str]) -> exp.Expression:
    """Join conditions left to right with AND / OR (``connectors[i]`` goes before ``conditions[i + 1]``)."""
    out = conditions[0]
    for node, connector in zip(conditions[1:], connectors, strict=True):
        if connector == "or":
            out = exp.Or(this=out, expression=node)
        else:
            # (a OR b) AND c: without the parentheses AND would bind first.
            left = exp.Paren(this=out) if isinstance(out, exp.Or) else out
            out = exp.And(this=left, expression=node)
    return out
