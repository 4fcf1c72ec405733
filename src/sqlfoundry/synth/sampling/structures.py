"""Harder shapes that mean something: what moves a query to Spider's *hard* and
*extra* levels without stacking filters.

* :func:`group_against_average`: groups compared with the whole ("genres whose
  average price is above the average price of all books", "customers whose
  orders average more than the average order"): HAVING against a subquery, an
  aggregate nested in an aggregate's comparison.
* :func:`children_set_operation`: one population, two related conditions
  ("customers who ordered both a Fantasy and a History book", "... either ...",
  "... but never ..."): INTERSECT, UNION and EXCEPT between branches that list
  the same entity through the same join, as Spider's set operations do.

Each returns a ``Draft`` or None when the schema offers nothing to build it from.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlfoundry.synth.sampling.builder import Builder, Draft
from sqlfoundry.synth.sampling.clauses import aggregate, literal
from sqlfoundry.synth.sampling.profile import (
    CATEGORY,
    MEASURE,
    TEXT,
    ColumnProfile,
    Link,
    TableProfile,
)
from sqlfoundry.synth.sampling.scope import FromClause, JoinStep, Source, single


def _measures(table: TableProfile) -> list[ColumnProfile]:
    return [c for c in table.columns if c.role == MEASURE and c.ordered]


def _subquery(select: exp.Expression) -> exp.Subquery:
    return exp.Subquery(this=select)


def identity(table: TableProfile) -> list[ColumnProfile] | None:
    """The columns that list a table's rows as distinct entities: a label that (nearly)
    never repeats, as Spider's set operations list names; else the label with the key
    (first names repeat: two people are not one), else None."""
    labels = [c for c in table.labels if c.role != "key" or c.unique]
    unique = [c for c in labels if c.unique or c.distinct >= 0.9 * max(1, c.nonnull)]
    if unique:
        return unique[:1]
    keys = [c for c in table.columns if c.primary_key]
    if labels and len(keys) == 1:
        return [labels[0], keys[0]]
    return None


def group_against_average(b: Builder, rich: bool) -> Draft | None:
    """Groups whose average (or total) beats the average over all rows."""
    if b.rng.random() < 0.5:
        draft = _entities_against_average(b, rich)
        if draft is not None:
            return draft
    return _values_against_average(b, rich)


def _values_against_average(b: Builder, rich: bool) -> Draft | None:
    """``SELECT g FROM t GROUP BY g HAVING AVG(m) > (SELECT AVG(m) FROM t)``."""
    table = b.table(lambda t: bool(_measures(t)) and any(c.groupable and c.role == CATEGORY
                                                         for c in t.columns))  # fmt: skip
    if table is None:
        return None
    scope = single(table)
    source = scope.sources[0]
    groups = [c for c in table.columns if c.groupable and c.role == CATEGORY]
    group = b.rng.choice(groups)
    measure = b.rng.choice(_measures(table))
    ref = source.ref(measure)
    average = aggregate("avg", ref, b.dialect)
    inner = b.select(single(table), [aggregate("avg", ref, b.dialect)])
    op = exp.GT if b.rng.random() < 0.65 else exp.LT
    items: list[exp.Expression] = [source.ref(group).node(b.dialect)]
    if rich:
        items.append(average.copy())
    select = b.select(scope, items).group_by(source.ref(group).node(b.dialect), copy=False)
    select = select.having(op(this=average, expression=_subquery(inner)), copy=False)
    if rich and b.rng.random() < 0.5:
        select = select.order_by(b.ordered(average.copy(), op is exp.GT), copy=False)
    return Draft(select, "group-vs-average")


def _links_with_measure(b: Builder) -> list[Link]:
    out = []
    for link in b.profile.links:
        parent, child = b.profile.tables[link.parent], b.profile.tables[link.child]
        single_key = len(link.child_columns) == 1 and len(parent.primary_key) == 1
        if single_key and _measures(child) and identity(parent):
            out.append(link)
    return out


def pair_path(first: TableProfile, second: TableProfile, link: Link) -> FromClause:
    """``first AS T1 JOIN second AS T2`` along ``link`` (either table may be the parent)."""
    return FromClause(
        [Source(first, "T1", 0), Source(second, "T2", len(first.columns))],
        [JoinStep(link, 0, 1)],
    )


def _entities_against_average(b: Builder, rich: bool) -> Draft | None:
    """``SELECT p.name FROM p JOIN c ... GROUP BY p.id HAVING AVG(c.m) > (SELECT AVG(m) FROM c)``."""
    links = _links_with_measure(b)
    if not links:
        return None
    link = b.rng.choice(links)
    parent, child = b.profile.tables[link.parent], b.profile.tables[link.child]
    path = pair_path(parent, child, link)
    shown = identity(parent)
    pk = parent.column(parent.primary_key[0])
    if not shown or pk is None:
        return None
    measure = b.rng.choice(_measures(child))
    func = b.rng.choice(("avg", "avg", "sum")) if not rich else "avg"
    mine = aggregate(func, path.sources[1].ref(measure), b.dialect)
    overall = aggregate("avg", single(child).sources[0].ref(measure), b.dialect)
    inner = b.select(single(child), [overall])
    items = [path.sources[0].ref(c).node(b.dialect) for c in shown]
    if rich:
        items.append(mine.copy())
    select = b.select(path, items).group_by(path.sources[0].ref(pk).node(b.dialect), copy=False)
    select = select.having(exp.GT(this=mine, expression=_subquery(inner)), copy=False)
    return Draft(select, "entity-vs-average")


def children_set_operation(b: Builder, rich: bool) -> Draft | None:
    """Entities by two values of a related table: both (INTERSECT), either (UNION)
    or one but not the other (EXCEPT)."""
    options = []
    for link in b.profile.links:
        if len(link.child_columns) != 1:
            continue
        parent, child = b.profile.tables[link.parent], b.profile.tables[link.child]
        if identity(parent) is None:
            continue
        for column in child.columns:
            if column.role in (CATEGORY, TEXT) and 2 <= column.distinct <= 40 and column.groupable:
                options.append((link, column))
    if not options:
        return None
    link, column = b.rng.choice(options)
    parent, child = b.profile.tables[link.parent], b.profile.tables[link.child]
    path = pair_path(parent, child, link)
    rows = b.data.rows(path)
    if not rows:
        return None
    shown = identity(parent)
    assert shown is not None
    parent_ref = path.sources[0]
    value_ref = path.sources[1].ref(column)
    # Values per parent, from real joined rows.
    per_parent: dict[tuple[Any, ...], set[Any]] = {}
    for row in rows:
        key = tuple(parent_ref.ref(c).value(row) for c in shown)
        value = value_ref.value(row)
        if isinstance(value, str):
            per_parent.setdefault(key, set()).add(value)
    kind = b.rng.choices(("intersect", "union", "except"), weights=(0.45, 0.25, 0.3))[0]
    values = sorted({v for vs in per_parent.values() for v in vs})
    if len(values) < 2:
        return None
    if kind == "intersect":
        pairs = [sorted(vs) for vs in per_parent.values() if len(vs) >= 2]
        if not pairs:
            return None
        first, second = b.rng.sample(b.rng.choice(pairs), 2)
    elif kind == "except":
        lacking = [(vs, v) for vs in per_parent.values() for v in values if v not in vs]
        if not lacking:
            return None
        have, missing = b.rng.choice(lacking)
        first, second = b.rng.choice(sorted(have)), missing
    else:
        first, second = b.rng.sample(values, 2)

    def branch(value: Any) -> exp.Select:
        select = b.select(path, [parent_ref.ref(c).node(b.dialect) for c in shown])
        return select.where(exp.EQ(this=value_ref.node(b.dialect), expression=literal(value)),
                            copy=False)  # fmt: skip

    node = {"intersect": exp.Intersect, "union": exp.Union, "except": exp.Except}[kind]
    return Draft(node(this=branch(first), expression=branch(second), distinct=True),
                 f"children-{kind}")  # fmt: skip
