"""Predicate rules: BETWEEN and ranges, IN lists and ORs, negations, operand order."""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.synth.rewrites.base import (
    SchemaFacts,
    and_all,
    conjuncts,
    disjuncts,
    needs_parens,
    set_where,
    where_parts,
)


def _wrap(node: exp.Expression, replacement: exp.Expression) -> exp.Expression:
    if isinstance(replacement, (exp.And, exp.Or)) and needs_parens(node):
        return exp.Paren(this=replacement)
    return replacement


def between_to_range(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``x BETWEEN a AND b`` -> ``x >= a AND x <= b`` (every BETWEEN in the query)."""
    out = tree.copy()
    found = False
    for node in list(out.find_all(exp.Between)):
        found = True
        value = node.this
        rng = exp.And(
            this=exp.GTE(this=value.copy(), expression=node.args["low"].copy()),
            expression=exp.LTE(this=value.copy(), expression=node.args["high"].copy()),
        )
        node.replace(_wrap(node, rng))
    return out if found else None


_LOWER = {exp.GTE: "this", exp.LTE: "expression"}  # side holding the value in x >= a / a <= x
_UPPER = {exp.LTE: "this", exp.GTE: "expression"}


def _bound(cond: exp.Expression, kinds: dict) -> tuple[str, exp.Expression] | None:
    """``(value text, bound)`` when ``cond`` is a non-strict bound on a column."""
    side = kinds.get(type(cond))
    if side is None:
        return None
    value = cond.args[side]
    other = cond.expression if side == "this" else cond.this
    if not isinstance(value, exp.Column) or isinstance(other, exp.Column) or other.find(exp.Select):
        return None
    return value.sql(), other


def _ranges_in(parts: list[exp.Expression]) -> list[exp.Expression] | None:
    for i, low in enumerate(parts):
        lower = _bound(low, _LOWER)
        if lower is None:
            continue
        for j, high in enumerate(parts):
            upper = _bound(high, _UPPER)
            if j == i or upper is None or upper[0] != lower[0]:
                continue
            value = low.this if isinstance(low, exp.GTE) else low.expression
            between = exp.Between(this=value.copy(), low=lower[1].copy(), high=upper[1].copy())
            return [between if k == i else p for k, p in enumerate(parts) if k != j]
    return None


def range_to_between(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``x >= a AND x <= b`` (in one AND chain of WHERE / HAVING) -> ``x BETWEEN a AND b``."""
    out = tree.copy()
    for clause in out.find_all(exp.Where, exp.Having):
        parts = conjuncts(clause.this)
        merged = _ranges_in(parts)
        if merged is not None:
            clause.set("this", and_all(merged))
            return out
    return None


def _same_column_equalities(node: exp.Expression) -> tuple[exp.Column, list] | None:
    items = disjuncts(node)
    if len(items) < 2 or not all(isinstance(i, exp.EQ) for i in items):
        return None
    columns = {i.this.sql() for i in items}
    if len(columns) != 1 or not isinstance(items[0].this, exp.Column):
        return None
    values = [i.expression for i in items]
    if not all(isinstance(v, (exp.Literal, exp.Neg)) for v in values):
        return None
    return items[0].this, values


def or_to_in(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``x = 'a' OR x = 'b'`` -> ``x IN ('a', 'b')``."""
    out = tree.copy()
    for node in list(out.find_all(exp.Or)):
        if isinstance(node.parent, exp.Or):
            continue  # take the whole chain from its top
        found = _same_column_equalities(node)
        if found is None:
            continue
        col, values = found
        target = node.parent if isinstance(node.parent, exp.Paren) else node
        target.replace(exp.In(this=col.copy(), expressions=[v.copy() for v in values]))
        return out
    return None


def in_to_or(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``x IN ('a', 'b')`` -> ``(x = 'a' OR x = 'b')`` (2 to 4 literal values, not NOT IN)."""
    out = tree.copy()
    for node in list(out.find_all(exp.In)):
        values = node.expressions
        if isinstance(node.parent, exp.Not) or node.args.get("query") or not 2 <= len(values) <= 4:
            continue
        if not all(isinstance(v, (exp.Literal, exp.Neg)) for v in values):
            continue
        ors: exp.Expression = exp.EQ(this=node.this.copy(), expression=values[0].copy())
        for value in values[1:]:
            ors = exp.Or(
                this=ors, expression=exp.EQ(this=node.this.copy(), expression=value.copy())
            )
        bare = isinstance(node.parent, (exp.Paren, exp.Where, exp.Having))
        node.replace(ors if bare else exp.Paren(this=ors))
        return out
    return None


def in_single_to_eq(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``x IN ('a')`` -> ``x = 'a'``; ``x NOT IN ('a')`` -> ``x <> 'a'``."""
    out = tree.copy()
    found = False
    for node in list(out.find_all(exp.In)):
        if node.args.get("query") or len(node.expressions) != 1:
            continue
        found = True
        value = node.expressions[0].copy()
        if isinstance(node.parent, exp.Not):
            node.parent.replace(exp.NEQ(this=node.this.copy(), expression=value))
        else:
            node.replace(exp.EQ(this=node.this.copy(), expression=value))
    return out if found else None


def eq_to_in_single(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``x = 'a'`` in WHERE -> ``x IN ('a')`` (the first column-to-literal equality)."""
    out = tree.copy()
    for select in out.find_all(exp.Select):
        parts = where_parts(select)
        for i, part in enumerate(parts):
            if (
                isinstance(part, exp.EQ)
                and isinstance(part.this, exp.Column)
                and isinstance(part.expression, exp.Literal)
            ):
                parts[i] = exp.In(this=part.this.copy(), expressions=[part.expression.copy()])
                set_where(select, parts)
                return out
    return None


_NEGATED = {
    exp.GT: exp.LTE,
    exp.GTE: exp.LT,
    exp.LT: exp.GTE,
    exp.LTE: exp.GT,
    exp.EQ: exp.NEQ,
    exp.NEQ: exp.EQ,
}


def push_not(tree: exp.Expression, facts: SchemaFacts | None = None):
    """``NOT x > y`` -> ``x <= y`` (and the other comparisons); NULL stays NULL either way."""
    out = tree.copy()
    found = False
    for node in list(out.find_all(exp.Not)):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        flipped = _NEGATED.get(type(inner))
        if flipped is None:
            continue
        found = True
        node.replace(flipped(this=inner.this.copy(), expression=inner.expression.copy()))
    return out if found else None


def commute_and(tree: exp.Expression, facts: SchemaFacts | None = None):
    """Reverse the order of the outermost query's WHERE conditions (two or more)."""
    out = tree.copy()
    for select in out.find_all(exp.Select):
        parts = where_parts(select)
        if len(parts) >= 2:
            set_where(select, list(reversed(parts)))
            return out
    return None
