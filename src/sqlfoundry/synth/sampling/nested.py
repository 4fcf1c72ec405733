"""Shapes beyond one SELECT block: subqueries, set operations, CASE and arithmetic.

Each function takes a :class:`~.builder.Builder` and returns a ``Draft`` or
None when the schema offers nothing to build it from. ``rich`` asks for a
busier outer query (more columns, conditions, an ORDER BY), which is what
moves a query from Spider's *hard* to *extra*.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlfoundry.synth.sampling.builder import Builder, Draft
from sqlfoundry.synth.sampling.clauses import Cond, aggregate, combine, condition, literal
from sqlfoundry.synth.sampling.profile import CATEGORY, DATE, MEASURE, TEXT, Link, TableProfile
from sqlfoundry.synth.sampling.scope import FromClause, Ref, Source, single
from sqlfoundry.synth.sampling.structures import identity, pair_path

_SCALAR_FORMS = ((">", "avg", 0.4), ("<", "avg", 0.25), ("=", "max", 0.2), ("=", "min", 0.15))


def _has_measure(table: TableProfile) -> bool:
    return any(c.role == MEASURE and c.ordered for c in table.columns)


def _subquery(select: exp.Expression) -> exp.Subquery:
    return exp.Subquery(this=select)


def scalar_comparison(b: Builder, rich: bool) -> Draft | None:
    """``... WHERE m > (SELECT AVG(m) FROM t [WHERE c])`` and ``m = (SELECT MAX(m) ...)``."""
    table = b.table(_has_measure)
    if table is None:
        return None
    scope = single(table)
    source = scope.sources[0]
    measure = b.rng.choice([c for c in table.columns if c.role == MEASURE and c.ordered])
    ref = source.ref(measure)
    op, func, _ = b.rng.choices(_SCALAR_FORMS, weights=[w for *_, w in _SCALAR_FORMS])[0]
    inner_scope = single(table)
    inner = b.select(inner_scope, [aggregate(func, inner_scope.sources[0].ref(measure), b.dialect)])
    rows = b.data.rows(scope)
    if not rows:
        return None
    # The inner filter, when there is one, narrows the rows the aggregate compares with.
    if func == "avg" and b.rng.random() < 0.35:
        group = [c for c in table.columns if c.role in (CATEGORY, DATE) and c.groupable]
        if group:
            inner_ref = inner_scope.sources[0].ref(b.rng.choice(group))
            cond = condition(inner_ref, b.rng.choice(rows), b.rng, like=False)
            if cond is not None:
                inner = inner.where(cond.node(b.dialect), copy=False)
    comparison = {">": exp.GT, "<": exp.LT, "=": exp.EQ}[op](
        this=ref.node(b.dialect), expression=_subquery(inner)
    )
    # Anchor the outer filters on a row that passes the comparison.
    values = [r[measure.position] for r in rows if isinstance(r[measure.position], (int, float))]
    if not values:
        return None
    mean = sum(values) / len(values)
    passing = {
        ">": [r for r in rows if _num(r[measure.position]) > mean],
        "<": [r for r in rows if _num(r[measure.position], mean) < mean],
        "=": [r for r in rows if r[measure.position] == (max if func == "max" else min)(values)],
    }[op] or rows
    row = b.rng.choice(passing)
    # Richer, not stacked: an extra filter or a second column, seldom both.
    extra = (
        b.conditions(scope, row, 1, exclude=[ref], broad=True)
        if rich and b.rng.random() < 0.6
        else []
    )
    columns = 2 if rich and not extra and b.rng.random() < 0.6 else 1
    refs = b.projection(scope, source, columns, exclude=[ref] if op == "=" else [])
    select = b.select(scope, [r.node(b.dialect) for r in refs])
    nodes = [comparison, *(c.node(b.dialect) for c in extra)]
    if len(nodes) > 1 and b.rng.random() < 0.5:
        nodes.reverse()
    select = select.where(combine(nodes, ["and"] * (len(nodes) - 1)), copy=False)
    if rich and op != "=" and b.rng.random() < 0.15:
        select = select.order_by(b.ordered(ref.node(b.dialect), b.rng.random() < 0.6), copy=False)
    return Draft(select, f"scalar-subquery-{func}")


def _num(value: Any, default: float = float("-inf")) -> float:
    return value if isinstance(value, (int, float)) else default


def _single_links(b: Builder) -> list[Link]:
    return [link for link in b.profile.links if len(link.child_columns) == 1]


def membership(b: Builder, rich: bool) -> Draft | None:
    """``... WHERE key [NOT] IN (SELECT fk FROM other WHERE c)`` along a foreign key."""
    links = _single_links(b)
    if not links:
        return None
    link = b.rng.choice(links)
    parent, child = b.profile.tables[link.parent], b.profile.tables[link.child]
    # Mostly "parents with a matching child", sometimes the child side.
    outer_is_parent = b.rng.random() < 0.7
    outer_table, inner_table = (parent, child) if outer_is_parent else (child, parent)
    outer_col = outer_table.column(
        (link.parent_columns if outer_is_parent else link.child_columns)[0]
    )
    inner_col = inner_table.column(
        (link.child_columns if outer_is_parent else link.parent_columns)[0]
    )
    if outer_col is None or inner_col is None:
        return None
    negated = outer_is_parent and b.rng.random() < 0.35 and _never_null(inner_col, inner_table)
    # One real joined row anchors both the inner filter and the outer ones.
    path = pair_path(outer_table, inner_table, link)
    rows = b.data.rows(path)
    if not rows:
        return None
    row = b.rng.choice(rows)
    inner_scope = single(inner_table)
    inner_source = inner_scope.sources[0]
    inner_row = row[len(outer_table.columns) :]
    inner_refs = [inner_source.ref(c) for c in inner_table.columns if c is not inner_col]
    inner_cond = None
    # IN without a filter only says "has a match"; NOT IN reads well bare ("never ordered").
    if inner_refs and (not negated or b.rng.random() < 0.6):
        for _ in range(4):
            ref = b.rng.choice(inner_refs)
            if ref.role in (CATEGORY, MEASURE, DATE, TEXT):
                inner_cond = condition(ref, inner_row, b.rng, like=False)
                if inner_cond is not None:
                    break
    if inner_cond is None and not negated:
        return None
    inner = b.select(inner_scope, [inner_source.ref(inner_col).node(b.dialect)])
    if inner_cond is not None:
        inner = inner.where(inner_cond.node(b.dialect), copy=False)
    scope = single(outer_table)
    source = scope.sources[0]
    test: exp.Expression = exp.In(
        this=source.ref(outer_col).node(b.dialect), query=_subquery(inner)
    )
    if negated:
        test = exp.Not(this=test)
    outer_row = row[: len(outer_table.columns)]
    extra = []
    if rich and not negated and b.rng.random() < 0.6:
        extra = b.conditions(scope, outer_row, 1, exclude=[source.ref(outer_col)], broad=True)

    columns = 2 if rich and not extra and b.rng.random() < 0.6 else 1
    refs = b.projection(scope, source, columns, exclude=[source.ref(outer_col)])
    if not refs:
        return None
    select = b.select(scope, [r.node(b.dialect) for r in refs])
    nodes = [test, *(c.node(b.dialect) for c in extra)]
    select = select.where(combine(nodes, ["and"] * (len(nodes) - 1)), copy=False)
    return Draft(select, "not-in-subquery" if negated else "in-subquery")


def _never_null(column: Any, table: TableProfile) -> bool:
    """NOT IN over a list holding NULL is never true; allow it only on NULL-free columns."""
    return column.not_null or column.primary_key or (table.complete and not column.has_nulls)


def set_operation(b: Builder, rich: bool) -> Draft | None:
    """Two branches projecting the same columns, joined by UNION, INTERSECT or EXCEPT."""
    kind = b.rng.choices(
        ("intersect", "union", "except", "except-join"), weights=(0.35, 0.3, 0.2, 0.15)
    )[0]
    if kind == "except-join":
        return _except_unmatched(b, rich)
    joins = 1 if rich and b.rng.random() < 0.6 else 0
    scope = b.from_clause(joins)
    if scope is None:
        return None
    rows = b.data.rows(scope)
    if not rows:
        return None
    focus = b.focus(scope)
    # Both branches list the same entities: names that tell rows apart, not a
    # shared first name of two unrelated people.
    shown = identity(focus.table)
    if shown is None:
        return None
    refs = [focus.ref(c) for c in shown]
    row = b.rng.choice(rows)
    first = b.conditions(scope, row, 1, like=rich, avoid=focus, keys=False, exclude=refs)
    if not first:
        return None
    second = _second_branch_conditions(b, scope, rows, row, first, kind, focus, refs)
    if not second:
        return None
    left = b.where(b.select(scope, [r.node(b.dialect) for r in refs]), first)
    right = b.where(b.select(scope, [r.node(b.dialect) for r in refs]), second)
    node = {"intersect": exp.Intersect, "union": exp.Union, "except": exp.Except}[kind]
    return Draft(node(this=left, expression=right, distinct=True), kind)


def _second_branch_conditions(
    b: Builder,
    scope: FromClause,
    rows: list[tuple[Any, ...]],
    row: tuple[Any, ...],
    first: list[Cond],
    kind: str,
    focus: Source,
    refs: list[Ref],
) -> list[Cond]:
    # The second branch filters on other columns: the same column would make
    # "a = 1 UNION a = 2" (one IN list) or "a = 1 INTERSECT a > 0" (redundant).
    used = [c.ref for c in first] + list(refs)
    if kind == "intersect":
        # Another row with the same projected values, so both branches share it.
        same = [r for r in rows if all(p.value(r) == p.value(row) for p in refs)]
        return b.conditions(scope, b.rng.choice(same), 1, avoid=focus, exclude=used, keys=False)
    if kind == "except":
        # A condition the anchor row fails, so its values survive the EXCEPT.
        for _ in range(6):
            conds = b.conditions(
                scope, b.rng.choice(rows), 1, avoid=focus, exclude=used, keys=False
            )
            if conds and not conds[0].holds(row):
                return conds
        return []
    return b.conditions(scope, b.rng.choice(rows), 1, avoid=focus, exclude=used, keys=False)


def _except_unmatched(b: Builder, rich: bool) -> Draft | None:
    """Parents with no (matching) child: ``SELECT l FROM p EXCEPT SELECT T1.l FROM p JOIN c``."""
    links = _single_links(b)
    if not links:
        return None
    link = b.rng.choice(links)
    parent, child = b.profile.tables[link.parent], b.profile.tables[link.child]
    scope = single(parent)
    shown = identity(parent)
    if shown is None:
        return None
    left = b.select(scope, [scope.sources[0].ref(c).node(b.dialect) for c in shown])
    path = pair_path(parent, child, link)
    right = b.select(path, [path.sources[0].ref(c).node(b.dialect) for c in shown])
    rows = b.data.rows(path)
    if rows and (rich or b.rng.random() < 0.5):
        conds = b.conditions(path, b.rng.choice(rows), 1, avoid=path.sources[0])
        right = b.where(right, conds)
    return Draft(exp.Except(this=left, expression=right, distinct=True), "except-unmatched")


def conditional_share(b: Builder, rich: bool) -> Draft | None:
    """The percentage of rows meeting a condition, overall or per group (CASE inside SUM)."""
    table = b.table()
    if table is None:
        return None
    scope = single(table)
    rows = b.data.rows(scope)
    if not rows:
        return None
    conds = b.conditions(scope, b.rng.choice(rows), 1, broad=True)
    if not conds:
        return None
    flag = exp.Case(
        ifs=[exp.If(this=conds[0].node(b.dialect), true=literal(1))], default=literal(0)
    )
    total = exp.Sum(this=flag)
    if b.rng.random() < 0.6:
        share = exp.Div(
            this=exp.Mul(
                this=exp.Cast(this=total, to=exp.DataType.build("REAL")), expression=literal(100)
            ),
            expression=aggregate("count", None, b.dialect),
            typed=True,  # the dialect's own division; the CAST already makes it real
        )
    else:
        share = total
    group = [k for k in b.group_keys(scope) if k[1].column is not conds[0].ref.column]
    if group and (rich or b.rng.random() < 0.4):
        display, key = b.rng.choice(group)
        select = b.select(scope, [*(r.node(b.dialect) for r in display), share])
        select = select.group_by(key.node(b.dialect), copy=False)
        if rich:
            select = select.order_by(b.ordered(share.copy(), True), copy=False)
        return Draft(select, "case-share-group")
    return Draft(b.select(scope, [share]), "case-share")


def spread(b: Builder, rich: bool) -> Draft | None:
    """``MAX(m) - MIN(m)``, overall, filtered or per group."""
    table = b.table(_has_measure)
    if table is None:
        return None
    scope = single(table)
    source = scope.sources[0]
    measure = b.rng.choice([c for c in table.columns if c.role == MEASURE and c.ordered])
    ref = source.ref(measure)
    node = exp.Sub(
        this=aggregate("max", ref, b.dialect), expression=aggregate("min", ref, b.dialect)
    )
    group = [k for k in b.group_keys(scope) if k[1].column is not measure]
    if group and (rich or b.rng.random() < 0.5):
        display, key = b.rng.choice(group)
        select = b.select(scope, [*(r.node(b.dialect) for r in display), node])
        return Draft(select.group_by(key.node(b.dialect), copy=False), "spread-group")
    select = b.select(scope, [node])
    rows = b.data.rows(scope)
    if rows and b.rng.random() < 0.6:
        select = b.where(select, b.conditions(scope, b.rng.choice(rows), 1, exclude=[ref]))
    return Draft(select, "spread")
