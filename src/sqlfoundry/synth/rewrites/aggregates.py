"""COUNT forms and DISTINCT / GROUP BY.

``COUNT(*)``, ``COUNT(1)`` and ``COUNT(pk)`` count the same rows only when the
column can never be NULL, and only on a table no outer join pads with NULLs;
the schema facts say which columns qualify.
"""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.synth.rewrites.base import (
    SchemaFacts,
    has_star,
    is_inner,
    simple_table,
    source_name,
    sources,
)


def _own(select: exp.Select, kind: type) -> list[exp.Expression]:
    """Nodes of ``kind`` in this select, not in its nested queries."""
    out = []
    for node in select.find_all(kind):
        parent = node.parent
        while (
            parent is not None
            and parent is not select
            and not isinstance(parent, (exp.Select, exp.SetOperation))
        ):
            parent = parent.parent
        if parent is select:
            out.append(node)
    return out


def _is_count_star(node: exp.Count) -> bool:
    return isinstance(node.this, exp.Star)


def _is_count_one(node: exp.Count) -> bool:
    return isinstance(node.this, exp.Literal) and node.this.this == "1" and not node.this.is_string


def count_star_to_one(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``COUNT(*)`` -> ``COUNT(1)`` everywhere."""
    out = tree.copy()
    counts = [c for c in out.find_all(exp.Count) if _is_count_star(c)]
    for node in counts:
        node.set("this", exp.Literal.number(1))
    return out if counts else None


def count_one_to_star(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``COUNT(1)`` -> ``COUNT(*)`` everywhere."""
    out = tree.copy()
    counts = [c for c in out.find_all(exp.Count) if _is_count_one(c)]
    for node in counts:
        node.set("this", exp.Star())
    return out if counts else None


def _never_null_sources(select: exp.Select) -> list[exp.Expression] | None:
    """Sources whose columns no outer join pads with NULLs; None with RIGHT/FULL joins."""
    joins = select.args.get("joins") or []
    srcs = sources(select)
    safe = [srcs[0]] if srcs else []
    for join, source in zip(joins, srcs[1:], strict=True):
        side = (join.args.get("side") or "").upper()
        if side in ("RIGHT", "FULL"):
            return None
        if side != "LEFT" and (is_inner(join) or (join.args.get("kind") or "").upper() == "CROSS"):
            safe.append(source)
    return safe


def _not_null_key(table: exp.Table, facts: SchemaFacts) -> str | None:
    keys = facts.primary_keys.get(table.name.lower(), ())
    if len(keys) == 1 and (table.name.lower(), keys[0]) in facts.not_null:
        return facts.spelled(keys[0])
    return None


def count_star_to_pk(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``COUNT(*)`` -> ``COUNT(T1.pk)`` where ``pk`` is the FROM table's NOT NULL key."""
    if facts is None:
        return None
    out = tree.copy()
    changed = False
    for select in out.find_all(exp.Select):
        counts = [c for c in _own(select, exp.Count) if _is_count_star(c)]
        safe = _never_null_sources(select)
        if not counts or not safe or not simple_table(safe[0]):
            continue
        key = _not_null_key(safe[0], facts)
        if key is None:
            continue
        qualifier = safe[0].alias_or_name if len(sources(select)) > 1 else None
        for node in counts:
            node.set("this", exp.column(key, table=qualifier))
        changed = True
    return out if changed else None


def _column_table(select: exp.Select, col: exp.Column, facts: SchemaFacts, safe) -> str | None:
    """The table a column of this scope reads, if it is one of the never-NULL sources."""
    tables = [s for s in safe if simple_table(s)]
    if col.table:
        match = [s for s in tables if source_name(s) == col.table.lower()]
    else:
        match = [
            s for s in sources(select) if simple_table(s) and facts.has_column(s.name, col.name)
        ]
        match = match if len(match) == 1 and match[0] in tables else []
    return match[0].name.lower() if len(match) == 1 else None


def count_column_to_star(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``COUNT(col)`` -> ``COUNT(*)`` where ``col`` is NOT NULL and no outer join pads it."""
    if facts is None:
        return None
    out = tree.copy()
    changed = False
    for select in out.find_all(exp.Select):
        safe = _never_null_sources(select)
        if not safe:
            continue
        for node in _own(select, exp.Count):
            col = node.this
            if not isinstance(col, exp.Column) or isinstance(col.this, exp.Star):
                continue
            table = _column_table(select, col, facts, safe)
            if table is not None and (table, col.name.lower()) in facts.not_null:
                node.set("this", exp.Star())
                changed = True
    return out if changed else None


def _plain_projection(select: exp.Select) -> bool:
    if has_star(select) or select.args.get("group") or select.args.get("having"):
        return False
    for item in select.expressions:
        if item.find(exp.AggFunc, exp.Window) or item.find(exp.Select):
            return False
    return True


def _unaliased(item: exp.Expression) -> exp.Expression:
    return item.this if isinstance(item, exp.Alias) else item


def distinct_to_group_by(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``SELECT DISTINCT a, b FROM ...`` -> ``SELECT a, b FROM ... GROUP BY a, b``."""
    out = tree.copy()
    for select in out.find_all(exp.Select):
        distinct = select.args.get("distinct")
        if distinct is None or distinct.args.get("on") or not _plain_projection(select):
            continue
        projected = {_unaliased(e).sql().lower() for e in select.expressions}
        projected |= {e.alias.lower() for e in select.expressions if isinstance(e, exp.Alias)}
        order = select.args.get("order")
        if order is not None and any(
            o.this.sql().lower() not in projected for o in order.expressions
        ):
            continue  # ordering by a column that is not grouped would pick an arbitrary row
        select.set("distinct", None)
        select.set(
            "group", exp.Group(expressions=[_unaliased(e).copy() for e in select.expressions])
        )
        return out
    return None


def group_by_to_distinct(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``SELECT a, b ... GROUP BY a, b`` (no aggregate, no HAVING) -> ``SELECT DISTINCT a, b``."""
    out = tree.copy()
    for select in out.find_all(exp.Select):
        group = select.args.get("group")
        if group is None or select.args.get("having") or select.args.get("distinct"):
            continue
        if has_star(select) or any(e.find(exp.AggFunc, exp.Window) for e in select.expressions):
            continue
        order = select.args.get("order")
        if order is not None and order.find(exp.AggFunc):
            continue
        grouped = {e.sql().lower() for e in group.expressions}
        projected = {_unaliased(e).sql().lower() for e in select.expressions}
        if grouped != projected or len(select.expressions) != len(group.expressions):
            continue
        select.set("group", None)
        select.set("distinct", exp.Distinct())
        return out
    return None
