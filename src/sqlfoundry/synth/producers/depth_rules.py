"""The offline engine's in-depth evolution: a query made harder by one technique, from real data.

Each rule is a pure function of a sqlglot ``Select``, the data profile and a
random stream; it returns an :class:`Evolution` (candidate queries, tried in
order: the first that runs and returns rows is kept) or the reason it does
not apply. Values come from the profile's real rows, so added filters match data.

* ``add-aggregation``: rows become a summary: a count per category, or an
  average, total, minimum or maximum of a measure (per category when one groups);
* ``add-filter``: one more condition: a category value, a measure above its
  median, a date after its median;
* ``add-join``: a parent table reached along a foreign key, and its name column
  in the output (a many-to-one join, so the rows stay the same);
* ``add-reasoning``: a comparison with an aggregate of the whole table
  (``price > (SELECT AVG(price) FROM books)``), or rows with no related row
  (``NOT IN`` the child table's keys);
* ``hypothetical``: a what-if on a measure ("assuming every price were 15%
  higher"): the measure's aggregate or values scaled, worded from the query
  without the scaling.

Set operations and queries whose tables are not in the profile are left alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlfoundry.synth.naming import humanize

TECHNIQUES = ("add-aggregation", "add-filter", "add-join", "add-reasoning", "hypothetical")
_AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max)
_CANDIDATES = 3  # candidate queries per evolution


@dataclass
class Evolution:
    """What a rule made.

    Attributes:
        candidates: new queries (sqlglot trees), best first.
        wording: the query to realise as the question (a candidate itself when None).
        hypothesis: a clause put before the realised question ("Assuming ...,").
    """

    technique: str
    candidates: list[exp.Expression]
    wording: exp.Expression | None = None
    hypothesis: str | None = None


@dataclass
class _Source:
    table: Any  # the profile's TableProfile
    ref: str  # the name columns are qualified with (alias or table name)


def unsupported(tree: exp.Expression, profile: Any) -> str | None:
    """Why no technique can apply to the query at all, or None."""
    if not isinstance(tree, exp.Select) or tree.args.get("with"):
        return "only a single SELECT can be evolved offline, not a set operation or a CTE"
    if not _sources(tree, profile):
        return "its tables are not in the data profile"
    return None


def evolve(
    tree: exp.Expression, technique: str, profile: Any, rng: random.Random
) -> Evolution | str:
    """Apply ``technique`` to the query ``tree``; an Evolution, or why it does not apply."""
    problem = unsupported(tree, profile)
    if problem is not None:
        return problem
    assert isinstance(tree, exp.Select)
    return _RULES[technique](tree, _sources(tree, profile), profile, rng)


def _sources(select: exp.Select, profile: Any) -> list[_Source]:
    tables = {name.lower(): t for name, t in profile.tables.items()}
    out = []
    nodes = [select.args.get("from_")] + list(select.args.get("joins") or [])
    for node in nodes:
        table = node.this if node is not None else None
        if isinstance(table, exp.Table) and table.name.lower() in tables:
            out.append(_Source(tables[table.name.lower()], table.alias_or_name))
    return out


def _aggregated(select: exp.Select) -> bool:
    return bool(select.args.get("group")) or any(
        item.find(*_AGGREGATES) for item in select.expressions
    )


def _column(source: _Source, column: Any, qualify: bool) -> exp.Column:
    return exp.column(column.name, table=source.ref if qualify else None)


def _bare(select: exp.Select) -> exp.Select:
    """The query's FROM, joins and WHERE, with no output, order or limit."""
    out = select.copy()
    for key in ("expressions", "group", "having", "order", "limit", "offset", "distinct"):
        out.set(key, [] if key == "expressions" else None)
    return out


def _used(select: exp.Select) -> set[str]:
    return {c.name.lower() for c in select.find_all(exp.Column)}


# ---------------------------------------------------------------------- rules


def _add_aggregation(select, sources, profile, rng) -> Evolution | str:
    if select.args.get("group"):
        return "the query already groups its rows"
    qualify = len(sources) > 1
    used = _used(select)
    # A column the query already uses (genre = 'Fantasy') makes a pointless group.
    groups = [(s, c) for s in sources for c in s.table.columns
              if c.groupable and c.name.lower() not in used]  # fmt: skip
    measures = [(s, c) for s in sources for c in s.table.of_role("measure")]
    rng.shuffle(groups)
    rng.shuffle(measures)
    candidates: list[exp.Expression] = []
    if _aggregated(select):  # a lone aggregate: split it per category
        for source, column in groups[:_CANDIDATES]:
            key = _column(source, column, qualify)
            new = select.copy()
            new.set("expressions", [key.copy(), *[e.copy() for e in select.expressions]])
            candidates.append(new.group_by(key.copy()))
        return Evolution("add-aggregation", candidates) if candidates else "no column to group by"
    base = _bare(select)
    for (source, column), (msource, measure) in zip(groups, measures, strict=False):
        key = _column(source, column, qualify)
        func = rng.choice((exp.Avg, exp.Sum, exp.Max))
        value = func(this=_column(msource, measure, qualify))
        candidates.append(base.copy().select(key.copy(), value).group_by(key.copy()))
    for source, column in groups[:_CANDIDATES]:
        key = _column(source, column, qualify)
        count = exp.Count(this=exp.Star())
        candidates.append(base.copy().select(key.copy(), count).group_by(key.copy()))
    for source, measure in measures[:_CANDIDATES]:
        func = rng.choice((exp.Avg, exp.Sum, exp.Max, exp.Min))
        candidates.append(base.copy().select(func(this=_column(source, measure, qualify))))
    if not candidates:
        return "no category to group by and no measure to aggregate"
    return Evolution("add-aggregation", candidates[: _CANDIDATES * 2])


def _add_filter(select, sources, profile, rng) -> Evolution | str:
    qualify = len(sources) > 1
    used = _used(select)
    options = [(s, c) for s in sources for c in s.table.columns
               if c.name.lower() not in used and c.role in ("category", "boolean", "measure", "date")
               and c.values]  # fmt: skip
    rng.shuffle(options)
    candidates = []
    for source, column in options[:_CANDIDATES]:
        target = _column(source, column, qualify)
        if column.role in ("category", "boolean") or not column.ordered:
            value = rng.choice(column.values[: max(1, min(5, len(column.values)))])
            condition: exp.Expression = exp.EQ(this=target, expression=exp.convert(value))
        else:
            middle = column.quantiles[len(column.quantiles) // 2]
            condition = exp.GT(this=target, expression=exp.convert(middle))
        candidates.append(select.copy().where(condition))
    return Evolution("add-filter", candidates) if candidates else "no column left to filter on"


def _add_join(select, sources, profile, rng) -> Evolution | str:
    if _aggregated(select):
        return "the query aggregates its rows (a join would change what it counts)"
    in_scope = {s.table.name.lower() for s in sources}
    options = []
    for source in sources:
        for link, other in profile.links_of(source.table.name):
            if link.child != source.table.name or other.lower() in in_scope:
                continue
            options.append((source, link, profile.tables[other]))
    rng.shuffle(options)
    candidates = []
    for source, link, parent in options[:_CANDIDATES]:
        new = _qualified(select, sources)
        ref = parent.name
        on = exp.and_(*[
            exp.EQ(this=exp.column(child, table=source.ref), expression=exp.column(key, table=ref))
            for child, key in zip(link.child_columns, link.parent_columns, strict=True)
        ])  # fmt: skip
        new = new.join(exp.to_table(parent.name), on=on)
        label = parent.labels[0]
        candidates.append(new.select(exp.column(label.name, table=ref), append=True))
    return Evolution("add-join", candidates) if candidates else "no related table to join"


def _qualified(select: exp.Select, sources: list[_Source]) -> exp.Select:
    """A copy whose unqualified columns (outside subqueries) name their table."""
    out = select.copy()
    owners: dict[str, list[str]] = {}
    for source in sources:
        for column in source.table.columns:
            owners.setdefault(column.name.lower(), []).append(source.ref)
    for column in list(out.find_all(exp.Column)):
        if column.table or column.parent_select is not out:
            continue
        refs = owners.get(column.name.lower(), [])
        if len(refs) == 1:
            column.set("table", exp.to_identifier(refs[0]))
    return out


def _add_reasoning(select, sources, profile, rng) -> Evolution | str:
    if _aggregated(select):
        return "the query aggregates its rows"
    main = sources[0]
    used = _used(select)
    qualify = len(sources) > 1
    candidates: list[exp.Expression] = []
    measures = [c for c in main.table.of_role("measure") if c.name.lower() not in used]
    rng.shuffle(measures)
    for measure in measures[:2]:
        average = exp.select(exp.Avg(this=exp.column(measure.name))).from_(
            exp.to_table(main.table.name)
        )
        condition = exp.GT(
            this=_column(main, measure, qualify), expression=exp.Subquery(this=average)
        )
        candidates.append(select.copy().where(condition))
    keys = main.table.primary_key
    for link, other in profile.links_of(main.table.name):
        if link.parent != main.table.name or len(link.parent_columns) != 1 or not keys:
            continue
        child_keys = exp.select(exp.column(link.child_columns[0])).from_(exp.to_table(other))
        target = exp.column(link.parent_columns[0], table=main.ref if qualify else None)
        member = exp.In(this=target, query=exp.Subquery(this=child_keys))
        candidates.append(select.copy().where(exp.Not(this=member)))
        break
    return (
        Evolution("add-reasoning", candidates)
        if candidates
        else "no measure or related table to reason over"
    )


def _hypothetical(select, sources, profile, rng) -> Evolution | str:
    qualify = len(sources) > 1
    measures = [(s, c) for s in sources for c in s.table.of_role("measure") if c.numeric]
    if not measures:
        return "no measure to apply a what-if to"
    percent = rng.choice((5, 10, 15, 20, 25))
    direction = rng.choice((1, -1))
    lone = _unaliased(select.expressions[0]) if len(select.expressions) == 1 else None
    scalable = (exp.Sum, exp.Avg, exp.Min, exp.Max)
    # A lone SUM/AVG/MIN/MAX of a column: scale it, and word the query as it is.
    if (
        isinstance(lone, scalable)
        and isinstance(lone.this, exp.Column)
        and not select.args.get("group")
    ):
        scaled = select.copy()
        scaled.set("expressions", [_scaled(lone.copy(), percent, direction)])
        return Evolution("hypothetical", [scaled], wording=select.copy(),
                         hypothesis=_hypothesis(lone.this.name, percent, direction))  # fmt: skip
    # Otherwise: the total or the average of a measure of the query's rows.
    source, measure = rng.choice(measures)
    aggregate = rng.choice((exp.Sum, exp.Avg))(this=_column(source, measure, qualify))
    base = _bare(select).select(aggregate.copy())
    scaled = _bare(select).select(_scaled(aggregate, percent, direction))
    return Evolution(
        "hypothetical",
        [scaled],
        wording=base,
        hypothesis=_hypothesis(measure.name, percent, direction),
    )


def _scaled(value: exp.Expression, percent: int, direction: int) -> exp.Expression:
    """``ROUND(value * 1.15, 2)`` for 15% up."""
    factor = exp.Literal.number(round(1 + direction * percent / 100, 2))
    return exp.Round(this=exp.Mul(this=value, expression=factor), decimals=exp.Literal.number(2))


def _unaliased(node: exp.Expression) -> exp.Expression:
    return node.this if isinstance(node, exp.Alias) else node


def _hypothesis(column: str, percent: int, direction: int) -> str:
    """The what-if clause: "Assuming every price were 15% higher"."""
    change = "higher" if direction > 0 else "lower"
    return f"Assuming every {humanize(column)} were {percent}% {change}"


_RULES = {
    "add-aggregation": _add_aggregation,
    "add-filter": _add_filter,
    "add-join": _add_join,
    "add-reasoning": _add_reasoning,
    "hypothetical": _hypothetical,
}
