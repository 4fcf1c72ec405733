"""The common query shapes, composed from a :class:`Plan` of knobs.

``rows`` mode lists columns of the rows that pass the filters (optionally
sorted, cut with LIMIT, made DISTINCT); ``aggregate`` mode computes aggregates
over them; ``group`` mode computes aggregates per group, with a HAVING
threshold taken from the real group values and an ORDER BY on an aggregate.
Every joined-in table is made to matter (:meth:`Builder.use_every_leaf`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlfoundry.synth.sampling.builder import Builder, Draft, identifies, ref_key
from sqlfoundry.synth.sampling.clauses import Cond, aggregate, literal, nice_number
from sqlfoundry.synth.sampling.profile import CATEGORY, KEY, TEXT, limited
from sqlfoundry.synth.sampling.scope import FromClause, Ref, Source


@dataclass
class Plan:
    """The knobs of :func:`compose`.

    ``mode`` is ``rows`` (columns of matching rows), ``aggregate`` (aggregates
    over them) or ``group`` (aggregates per group).
    """

    joins: int = 0
    mode: str = "rows"
    columns: int = 1
    conditions: int = 0
    use_or: bool = False
    like: bool = False
    order: bool = False
    limit: bool = False
    having: bool = False
    distinct: bool = False


def compose(b: Builder, plan: Plan) -> Draft | None:
    """The common shapes: projections, aggregates or groups over a filtered join."""
    scope = b.from_clause(plan.joins)
    if scope is None:
        return None
    rows = b.data.rows(scope)
    if not rows:
        return None
    row = b.rng.choice(rows)
    if plan.mode == "group":
        draft = _grouped(b, scope, rows, row, plan)
    elif plan.mode == "aggregate":
        draft = _aggregated(b, scope, rows, row, plan)
    else:
        draft = _rows(b, scope, rows, row, plan)
    if draft is None:
        return None
    select = b.use_every_leaf(draft.tree, scope, row)  # type: ignore[arg-type]
    return Draft(select, draft.shape) if select is not None else None


def _rows(
    b: Builder, scope: FromClause, rows: list[tuple[Any, ...]], row: tuple[Any, ...], plan: Plan
) -> Draft | None:
    focus = b.focus(scope)
    conds = b.conditions(
        scope, row, plan.conditions, like=plan.like, avoid=focus if scope.joined else None
    )
    equal = [c.ref for c in conds if c.op in ("=", "null")]
    refs = b.projection(scope, focus, plan.columns, exclude=equal)
    if not refs:
        return None
    select = b.select(scope, [r.node(b.dialect) for r in refs])
    # DISTINCT where repeats are possible: joins, or columns whose values repeat.
    # (not when an equality on a name or key leaves a single row anyway: a row
    # of a table no other joined table references).
    single_row = any(
        c.op == "=" and identifies(c.ref) and not scope.is_referenced(c.ref.source) for c in conds
    )
    repeats = scope.joined or all(not r.column.unique and r.role != KEY for r in refs)
    # A joined table the answer does not show, on the "many" side of a shown one,
    # repeats each shown row once per match: only DISTINCT lists each once.
    shown = {id(r.source) for r in refs}
    fans_out = any(
        id(hidden) not in shown
        for source in scope.sources
        if id(source) in shown
        for hidden in scope.below(source)
    )
    distinct = (
        repeats
        and not single_row
        and (plan.distinct or fans_out or (scope.joined and b.rng.random() < 0.1))
    )
    select = b.where(select, conds, plan.use_or, rows)
    shape = "join" if scope.joined else "select"
    # Sorting a result pinned to one row by a name or key says nothing.
    if plan.order and not single_row:
        key = _orderref_key(b, scope, refs, focus, conds, plan.limit)
        if key is not None:
            desc = b.rng.random() < (0.65 if plan.limit else 0.45)
            select = select.order_by(b.ordered(key.node(b.dialect), desc), copy=False)
            shape += "-order"
            # DISTINCT may only order by what it selects (PostgreSQL enforces it).
            if distinct and not any(ref_key(key) == ref_key(r) for r in refs):
                if fans_out:
                    return None
                distinct = False
            if plan.limit:
                select = limited(select, b.limit_value())
                shape += "-limit"
    if distinct:
        select.set("distinct", exp.Distinct())
    return Draft(select, shape)


def _aggregated(
    b: Builder, scope: FromClause, rows: list[tuple[Any, ...]], row: tuple[Any, ...], plan: Plan
) -> Draft | None:
    conds = b.conditions(scope, row, plan.conditions, like=plan.like, broad=True)
    exclude = [c.ref for c in conds if c.op in ("=", "null")]
    items = b.aggregates(scope, plan.columns, exclude)
    if not items:
        return None
    select = b.where(b.select(scope, items), conds, plan.use_or, rows)
    return Draft(select, "join-aggregate" if scope.joined else "aggregate")


def _orderref_key(
    b: Builder,
    scope: FromClause,
    projected: Sequence[Ref],
    focus: Source,
    conds: Sequence[Cond],
    limit: bool,
) -> Ref | None:
    """A column to sort by: a number or date, mostly of the table shown; never one
    of a table pinned to one row by an equality (every row would tie). A text column
    sorts a whole list alphabetically, never a top k ("the three alphabetically
    first titles" is not a question people ask)."""
    pinned = {c.ref.source.alias for c in conds if c.op == "=" and identifies(c.ref)}
    ordered = [
        r
        for r in scope.refs()
        if r.column.ordered
        and r.source.alias not in pinned
        and (r.source is focus or b.rng.random() < 0.4)
    ]
    if ordered and b.rng.random() < 0.85:
        return b.rng.choice(ordered)
    text = [r for r in projected if r.role in (TEXT, CATEGORY)] if not limit else []
    return b.rng.choice(text) if text else (b.rng.choice(ordered) if ordered else None)


def _grouped(
    b: Builder, scope: FromClause, rows: list[tuple[Any, ...]], row: tuple[Any, ...], plan: Plan
) -> Draft | None:
    options = b.group_keys(scope)
    if not options:
        return None
    display, key = b.rng.choice(options)
    conds = b.conditions(
        scope, row, plan.conditions, like=plan.like, broad=True, exclude=[key, *display]
    )
    # Grouped by a table's key, aggregate the rows joined to it ("many" side),
    # not its own columns or those of tables it points to (one value per group).
    many = scope.below(key.source) if key.column.primary_key and scope.joined else None
    exclude = [key, *display, *(c.ref for c in conds if c.op in ("=", "null"))]
    aggregates = b.aggregates(scope, max(1, plan.columns - 1), exclude, many)
    if not aggregates:
        aggregates = [aggregate("count", None, b.dialect)]
    key_only = plan.order and b.rng.random() < 0.3
    items = [r.node(b.dialect) for r in display]
    if not key_only:
        items += aggregates
        if b.rng.random() < 0.25:
            b.rng.shuffle(items)
    select = b.select(scope, items)
    select = b.where(select, conds, plan.use_or, rows)
    select = select.group_by(key.node(b.dialect), copy=False)
    shape = "group"
    # A threshold on the groups and a ranking or sorting of them in one query is
    # stacking: "the genre with the most books among those with at most 250 books".
    if plan.having and not plan.order and not key_only:
        having = _having(b, select, aggregates)
        if having is not None:
            select = select.having(having, copy=False)
            shape += "-having"
    if plan.order or key_only:
        # Groups rank by how many, how much or how large on average; "the group whose
        # earliest date is the latest" is not a question people ask.
        ranked = [a for a in aggregates if not isinstance(a, (exp.Min, exp.Max))]
        target = (b.rng.choice(ranked) if ranked else aggregate("count", None, b.dialect)).copy()
        desc = b.rng.random() < 0.75
        select = select.order_by(b.ordered(target, desc), copy=False)
        shape += "-order"
        if plan.limit or key_only:
            select = limited(select, b.limit_value() if not key_only else 1)
            shape += "-limit"
    return Draft(select, shape)


def _having(
    b: Builder, select: exp.Select, aggregates: list[exp.Expression]
) -> exp.Expression | None:
    """A HAVING condition whose threshold comes from the real group values."""
    target_node = b.rng.choice(aggregates).copy()
    probe = select.copy()
    probe.set("expressions", [target_node.copy()])
    values = b.data.probe(probe)
    numbers = sorted(v[0] for v in values or () if isinstance(v[0], (int, float)))
    if len(numbers) < 2 or numbers[0] == numbers[-1]:
        return None
    op = b.rng.choice((">=", ">", "<=", "<")) if len(numbers) > 2 else ">="
    if op in (">", ">="):
        candidates = [n for n in numbers[len(numbers) // 3 :] if n < numbers[-1] or op == ">="]
    else:
        candidates = [
            n for n in numbers[: max(1, 2 * len(numbers) // 3)] if n > numbers[0] or op == "<="
        ]
    if not candidates:
        return None
    target = b.rng.choice(candidates)
    integer = all(isinstance(n, int) for n in numbers)
    # Some groups pass and some do not: the bound sits between the smallest and largest value.
    low, high = float(numbers[0]), float(numbers[-1])
    if op in (">", "<="):
        threshold = nice_number(low, high, target, integer=integer, high_open=True)
    else:
        threshold = nice_number(low, high, target, integer=integer, low_open=True)
    if threshold is None:
        return None
    node_type = {">=": exp.GTE, ">": exp.GT, "<=": exp.LTE, "<": exp.LT}[op]
    return node_type(this=target_node, expression=literal(threshold))
