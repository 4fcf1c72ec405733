"""Filters no person would write, found by reading the SQL tree against the schema.

A generated query is contrived when one of its WHERE or HAVING comparisons

* tests a surrogate or foreign key against a number (``doctor_id = 17``);
* compares with a timestamp to the minute or second (``'2024-01-02 20:30:00'``);
* tests a float for exact equality (``on_time_rate = 0.969``);
* uses a threshold nobody would type: a number with more significant digits
  than a person rounds to (``price > 3242.5``, ``salary >= 72080``), or a date
  bound that is not the first of a month (``< '2018-03-16'``).

Years, counts (``HAVING COUNT(*) > 17``) and equality with a value read from the
data (``price = 12.99`` on a price list is a float equality, and is flagged)
are judged as above. :func:`contrived_filters` lists the reasons; the
``sql_semantic_filter`` operator rejects on them in synthesis mode, and the run
report counts them.
"""

from __future__ import annotations

import math
import re
from typing import Any

from sqlglot import exp

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.lru import per_object
from sqlfoundry.sql.literals import with_literals
from sqlfoundry.sql.parse import read_tree, sql_text
from sqlfoundry.synth.naming import words

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T](\d{2}):(\d{2})(?::(\d{2}))?")
_DATE = re.compile(r"^\d{4}-\d{2}-(\d{2})$")
_RANGES = (exp.GT, exp.GTE, exp.LT, exp.LTE)
_KEY_WORDS = {"id", "ids"}


def significant_digits(value: float) -> int:
    """Significant digits of a number as written: 72080 -> 4, 0.969 -> 3, 5000 -> 1."""
    if value == 0 or not math.isfinite(value):
        return 1
    text = f"{abs(value):.10g}"
    if "e" in text:
        mantissa = text.split("e")[0]
        return len(mantissa.replace(".", "").strip("0")) or 1
    digits = text.replace(".", "").lstrip("0")
    if "." not in text:
        digits = digits.rstrip("0")
    return len(digits.rstrip("0")) or 1


def is_round(value: float) -> bool:
    """What a person writes as a bound: at most two significant digits (48, 5200,
    0.97), or three ending in a quarter step (125, 2.75, 1250)."""
    digits = significant_digits(value)
    if digits <= 2:
        return True
    if digits == 3:
        scale = 10 ** (math.floor(math.log10(abs(value))) - 2)
        return round(abs(value) / scale) % 25 == 0
    return False


def _number(node: exp.Expression) -> float | None:
    if isinstance(node, exp.Neg):
        inner = _number(node.this)
        return -inner if inner is not None else None
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this)
        except ValueError:
            return None
    return None


def _string(node: exp.Expression) -> str | None:
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


class _Keys:
    """Which column names of the schema are keys (declared, or named ``..._id``)."""

    def __init__(self, schema: Any) -> None:
        self.keys: set[str] = set()
        self.numeric_years: set[str] = set()
        for table in getattr(schema, "tables", None) or []:
            for name in table.primary_key:
                self.keys.add(name.lower())
            for fk in table.foreign_keys:
                self.keys.update(c.lower() for c in fk.columns)
                self.keys.update(c.lower() for c in fk.ref_columns)

    def is_key(self, column: str) -> bool:
        parts = words(column)
        return column.lower() in self.keys or (bool(parts) and parts[-1] in _KEY_WORDS)


# Each schema's keys, found once: a run asks about a database's records one by one.
@per_object(64)
def _keys_of(schema: Any) -> _Keys:
    return _Keys(schema)


def _year_like(column: exp.Expression) -> bool:
    col = column if isinstance(column, exp.Column) else None
    if col is None:
        return False
    return bool({"year", "yr", "season"} & set(words(col.name)))


def _comparisons(tree: exp.Expression):
    for clause in tree.find_all(exp.Where, exp.Having):
        yield from clause.find_all(exp.EQ, exp.NEQ, *_RANGES, exp.In, exp.Between)


def contrived_filters(sql: str | exp.Expression, schema: Any, dialect: str = "sqlite") -> list[str]:
    """The contrived comparisons of a query, one reason each (empty: none found).

    An unparseable query gives no reasons (the execution filter judges it).
    """
    try:
        tree = read_tree(sql, dialect)
    except SqlfoundryError:
        return []
    tree = with_literals(tree, dialect)  # the tree is the caller's or shared
    keys = _keys_of(schema)
    found: list[str] = []
    for node in _comparisons(tree):
        left = node.this
        if isinstance(node, exp.In):
            values = list(node.expressions)
            if not values or node.args.get("query") is not None:
                continue
        elif isinstance(node, exp.Between):
            values = [node.args["low"], node.args["high"]]
        else:
            left, right = node.this, node.expression
            if _number(left) is not None or _string(left) is not None:
                left, right = right, left
            values = [right]
        column = left.this if isinstance(left, (exp.Cast, exp.Paren)) else left
        numbers = [n for n in (_number(v) for v in values) if n is not None]
        strings = [s for s in (_string(v) for v in values) if s is not None]
        if not numbers and not strings:
            continue
        problem = _problem(node, column, numbers, strings, keys)
        if problem:  # the comparison's text only for a reason given (printing costs)
            found.append(f"{problem}: {sql_text(node, dialect)}")
    return found


def _problem(
    node: exp.Expression, column: exp.Expression, numbers: list, strings: list[str], keys: _Keys
) -> str | None:
    """What makes one comparison contrived, or None."""
    if isinstance(column, exp.Column) and numbers and keys.is_key(column.name):
        return "filter on a key column"
    if any(_to_the_minute(s) for s in strings):
        return "timestamp to the minute"
    if isinstance(node, (exp.EQ, exp.NEQ, exp.In)) and any(
        not float(n).is_integer() for n in numbers
    ):
        return "exact float equality"
    if isinstance(node, (*_RANGES, exp.Between)):
        counts = isinstance(column, exp.Count)
        if not counts and not _year_like(column) and any(not is_round(n) for n in numbers):
            return "non-round threshold"
        if any(_DATE.match(s) and not _period_bound(s) for s in strings):
            return "non-round date threshold"
    return None


def _period_bound(day: str) -> bool:
    """A first of a month or a month's last day: where a period a person names begins or ends."""
    import calendar

    year, month, date = (int(p) for p in day.split("-"))
    return date == 1 or (1 <= month <= 12 and date == calendar.monthrange(year, month)[1])


def _to_the_minute(value: str) -> bool:
    match = _TIMESTAMP.match(value)
    if match is None:
        return False
    return any(part not in (None, "00") for part in match.groups())
