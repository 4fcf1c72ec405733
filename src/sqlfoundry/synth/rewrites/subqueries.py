"""Filtering joins, IN subqueries and EXISTS subqueries, rewritten into each other.

A join whose table is read only to filter (``JOIN t2 ON T1.k = T2.k WHERE T2.x
= 'v'``) says the same as ``T1.k IN (SELECT k FROM t2 WHERE x = 'v')`` or a
correlated EXISTS, except for duplicates: the join repeats a row once per match.
These rules do not try to prove uniqueness; the variation generator keeps a
rewrite only when its result equals the original's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from sqlfoundry.synth.rewrites.base import (
    SchemaFacts,
    conjuncts,
    has_query,
    has_star,
    is_inner,
    is_plain_identifier,
    next_alias,
    own_columns,
    qualifiers,
    requalify,
    set_where,
    simple_table,
    source_name,
    sources,
    table_node,
    where_parts,
)


@dataclass
class _FilterJoin:
    """A joined table read only to filter: how it links, and its conditions."""

    index: int  # position among the select's sources
    outer: exp.Column  # the other side of the link, e.g. T1.k
    inner: exp.Column  # the filter table's link column, e.g. T2.k
    filters: list[exp.Expression]  # conditions on the filter table alone
    moved: list[exp.Expression]  # ON conditions that do not involve it, for WHERE
    kept_where: list[exp.Expression]  # the rest of WHERE


def _link(condition: exp.Expression, name: str, others: set[str]) -> tuple | None:
    """``(other_column, own_column)`` when ``condition`` is ``name.c = other.k``."""
    if not isinstance(condition, exp.EQ):
        return None
    left, right = condition.this, condition.expression
    if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)):
        return None
    lq, rq = left.table.lower(), right.table.lower()
    if lq == name and rq in others:
        return right, left
    if rq == name and lq in others:
        return left, right
    return None


def _unqualified_ok(select: exp.Select, facts: SchemaFacts | None, name: str) -> bool:
    """Whether no unqualified column of this scope could belong to source ``name``."""
    loose = [c for c in own_columns(select) if not c.table and not isinstance(c.this, exp.Star)]
    if not loose:
        return True
    if facts is None:
        return False
    table = next(s for s in sources(select) if source_name(s) == name)
    aliases = {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
    return all(c.name.lower() in aliases or not facts.has_column(table.name, c.name) for c in loose)


def _filter_join(select: exp.Select, facts: SchemaFacts | None) -> _FilterJoin | None:
    """The last joined table that is read only in its link and in its own filters."""
    joins = select.args.get("joins") or []
    srcs = sources(select)
    names = [source_name(s) for s in srcs]
    if not joins or len(set(names)) != len(names) or has_star(select):
        return None
    if not all(is_inner(j) for j in joins):
        return None
    for index in range(len(srcs) - 1, -1, -1):
        plan = _plan(select, srcs, names, index, facts)
        if plan is not None:
            return plan
    return None


def _plan(select, srcs, names, index, facts) -> _FilterJoin | None:
    name = names[index]
    if not simple_table(srcs[index]) or not _unqualified_ok(select, facts, name):
        return None
    joins = select.args["joins"]
    # The FROM table links through the first join's ON; a joined table through its own.
    link_join = joins[0] if index == 0 else joins[index - 1]
    partner = {names[1]} if index == 0 else set(names) - {name}
    link, filters, moved = None, [], []
    for part in conjuncts(link_join.args["on"]):
        used = qualifiers(part)
        found = _link(part, name, partner) if link is None else None
        if found is not None:
            link = found
        elif used == {name}:
            filters.append(part)
        elif name not in used and not (index == 0 and used - {names[1]}):
            moved.append(part)
        else:
            return None
    if link is None:
        return None
    kept = []
    for part in where_parts(select):
        if qualifiers(part) == {name} and not has_query(part):
            filters.append(part)
        else:
            kept.append(part)
    if not filters:
        return None  # a join that filters nothing is an existence check, not a filter
    for part in kept:
        if name in qualifiers(part):
            return None
    others = [j.args.get("on") for j in joins if j is not link_join]
    if any(on is not None and name in qualifiers(on) for on in others):
        return None
    for part in [*select.expressions, select.args.get("group"), select.args.get("having"),
                 select.args.get("order")]:  # fmt: skip
        if part is not None and name in qualifiers(part):
            return None
    outer, inner = link
    return _FilterJoin(index, outer, inner, filters, moved, kept)


def _without_filter_table(select: exp.Select, plan: _FilterJoin) -> exp.Select:
    """A copy of ``select`` without the filter table; the partner takes its place."""
    out = select.copy()
    joins = list(out.args["joins"])
    if plan.index == 0:
        promoted = joins.pop(0)
        out.set("from_", exp.From(this=promoted.this))
    else:
        joins.pop(plan.index - 1)
    out.set("joins", joins or None)
    return out


def _subquery_select(plan: _FilterJoin, table: exp.Table) -> exp.Select:
    """``SELECT k FROM t2 WHERE x = 'v'``: alone in its scope, the table needs no alias."""
    name = table.alias_or_name
    filters = [requalify(f.copy(), name, None) for f in plan.filters]
    projection = requalify(plan.inner.copy(), name, None)
    query = exp.Select(expressions=[projection]).from_(table_node(table.name), copy=False)
    set_where(query, filters)
    return query


def _join_to_filter(tree: exp.Expression, facts: SchemaFacts | None, form: str):
    for select in tree.find_all(exp.Select):
        plan = _filter_join(select, facts)
        if plan is None:
            continue
        table = sources(select)[plan.index]
        if form == "in":
            query = _subquery_select(plan, table)
            condition = exp.In(this=plan.outer.copy(), query=exp.Subquery(this=query))
        else:
            query = exp.Select(expressions=[exp.Literal.number(1)]).from_(table.copy(), copy=False)
            link = exp.EQ(this=plan.inner.copy(), expression=plan.outer.copy())
            set_where(query, [link, *(f.copy() for f in plan.filters)])
            condition = exp.Exists(this=query)
        out_tree = tree.copy()
        target = _same_node(tree, out_tree, select)
        new_select = _without_filter_table(target, plan)
        set_where(new_select, [*(m.copy() for m in plan.moved),
                               *(k.copy() for k in plan.kept_where), condition])  # fmt: skip
        if target is out_tree:
            return new_select
        target.replace(new_select)
        return out_tree
    return None


def _same_node(old_tree: exp.Expression, new_tree: exp.Expression, node: exp.Expression):
    """The node of ``new_tree`` (a copy of ``old_tree``) at ``node``'s position."""
    for old, new in zip(old_tree.walk(), new_tree.walk(), strict=True):
        if old is node:
            return new
    raise ValueError("node not in tree")


def join_to_in(tree: exp.Expression, facts: SchemaFacts | None = None) -> exp.Expression | None:
    """``FROM a JOIN b ON a.k = b.k WHERE b.x = 1`` -> ``FROM a WHERE a.k IN (SELECT k
    FROM b WHERE x = 1)``, for a joined table read only to filter."""
    return _join_to_filter(tree, facts, "in")


def join_to_exists(tree: exp.Expression, facts: SchemaFacts | None = None) -> exp.Expression | None:
    """The join of :func:`join_to_in` as a correlated ``EXISTS (SELECT 1 ...)``."""
    return _join_to_filter(tree, facts, "exists")


# ------------------------------------------------------------------ IN subqueries


def _in_subqueries(select: exp.Select):
    """``(conjunct, outer column, inner select)`` for each positive ``col IN (SELECT ...)``."""
    for part in where_parts(select):
        if not isinstance(part, exp.In):
            continue
        query = part.args.get("query")
        inner = query.this if isinstance(query, exp.Subquery) else query
        if isinstance(part.this, exp.Column) and isinstance(inner, exp.Select):
            yield part, part.this, inner


def _plain_inner(inner: exp.Select, allow_joins: bool) -> bool:
    if any(inner.args.get(k) for k in ("group", "having", "order", "limit", "offset", "with_")):
        return False
    if len(inner.expressions) != 1 or not isinstance(inner.expressions[0], exp.Column):
        return False
    if isinstance(inner.expressions[0].this, exp.Star):
        return False
    joins = inner.args.get("joins") or []
    if joins and not (allow_joins and all(is_inner(j) for j in joins)):
        return False
    return inner.args.get("from_") is not None and all(simple_table(s) for s in sources(inner))


def _qualified_outer(select: exp.Select, col: exp.Column, facts: SchemaFacts | None):
    """The outer column's qualifier, qualifying the scope's columns when there is one source."""
    if col.table:
        return col.table
    srcs = sources(select)
    if len(srcs) == 1:
        return srcs[0].alias_or_name
    if facts is not None:
        owners = [s for s in srcs if simple_table(s) and facts.has_column(s.name, col.name)]
        if len(owners) == 1:
            return owners[0].alias_or_name
    return None


def _qualify_scope(select: exp.Select, qualifier: str) -> None:
    """Qualify the single-source scope's loose columns (output aliases excepted)."""
    aliases = {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
    for col in list(own_columns(select)):
        if col.table or isinstance(col.this, exp.Star):
            continue
        in_order = col.find_ancestor(exp.Order) is not None
        if in_order and col.name.lower() in aliases:
            continue
        col.set("table", exp.to_identifier(qualifier))


def in_to_join(tree: exp.Expression, facts: SchemaFacts | None = None) -> exp.Expression | None:
    """``WHERE a.k IN (SELECT k FROM b WHERE x = 1)`` -> ``JOIN b AS T2 ON a.k = T2.k WHERE
    T2.x = 1``. Duplicates may appear; the execution check decides."""
    out = tree.copy()
    for select in out.find_all(exp.Select):
        if has_star(select) or select.args.get("from_") is None:
            continue
        srcs = sources(select)
        for part, col, inner in _in_subqueries(select):
            where = inner.args.get("where")
            if not _plain_inner(inner, allow_joins=False) or (where and has_query(where)):
                continue
            table = sources(inner)[0]
            inner_name = table.alias_or_name.lower()
            if qualifiers(inner) - {inner_name}:
                continue  # correlated
            if len(srcs) > 1 and (not col.table or any(not c.table for c in own_columns(select))):
                continue
            if len(srcs) == 1:
                _qualify_scope(select, srcs[0].alias_or_name)
            outer_names = {source_name(s) for s in srcs}
            if (
                all(not s.alias for s in srcs)
                and table.name.lower() not in outer_names
                and is_plain_identifier(table.name)
            ):
                alias = table.name  # the query names tables, not aliases: do the same
            else:
                alias = next_alias(out, table.name)
            on = exp.EQ(this=col.copy(), expression=exp.column(inner.expressions[0].name, alias))
            conditions = []
            for cond in where_parts(inner):
                cond = requalify(cond.copy(), inner_name, alias)
                conditions.append(requalify(cond, None, alias))
            parts = []
            for existing in where_parts(select):
                parts.extend(conditions if existing is part else [existing])
            join = exp.Join(this=table_node(table.name, alias), on=on)
            select.set("joins", [*(select.args.get("joins") or []), join])
            set_where(select, parts)
            return out
    return None


def in_to_exists(tree: exp.Expression, facts: SchemaFacts | None = None) -> exp.Expression | None:
    """``WHERE a.k IN (SELECT k FROM b WHERE ...)`` -> ``WHERE EXISTS (SELECT 1 FROM b
    WHERE ... AND b.k = a.k)`` (positive IN only: NOT IN and NOT EXISTS differ on NULLs)."""
    out = tree.copy()
    for select in out.find_all(exp.Select):
        for part, col, inner in _in_subqueries(select):
            if not _plain_inner(inner, allow_joins=True):
                continue
            qualifier = _qualified_outer(select, col, facts)
            if qualifier is None:
                continue
            inner_names = {source_name(s) for s in inner.find_all(exp.Table)} | {
                s.name.lower() for s in inner.find_all(exp.Table)
            }
            if qualifier.lower() in inner_names:
                continue  # the correlation would bind inside the subquery
            inner_srcs = sources(inner)
            inner_col = inner.expressions[0].copy()
            if not inner_col.table:
                if len(inner_srcs) != 1:
                    continue
                inner_col.set("table", exp.to_identifier(inner_srcs[0].alias_or_name))
            if not col.table:
                col.set("table", exp.to_identifier(qualifier))
            query = inner.copy()
            query.set("distinct", None)
            query.set("expressions", [exp.Literal.number(1)])
            link = exp.EQ(this=inner_col, expression=col.copy())
            set_where(query, [*where_parts(query), link])
            part.replace(exp.Exists(this=query))
            return out
    return None


def exists_to_in(tree: exp.Expression, facts: SchemaFacts | None = None) -> exp.Expression | None:
    """``WHERE EXISTS (SELECT 1 FROM b WHERE b.k = a.k AND ...)`` -> ``WHERE a.k IN (SELECT
    b.k FROM b WHERE ...)``: one equality is the only link to the outer query."""
    out = tree.copy()
    for select in out.find_all(exp.Select):
        outer_names = {source_name(s) for s in sources(select)}
        for part in where_parts(select):
            if not isinstance(part, exp.Exists) or not isinstance(part.this, exp.Select):
                continue
            inner = part.this
            if any(inner.args.get(k) for k in ("group", "having", "limit", "offset", "with_")):
                continue
            if inner.args.get("from_") is None:
                continue
            inner_names = {source_name(s) for s in inner.find_all(exp.Table)}
            links, rest = [], []
            for cond in where_parts(inner):
                found = None
                if isinstance(cond, exp.EQ):
                    for name in inner_names:
                        found = found or _link(cond, name, outer_names - inner_names)
                (links if found else rest).append((cond, found))
            if len(links) != 1:
                continue
            outer_col, inner_col = links[0][1]
            remaining = [c for c, _ in rest]
            if any(qualifiers(c) - inner_names for c in remaining):
                continue  # still correlated elsewhere
            if any(
                qualifiers(e) - inner_names
                for e in [*inner.expressions, *(j for j in inner.args.get("joins") or [])]
            ):
                continue
            query = inner.copy()
            query.set("expressions", [inner_col.copy()])
            set_where(query, [c.copy() for c in remaining])
            part.replace(exp.In(this=outer_col.copy(), query=exp.Subquery(this=query)))
            return out
    return None


def _never_null(col: exp.Column, select: exp.Select, facts: SchemaFacts) -> bool:
    """Whether ``col`` (resolved in ``select``) is NOT NULL or a primary-key column."""
    if col.table:
        owners = [s for s in sources(select) if source_name(s) == col.table.lower()]
    else:
        owners = [
            s for s in sources(select) if simple_table(s) and facts.has_column(s.name, col.name)
        ]
    if len(owners) != 1 or not simple_table(owners[0]):
        return False
    table, name = owners[0].name.lower(), col.name.lower()
    return (table, name) in facts.not_null or name in facts.primary_keys.get(table, ())


def not_in_to_not_exists(
    tree: exp.Expression, facts: SchemaFacts | None = None
) -> exp.Expression | None:
    """``WHERE a.k NOT IN (SELECT k FROM b ...)`` -> ``WHERE NOT EXISTS (SELECT 1 FROM b
    WHERE ... AND b.k = a.k)``, only when both columns are keys or NOT NULL: with a
    NULL on either side the two forms disagree."""
    if facts is None:
        return None
    out = tree.copy()
    for select in out.find_all(exp.Select):
        for part in where_parts(select):
            if not isinstance(part, exp.Not) or not isinstance(part.this, exp.In):
                continue
            positive = part.this
            query = positive.args.get("query")
            inner = query.this if isinstance(query, exp.Subquery) else query
            col = positive.this
            if not isinstance(inner, exp.Select) or not isinstance(col, exp.Column):
                continue
            if not _plain_inner(inner, allow_joins=True):
                continue
            if not (
                _never_null(col, select, facts) and _never_null(inner.expressions[0], inner, facts)
            ):
                continue
            qualifier = _qualified_outer(select, col, facts)
            inner_names = {source_name(s) for s in inner.find_all(exp.Table)} | {
                s.name.lower() for s in inner.find_all(exp.Table)
            }
            if qualifier is None or qualifier.lower() in inner_names:
                continue
            inner_col = inner.expressions[0].copy()
            if not inner_col.table:
                if len(sources(inner)) != 1:
                    continue
                inner_col.set("table", exp.to_identifier(sources(inner)[0].alias_or_name))
            outer_col = col.copy()
            if not outer_col.table:
                outer_col.set("table", exp.to_identifier(qualifier))
            body = inner.copy()
            body.set("distinct", None)
            body.set("expressions", [exp.Literal.number(1)])
            set_where(body, [*where_parts(body), exp.EQ(this=inner_col, expression=outer_col)])
            part.replace(exp.Not(this=exp.Exists(this=body)))
            return out
    return None
