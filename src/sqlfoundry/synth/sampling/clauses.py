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
        """The condition as a sqlglot node in ``dialect``."""
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
            rng, [(equal, "="), (0.25 if like else 0, "like"), (0.05 if like else 0, "notlike")]
        )
        return _categorical(ref, value, rng, kind)
    # Keys: a code people use as a name ('JFK', 'CS101') reads well; a number
    # ("doctor 17") is a surrogate nobody asks about.
    if role == KEY and usable_text(value) and not value.strip().isdigit():
        return Cond(ref, "=", value)
    return None


def _categorical(ref: Ref, value: Any, rng: random.Random, kind: str) -> Cond | None:
    others = [
        v for v in ref.column.values if v != value and (not isinstance(v, str) or usable_text(v))
    ]
    if kind == "!=" and others:
        return Cond(ref, "!=", rng.choice(others[:10]))
    # An IN list naming every value the column has filters nothing.
    room = max(0, ref.column.distinct - 2)
    if kind == "in" and others and room:
        size = min(len(others[:12]), rng.choice((1, 1, 2)), room)
        chosen = [value, *rng.sample(others[:12], size)]
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


def nice_number(
    low: float,
    high: float,
    target: float,
    *,
    integer: bool,
    low_open: bool = False,
    high_open: bool = False,
) -> float | None:
    """The roundest number in the interval from ``low`` to ``high`` (ends included
    unless ``*_open``), the one nearest ``target`` among equally round ones: the
    bound a person would write (500, 20, 2.5), or None when the interval is empty.

    Integers stay integers; steps go 5, 2.5, 2, 1 times a power of ten downwards.
    """
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        return None
    span = max(abs(low), abs(high), 1e-9)
    top = math.floor(math.log10(span)) + 1
    for power in range(top, top - 9, -1):
        for mantissa in (10, 5, 2.5, 2, 1):
            step = mantissa * 10.0 ** (power - 1)
            if integer and step < 1:
                return None
            first = math.ceil(low / step)
            last = math.floor(high / step)
            candidates = [round(k * step, 10) for k in range(first, min(last, first + 50) + 1)]
            candidates = [c for c in candidates if (c > low or not low_open and c >= low)
                          and (c < high or not high_open and c <= high)]  # fmt: skip
            if candidates:
                best = min(candidates, key=lambda c: (abs(c - target), c))
                return int(best) if integer or float(best).is_integer() else best
    return None


def _as_number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def nice_date(low: str, high: str, target: str, *, low_open: bool = False) -> str | None:
    """A first of January, else a first of a month, between ``low`` and ``high``
    (ISO text; ``high`` excluded), the nearest ``target``: a date bound people write."""
    try:
        years = range(int(low[:4]), int(high[:4]) + 1)
    except ValueError:
        return None

    def inside(day: str) -> bool:
        return (day > low if low_open else day >= low) and day < high

    starts = [f"{y:04d}-01-01" for y in years if inside(f"{y:04d}-01-01")]
    if not starts:
        starts = [f"{y:04d}-{m:02d}-01" for y in years for m in range(1, 13)
                  if inside(f"{y:04d}-{m:02d}-01")]  # fmt: skip
    if not starts:
        return None
    return min(starts, key=lambda d: (abs(_day_number(d) - _day_number(target)), d))


def _day_number(day: str) -> int:
    try:
        return int(day[:4]) * 372 + int(day[5:7]) * 31 + int(day[8:10] or 1)
    except ValueError:
        return 0


def _exact(value: Any) -> bool:
    """Whether equality with ``value`` reads naturally: whole numbers, plain dates, text."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, str):
        return not _has_time(value)
    return True


def _has_time(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 10 and value[10] in " T"


def _ordered_condition(
    ref: Ref, value: Any, rng: random.Random, like: bool, broad: bool = False
) -> Cond | None:
    column = ref.column
    quantiles = [q for q in column.quantiles if type(q) is type(value)]
    if not quantiles:
        return None
    few_values = column.distinct <= 25
    exact = _exact(value)
    equal = (0.2 if few_values else (0.0 if broad else 0.06)) if exact else 0.0
    options = [(0.35, ">"), (0.3, "<"), (0.05, "between"), (equal, "=")]
    dated = column.role == DATE and isinstance(value, str)
    if dated and like:
        options.append((0.1, "like"))
    if few_values and exact:
        options.append((0.05, "!="))
    kind = _pick(rng, options)
    if kind == "like":
        # A year or a month of an ISO date: '2009%', '2009-03%'.
        return Cond(ref, "like", value[: rng.choice((4, 4, 7))] + "%")
    if kind == "!=":
        others = [v for v in column.values if v != value and _exact(v)]
        if others:
            return Cond(ref, "!=", rng.choice(others[:10]))
        kind = "="
    if kind == "=":
        return Cond(ref, "=", value) if exact else None
    target = rng.choice(quantiles[1:-1] or quantiles)
    if dated:
        return _date_condition(ref, value, quantiles[0], quantiles[-1], target, kind, rng)
    return _number_condition(ref, value, quantiles[0], quantiles[-1], target, kind, rng)


def _number_condition(
    ref: Ref, value: Any, low: Any, high: Any, target: Any, kind: str, rng: random.Random
) -> Cond | None:
    """``>``, ``<`` or BETWEEN with round bounds that keep ``value`` and drop some rows."""
    v, lo, hi, goal = (_as_number(x) for x in (value, low, high, target))
    if v is None or lo is None or hi is None or goal is None or lo == hi:
        return None
    integer = isinstance(value, int) and all(isinstance(q, int) for q in (low, high))
    year = ref.column.role == DATE
    if kind == "between":
        bottom = nice_number(lo, v, min(goal, v), integer=integer, low_open=True)
        top = nice_number(v, hi, max(goal, v), integer=integer, high_open=True)
        if bottom is None or top is None or bottom >= top:
            return None
        return Cond(ref, "between", bottom, top)
    strict = rng.random() < 0.7
    if kind == ">":
        # x > t drops the rows at or below t, so t must reach the minimum.
        bound = nice_number(lo, v, min(goal, v), integer=integer, low_open=not strict,
                            high_open=strict)  # fmt: skip
        op = ">" if strict else ">="
    else:
        bound = nice_number(v, hi, max(goal, v), integer=integer, low_open=strict,
                            high_open=not strict)  # fmt: skip
        op = "<" if strict else "<="
    if bound is None:
        return None
    if year and isinstance(value, int):
        bound = int(bound)
    return Cond(ref, op, bound)


def _date_condition(
    ref: Ref, value: str, low: str, high: str, target: str, kind: str, rng: random.Random
) -> Cond | None:
    """On or after / before a first of a month (a year when one fits): bounds a
    person writes, and the same reading for dates and timestamps."""
    day = value[:10]
    if kind == "between" and _has_time(value):
        kind = ">"  # BETWEEN's upper day would cut that day's later hours off
    if kind == "between":
        start = nice_date(low, day, target if target < day else day, low_open=True)
        end = nice_date(day, high, target if target > day else day, low_open=True)
        if start is None or end is None or start >= end:
            return None
        return Cond(ref, "between", start, _day_before(end))
    if kind == ">":
        bound = nice_date(low, day, target if target < day else day, low_open=True)
        # The anchor's own day may be the bound: on or after that day keeps it.
        if bound is None and day > low and day.endswith("-01"):
            bound = day
        return Cond(ref, ">=", bound) if bound is not None else None
    bound = nice_date(value, high, target if target > value else high, low_open=True)
    return Cond(ref, "<", bound) if bound is not None else None


def _day_before(day: str) -> str:
    """The last day before a first of a month: '2018-01-01' -> '2017-12-31'."""
    import datetime

    try:
        parsed = datetime.date.fromisoformat(day)
    except ValueError:
        return day
    return (parsed - datetime.timedelta(days=1)).isoformat()


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
