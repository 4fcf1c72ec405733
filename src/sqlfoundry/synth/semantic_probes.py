"""Probe queries that tell whether a query's answer means what it seems to, by execution.

Each probe is a small read-only query derived from the original with sqlglot,
plus a rule that reads its rows. They are pure functions of the SQL tree (and
the schema, for primary keys), so the generator (on its own connection) and the
``sql_semantic_filter`` operator (through the run's executor) share them:

* **tie at the cutoff**: ``ORDER BY ... LIMIT k`` run with ``LIMIT k + 1`` and
  the sort keys projected; when row k+1 sorts the same as row k, which k rows
  come back is arbitrary;
* **fan-out**: a join whose result shows only some of its tables, run with the
  primary keys of the shown tables added; a key that repeats means the same
  entity is listed once per row of a table the answer does not show;
* **one row per group**: a grouped query with aggregates, run as
  ``COUNT(*) ... GROUP BY``; when every group holds one row, "for each X, the
  average Y" is only Y;
* **tautology**: each WHERE condition counted over its FROM clause; a condition
  that keeps every row filters nothing.

The degenerate-result rules (a single NULL, only zeros) read the query's own rows.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from sqlfoundry.sql.parse import sql_text

NESTED = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.GroupConcat)
_KEY_PREFIX = "sqlf_key_"


@dataclass
class Probe:
    """One probe query and how to read it.

    Attributes:
        kind: ``tie``, ``fan_out``, ``group_size`` or ``tautology``.
        sql: the probe's text in the database's dialect.
        positions: the columns of a probe row that identify (fan-out) or sort (tie) it.
        limit: the original LIMIT (tie probes).
        detail: what the probe is about, for the reject reason ("visits", the condition).
    """

    kind: str
    sql: str
    positions: list[int] = field(default_factory=list)
    limit: int = 0
    detail: str = ""


def _render(probe: exp.Expression, dialect: str) -> str:
    # Each probe is a tree of its own, printed once: no copy of it first.
    return sql_text(probe, dialect, copy=False)


def _int_limit(node: exp.Expression) -> int | None:
    limit = node.args.get("limit")
    if not isinstance(limit, exp.Limit):
        return None
    value = limit.args.get("expression")
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def _set_limit(node: exp.Expression, k: int) -> None:
    node.set("limit", exp.Limit(expression=exp.Literal.number(k)))


def own_nodes(node: exp.Expression):
    """Nodes of one SELECT's own scope (nested queries left out)."""
    stack = list(node.iter_expressions())
    while stack:
        item = stack.pop()
        if isinstance(item, NESTED):
            continue
        yield item
        stack.extend(item.iter_expressions())


def has_aggregate(node: exp.Expression) -> bool:
    """Whether ``node`` computes an aggregate outside nested queries."""
    if isinstance(node, AGGREGATES):
        return True
    return any(isinstance(n, AGGREGATES) for n in own_nodes(node))


def _projection_index(select: exp.Select, expr: exp.Expression) -> int | None:
    """Which output column ``expr`` (an ORDER BY term) names: by alias, by text or by position."""
    items = select.expressions
    if isinstance(expr, exp.Literal) and not expr.is_string and expr.this.isdigit():
        index = int(expr.this) - 1
        return index if 0 <= index < len(items) else None
    text = sql_text(expr)
    for i, item in enumerate(items):
        inner = item.this if isinstance(item, exp.Alias) else item
        if sql_text(inner) == text:
            return i
        named = isinstance(expr, exp.Column) and not expr.table
        if named and item.alias_or_name == expr.name and isinstance(item, (exp.Alias, exp.Column)):
            return i
    return None


# ---------------------------------------------------------------------- ties


def tie_probe(tree: exp.Expression, dialect: str) -> Probe | None:
    """The probe for a tie at the LIMIT cutoff, or None when the query has no
    ``ORDER BY ... LIMIT k`` at its top."""
    order = tree.args.get("order")
    k = _int_limit(tree)
    if order is None or not order.expressions or not k:
        return None
    probe = tree.copy()
    _set_limit(probe, k + 1)
    terms = [o.this if isinstance(o, exp.Ordered) else o for o in order.expressions]
    if isinstance(tree, exp.SetOperation):
        left = tree.this
        while isinstance(left, exp.SetOperation):
            left = left.this
        if not isinstance(left, exp.Select):
            return None
        positions = [_projection_index(left, t) for t in terms]
        if any(p is None for p in positions):
            return None
        return Probe("tie", _render(probe, dialect), positions, k)  # type: ignore[arg-type]
    if not isinstance(tree, exp.Select):
        return None
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
           for e in tree.expressions):  # fmt: skip
        return None
    positions: list[int] = []
    extra: list[exp.Expression] = []
    for i, term in enumerate(terms):
        index = _projection_index(tree, term)
        if index is not None:
            positions.append(index)
            continue
        if tree.args.get("distinct") is not None:
            return None  # an extra column would change what DISTINCT keeps
        positions.append(len(tree.expressions) + len(extra))
        extra.append(exp.alias_(term.copy(), f"{_KEY_PREFIX}{i}"))
    if extra:
        probe.set("expressions", [*probe.expressions, *extra])
    return Probe("tie", _render(probe, dialect), positions, k)


def tie_at_cutoff(rows: Sequence[tuple[Any, ...]], probe: Probe) -> bool:
    """Whether the row after the cutoff sorts exactly like the last row kept."""
    k = probe.limit
    if len(rows) <= k:
        return False
    last, after = rows[k - 1], rows[k]
    return all(_same(last[p], after[p]) for p in probe.positions)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return a == b
    return a == b


# ---------------------------------------------------------------------- fan-out


def _sources(select: exp.Select) -> list[exp.Table]:
    nodes = [select.args["from_"].this] if select.args.get("from_") else []
    nodes.extend(j.this for j in select.args.get("joins") or ())
    return [n for n in nodes if isinstance(n, exp.Table)]


def _qualifier(table: exp.Table) -> str:
    return table.alias_or_name


def _column_source(col: exp.Column, sources: list[exp.Table], schema: Any) -> exp.Table | None:
    if col.table:
        low = col.table.lower()
        return next((s for s in sources if _qualifier(s).lower() == low), None)
    holders = [s for s in sources if _table_has(schema, s.name, col.name)]
    return holders[0] if len(holders) == 1 else None


def _table_has(schema: Any, table: str, column: str) -> bool:
    t = schema.table(table) if schema is not None else None
    return t is not None and any(c.name.lower() == column.lower() for c in t.columns)


def fan_out_probe(tree: exp.Expression, schema: Any, dialect: str) -> Probe | None:
    """The probe for join fan-out, or None when the query cannot fan out: no join,
    DISTINCT, GROUP BY, aggregates, or every joined table shown."""
    if not isinstance(tree, exp.Select) or tree.args.get("distinct") is not None:
        return None
    if tree.args.get("group") is not None or any(has_aggregate(e) for e in tree.expressions):
        return None
    sources = _sources(tree)
    if len(sources) < 2 or len(sources) != 1 + len(tree.args.get("joins") or ()):
        return None
    shown: list[exp.Table] = []
    for item in tree.expressions:
        if isinstance(item, exp.Star) or (
            isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
        ):
            return None
        for col in item.find_all(exp.Column):
            source = _column_source(col, sources, schema)
            if source is None:
                return None
            if source not in shown:
                shown.append(source)
    hidden = [s for s in sources if s not in shown]
    if not shown or not hidden:
        return None
    extra: list[exp.Expression] = []
    positions: list[int] = []
    for source in shown:
        table = schema.table(source.name) if schema is not None else None
        keys = list(table.primary_key) if table is not None else []
        if not keys:
            # No key: the shown columns of this table are all there is to tell rows apart.
            for i, item in enumerate(tree.expressions):
                cols = list(item.find_all(exp.Column))
                if cols and all(_column_source(c, sources, schema) is source for c in cols):
                    positions.append(i)
            continue
        for key in keys:
            positions.append(len(tree.expressions) + len(extra))
            column = exp.column(key, table=_qualifier(source), quoted=True)
            extra.append(exp.alias_(column, f"{_KEY_PREFIX}{len(extra)}"))
    if not positions:
        return None
    probe = tree.copy()
    probe.set("expressions", [*probe.expressions, *extra])
    detail = ", ".join(s.name for s in hidden)
    return Probe("fan_out", _render(probe, dialect), positions, detail=detail)


def repeated_entities(rows: Sequence[tuple[Any, ...]], probe: Probe) -> int:
    """How many rows repeat an entity already listed (0: no fan-out)."""
    seen = Counter(tuple(row[p] for p in probe.positions) for row in rows)
    return sum(n - 1 for n in seen.values() if n > 1)


_PER_WORDS = re.compile(r"\b(?:each|every|per)((?:\s+\w+){1,3})")


def question_says_per(question: str | None, tables: str) -> bool:
    """Whether the question asks for one row per row of a hidden table ("for each visit")."""
    if not question:
        return False
    from sqlfoundry.synth.naming import singular, words

    wanted = {singular(w) for name in tables.split(", ") for w in words(name)}
    return any(
        singular(word) in wanted
        for m in _PER_WORDS.finditer(question.lower())
        for word in m.group(1).split()
    )


# ---------------------------------------------------------------------- groups


def group_size_probe(tree: exp.Expression, dialect: str) -> Probe | None:
    """``COUNT(*) ... GROUP BY`` of a grouped query with aggregates; None otherwise."""
    if not isinstance(tree, exp.Select) or tree.args.get("group") is None:
        return None
    used = [
        *tree.expressions,
        *(tree.args.get("order").expressions if tree.args.get("order") else []),
    ]
    having = tree.args.get("having")
    if not any(has_aggregate(e) for e in used) and having is None:
        return None
    probe = tree.copy()
    for key in ("order", "limit", "offset", "distinct"):
        probe.set(key, None)
    probe.set("expressions", [exp.Count(this=exp.Star())])
    return Probe("group_size", _render(probe, dialect))


def one_row_per_group(rows: Sequence[tuple[Any, ...]]) -> bool:
    """Whether a group-size probe found every group holding a single row."""
    return bool(rows) and all(row[0] == 1 for row in rows)


# ---------------------------------------------------------------------- tautologies


def tautology_probes(tree: exp.Expression, dialect: str) -> Iterator[Probe]:
    """One probe per plain WHERE condition of the top SELECT (or of each branch of a
    set operation): the number of rows of its FROM clause that the condition drops.
    Each is built when asked for."""
    selects: list[exp.Select] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.SetOperation):
            stack.extend([node.this, node.expression])
        elif isinstance(node, exp.Select):
            selects.append(node)
    for select in selects:
        where = select.args.get("where")
        if where is None or select.args.get("from_") is None:
            continue
        for cond in _conjuncts(where.this):
            if any(isinstance(n, NESTED) for n in cond.walk()) or has_aggregate(cond):
                continue
            if not list(cond.find_all(exp.Column)):
                continue
            kept = exp.Count(
                this=exp.Case(ifs=[exp.If(this=cond.copy(), true=exp.Literal.number(1))])
            )
            dropped = exp.Sub(this=exp.Count(this=exp.Star()), expression=kept)
            probe = exp.Select(expressions=[dropped])
            probe.set("from_", select.args["from_"].copy())
            if select.args.get("joins"):
                probe.set("joins", [j.copy() for j in select.args["joins"]])
            yield Probe("tautology", _render(probe, dialect), detail=sql_text(cond, dialect))


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def keeps_every_row(rows: Sequence[tuple[Any, ...]]) -> bool:
    """A tautology probe's verdict: rows exist and the condition dropped none."""
    return bool(rows) and rows[0][0] == 0


# ---------------------------------------------------------------------- degenerate results


def degenerate(rows: Sequence[tuple[Any, ...]]) -> str | None:
    """``a single NULL`` or ``only zeros`` when the result says nothing; else None."""
    if not rows:
        return None
    values = [v for row in rows for v in row]
    if all(v is None for v in values):
        return "a single NULL" if len(rows) == 1 else "only NULLs"
    numbers = [v for v in values if v is not None]
    if numbers and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0
                       for v in numbers):  # fmt: skip
        return "only zeros"
    return None
