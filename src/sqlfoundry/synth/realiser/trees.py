"""Small sqlglot helpers the realiser's modules share: operators, conjuncts, values."""

from __future__ import annotations

from sqlglot import exp

# Nodes that open a nested query.
NESTED = (exp.Select, exp.Union, exp.Intersect, exp.Except)

# Comparison operators as the realiser names them.
OPS = {exp.EQ: "=", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
        exp.NullSafeEQ: "=", exp.NullSafeNEQ: "!="}  # fmt: skip


# The operator that holds exactly when the other does not, and the one with sides swapped.
NEGATED = {"=": "!=", "!=": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}
FLIPPED = {"=": "=", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}


def unparen(node: exp.Expression) -> exp.Expression:
    """The expression inside any parentheses."""
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The parts of an AND chain (parentheses looked through)."""
    node = unparen(node)
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def disjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The parts of an OR, nested ORs and parentheses flattened."""
    node = unparen(node)
    if isinstance(node, exp.Or):
        return disjuncts(node.this) + disjuncts(node.expression)
    return [node]


def is_value(node: exp.Expression) -> bool:
    """Whether the node is a constant (a literal, maybe negated or in parentheses)."""
    node = unparen(node)
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, (exp.Literal, exp.Null, exp.Boolean))


def year_of(node: exp.Expression) -> exp.Expression | None:
    """The date column inside ``strftime('%Y', d)``, ``year(d)`` or ``substr(d, 1, 4)``."""
    node = unparen(node)
    if isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, exp.TimeToStr):
        fmt = node.args.get("format")
        if isinstance(fmt, exp.Literal) and fmt.this == "%Y":
            inner = node.this
            while isinstance(inner, (exp.TsOrDsToTimestamp, exp.TsOrDsToDate)):
                inner = inner.this
            return inner
    if isinstance(node, exp.Year):
        return node.this
    if isinstance(node, exp.Substring):
        start, length = node.args.get("start"), node.args.get("length")
        if (
            isinstance(start, exp.Literal) and start.this == "1"
            and isinstance(length, exp.Literal) and length.this == "4"
        ):  # fmt: skip
            return node.this
    return None


def own_columns(node: exp.Expression):
    """The Column nodes of a condition, outside nested queries."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, exp.Column):
            yield item
            continue
        for child in item.iter_expressions():
            if not isinstance(child, NESTED) and not isinstance(child, exp.Subquery):
                stack.append(child)


def conditional_count(node: exp.Expression) -> exp.Expression | None:
    """The condition ``c`` of ``SUM(CASE WHEN c THEN 1 ELSE 0 END)``, ``SUM(IIF(c, 1, 0))``
    or ``COUNT(CASE WHEN c THEN 1 END)``; None for other expressions."""
    if not isinstance(node, (exp.Sum, exp.Count)):
        return None
    inner = unparen(node.this) if node.this is not None else None
    if isinstance(inner, exp.If):
        cond, then, default = inner.this, inner.args.get("true"), inner.args.get("false")
    elif (
        isinstance(inner, exp.Case)
        and len(inner.args.get("ifs") or []) == 1
        and (inner.this is None)
    ):
        branch = inner.args["ifs"][0]
        cond, then, default = branch.this, branch.args.get("true"), inner.args.get("default")
    else:
        return None
    if not (isinstance(then, exp.Literal) and not then.is_string):
        return None
    if isinstance(node, exp.Sum):
        ok = then.this == "1" and (
            default is None or (isinstance(default, exp.Literal) and default.this == "0")
        )
    else:
        ok = default is None or isinstance(default, exp.Null)
    return cond if ok else None


def is_count_star(node: exp.Expression) -> bool:
    """``COUNT(*)``, and ``COUNT(1)`` (or any non-NULL constant), which counts the same rows."""
    node = unparen(node)
    if not isinstance(node, exp.Count):
        return False
    arg = unparen(node.this) if node.this is not None else None
    return (
        arg is None
        or isinstance(arg, exp.Star)
        or (isinstance(arg, exp.Literal) and not arg.is_string)
    )


def share_of(node: exp.Expression) -> tuple[exp.Expression, bool] | None:
    """``(c, percent)`` for the share of rows where ``c`` holds:
    ``CAST(SUM(CASE WHEN c THEN 1 ELSE 0 END) AS REAL) * 100 / COUNT(*)`` (percent) or
    the same without the ``* 100``; None for other expressions."""
    node = _strip_casts(node)
    percent = False
    if isinstance(node, exp.Mul) and _is_hundred(node.expression):  # (x / count) * 100
        node, percent = _strip_casts(node.this), True
    if not isinstance(node, exp.Div) or not _counts_rows(_strip_casts(node.expression)):
        return None
    top = _strip_casts(node.this)
    if isinstance(top, exp.Mul) and _is_number(top.expression):
        percent = percent or _is_hundred(top.expression)  # x * 100 / count, x * 1.0 / count
        top = _strip_casts(top.this)
    cond = conditional_count(top)
    return (cond, percent) if cond is not None else None


def _counts_rows(node: exp.Expression) -> bool:
    """``COUNT(*)``, or ``COUNT(col)`` as the denominator of a share (the rows counted)."""
    return is_count_star(node) or (
        isinstance(node, exp.Count) and isinstance(unparen(node.this), exp.Column)
    )


def _strip_casts(node: exp.Expression) -> exp.Expression:
    node = unparen(node)
    while isinstance(node, (exp.Cast, exp.TryCast)):
        node = unparen(node.this)
    return node


def _is_number(node: exp.Expression) -> bool:
    node = unparen(node)
    return isinstance(node, exp.Literal) and not node.is_string


def _is_hundred(node: exp.Expression) -> bool:
    return _is_number(node) and float(unparen(node).this) == 100
