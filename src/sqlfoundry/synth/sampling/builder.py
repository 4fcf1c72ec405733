"""The pieces of a sampled query: FROM, WHERE, projections, aggregates, group keys.

:class:`Builder` holds the random stream, the profile and the data access and
offers the pieces every shape needs (a join path, an anchor row, conditions
that row satisfies, projections, aggregates, group keys). The common shapes
are composed from these pieces (:mod:`.compose`), and so are subqueries, set
operations and CASE arithmetic (:mod:`.nested`).

Trees are built in one canonical form (``T1``/``T2`` aliases only when joining,
``COUNT(*)``, plain ``JOIN``); :mod:`.styles` varies the surface afterwards.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlglot import exp

from sqlfoundry.sql.parse import dialect_instance
from sqlfoundry.synth.sampling.clauses import (
    Cond,
    aggregate,
    aggregate_for,
    combine,
    condition,
)
from sqlfoundry.synth.sampling.profile import (
    BOOLEAN,
    CATEGORY,
    DATE,
    KEY,
    MEASURE,
    OTHER,
    TEXT,
    DatabaseProfile,
    TableProfile,
)
from sqlfoundry.synth.sampling.scope import FromClause, Ref, Source, join_path, single

# How likely a column is to appear in a condition / a projection, by role.
_CONDITION_WEIGHT = {CATEGORY: 3.0, MEASURE: 3.0, DATE: 2.0, TEXT: 2.0, BOOLEAN: 1.2, KEY: 0.25}
_PROJECTION_WEIGHT = {TEXT: 2.0, CATEGORY: 2.0, MEASURE: 2.0, DATE: 1.5, BOOLEAN: 0.5, KEY: 0.4}
_LIMITS = ((1, 0.6), (3, 0.15), (5, 0.15), (10, 0.1))
_OR_ROLES = (CATEGORY, TEXT, BOOLEAN)


class DataAccess(Protocol):
    """What the builder may ask of the database while composing."""

    def rows(self, scope: FromClause) -> list[tuple[Any, ...]]:
        """Anchor rows of a FROM clause (real rows of its join)."""

    def probe(self, query: exp.Expression) -> list[tuple[Any, ...]] | None:
        """Run a small helper query (group values for HAVING thresholds)."""


@dataclass
class Draft:
    """A composed query in canonical form and the name of the shape that made it."""

    tree: exp.Expression
    shape: str


def weighted(rng: random.Random, items: Sequence[Any], weight: Callable[[Any], float]) -> Any:
    """One item drawn by weight; None when no item has a positive weight."""
    weights = [max(0.0, weight(i)) for i in items]
    if not items or sum(weights) <= 0:
        return None
    return rng.choices(list(items), weights=weights)[0]


class Builder:
    """Builds canonical query trees for one database.

    Args:
        profile: the database profile.
        rng: the random stream (one per database and seed).
        data: anchor rows and probes.
    """

    def __init__(self, profile: DatabaseProfile, rng: random.Random, data: DataAccess) -> None:
        self.profile = profile
        self.rng = rng
        self.data = data
        self.dialect = profile.dialect
        self.tables = list(profile.tables.values())
        # Each table's weight in table(), worked out once.
        self._richness = {id(t): _richness(t) for t in self.tables}

    # ------------------------------------------------------------------ pieces

    def table(self, need: Callable[[TableProfile], bool] | None = None) -> TableProfile | None:
        """A random table (richer tables more often) that satisfies ``need``."""
        candidates = [t for t in self.tables if need is None or need(t)]
        richness = self._richness
        return weighted(self.rng, candidates, lambda t: richness[id(t)])

    def from_clause(
        self, joins: int, need: Callable[[TableProfile], bool] | None = None
    ) -> FromClause | None:
        """A FROM clause with up to ``joins`` joins (fewer when the schema has no such path)."""
        for count in range(joins, 0, -1):
            path = join_path(self.profile, self.rng, count)
            if path is not None:
                return path
        table = self.table(need)
        return single(table) if table is not None else None

    def conditions(
        self,
        scope: FromClause,
        row: tuple[Any, ...],
        count: int,
        *,
        like: bool = False,
        broad: bool = False,
        avoid: Source | None = None,
        exclude: Sequence[Ref] = (),
        only: Source | None = None,
        keys: bool = True,
    ) -> list[Cond]:
        """Up to ``count`` conditions on distinct columns, all satisfied by ``row``.

        Args:
            like: allow LIKE patterns.
            broad: no equality on names and keys (the query aggregates).
            avoid: a source whose columns are used only when others run out
                (the one the query projects, so filters come from the joined tables).
            exclude: columns not to filter on.
            only: filter on this source's columns only.
            keys: allow filters on key columns (``T2.id = 3``).
        """
        # Join columns are tied to the other table's key: filtering them repeats the join.
        taken = {ref_key(r) for r in exclude} | scope.join_columns()
        out: list[Cond] = []
        pool = [
            r for r in scope.refs(only) if r.role in _CONDITION_WEIGHT and (keys or r.role != KEY)
        ]

        def weight(r: Ref) -> float:
            if ref_key(r) in taken:
                return 0.0
            w = _CONDITION_WEIGHT[r.role] * (1.3 if r.column.label else 1.0)
            return w * 0.25 if avoid is not None and r.source is avoid else w

        for _ in range(count * 3):
            if len(out) >= count:
                break
            ref = weighted(self.rng, pool, weight)
            if ref is None:
                break
            taken.add(ref_key(ref))
            cond = condition(ref, row, self.rng, like=like, broad=broad)
            if cond is not None:
                out.append(cond)
        return out

    def where(
        self,
        select: exp.Select,
        conds: Sequence[Cond],
        use_or: bool = False,
        rows: Sequence[tuple[Any, ...]] = (),
    ) -> exp.Select:
        """Add ``conds`` as the WHERE clause, ANDed.

        With ``use_or`` one equality or LIKE gets an alternative on the same
        column (``genre = 'a' OR genre = 'b'``), its value from another real
        row of ``rows``; the anchor row still matches.
        """
        if not conds:
            return select
        nodes = [c.node(self.dialect) for c in conds]
        # Only on columns with several values: "sex = 'F' OR sex = 'M'" keeps every row.
        choices = [
            i
            for i, c in enumerate(conds)
            if c.op in ("=", "like") and c.ref.role in _OR_ROLES and c.ref.column.distinct > 2
        ]
        if use_or and rows and choices:
            index = self.rng.choice(choices)
            for _ in range(4):
                other = condition(conds[index].ref, self.rng.choice(rows), self.rng, like=False)
                if other is None or other.op != "=" or conds[index].holds_value(other.value):
                    continue
                either = exp.Or(this=nodes[index], expression=other.node(self.dialect))
                nodes[index] = exp.Paren(this=either) if len(nodes) > 1 else either
                break
        return select.where(combine(nodes, ["and"] * (len(nodes) - 1)), copy=False)

    def projection(
        self, scope: FromClause, focus: Source, count: int, exclude: Sequence[Ref] = ()
    ) -> list[Ref]:
        """``count`` columns: the focus table's label first, then others that read well."""
        taken = {ref_key(r) for r in exclude}
        out: list[Ref] = []
        labels = [focus.ref(c) for c in focus.table.labels]
        label_count = 2 if len(labels) > 1 and self.rng.random() < 0.5 else 1
        for ref in labels[:label_count]:
            if ref_key(ref) not in taken and len(out) < count:
                out.append(ref)
                taken.add(ref_key(ref))
        # Join keys repeat what the join already says (T1.id = T2.id); leave them out.
        joined = scope.join_columns()
        pool = [
            r for r in scope.refs() if r.role in _PROJECTION_WEIGHT and ref_key(r) not in joined
        ]

        def weight(r: Ref) -> float:
            if ref_key(r) in taken:
                return 0.0
            w = _PROJECTION_WEIGHT[r.role] * (2.0 if r.column.label else 1.0)
            return w * (1.5 if r.source is focus else 1.0)

        while len(out) < count:
            ref = weighted(self.rng, pool, weight)
            if ref is None:
                break
            out.append(ref)
            taken.add(ref_key(ref))
        if self.rng.random() < 0.2:
            self.rng.shuffle(out)
        return out

    def limit_value(self) -> int:
        """A LIMIT for a ranking: mostly 1, sometimes 3, 5 or 10."""
        return self.rng.choices([v for v, _ in _LIMITS], weights=[w for _, w in _LIMITS])[0]

    def ordered(self, expression: exp.Expression, desc: bool) -> exp.Ordered:
        """``expr [DESC]`` with the dialect's own NULL placement, so no NULLS clause is printed."""
        ordering = dialect_instance(self.dialect).NULL_ORDERING
        if ordering == "nulls_are_small":
            nulls_first = not desc
        elif ordering == "nulls_are_large":
            nulls_first = desc
        else:
            nulls_first = False
        return exp.Ordered(this=expression, desc=desc, nulls_first=nulls_first)

    def select(self, scope: FromClause, items: Sequence[exp.Expression]) -> exp.Select:
        """A SELECT of ``items`` from the scope's FROM clause."""
        return scope.apply(exp.Select(expressions=list(items)), self.dialect)

    def use_every_leaf(
        self, select: exp.Select, scope: FromClause, row: tuple[Any, ...]
    ) -> exp.Select | None:
        """Make every joined-in leaf table matter.

        A leaf counts as used when the query reads one of its columns, or when
        it is the "many" side of its link and the query counts rows. Otherwise
        it gets a condition from the anchor row, or the query is dropped (None).
        """
        if not scope.joined:
            return select
        used = {
            col.table
            for key in ("expressions", "where", "group", "having", "order")
            for node in _as_list(select.args.get(key))
            for col in node.find_all(exp.Column)
        }
        counts_rows = any(isinstance(c.this, exp.Star) for c in select.find_all(exp.Count))
        extra: list[exp.Expression] = []
        for leaf in scope.leaves():
            if leaf.alias in used or (counts_rows and scope.is_child_side(leaf)):
                continue
            # Not a name or key: the query is already built (its ORDER BY, its
            # aggregates) and must not be narrowed to one row behind its back.
            conds = self.conditions(scope, row, 1, broad=True, only=leaf, keys=False)
            if not conds:
                return None
            extra.append(conds[0].node(self.dialect))
        if extra:
            where = select.args.get("where")
            nodes = [where.this, *extra] if where is not None else extra
            select.set("where", exp.Where(this=combine(nodes, ["and"] * (len(nodes) - 1))))
        return select

    def focus(self, scope: FromClause) -> Source:
        """The source a query mostly shows: one with names or text, when there is one."""

        def weight(source: Source) -> float:
            columns = source.table.columns
            if any(c.label or c.role == TEXT for c in columns):
                return 3.0
            return 1.0 if any(c.role not in (KEY, OTHER) for c in columns) else 0.2

        return weighted(self.rng, scope.sources, weight)

    def aggregates(
        self,
        scope: FromClause,
        count: int,
        exclude: Sequence[Ref] = (),
        within: Sequence[Source] | None = None,
    ) -> list[exp.Expression]:
        """``count`` distinct aggregate items over the scope's columns.

        Columns in ``exclude`` (pinned by an equality) are not aggregated; with
        ``within``, only columns of those sources are.
        """
        # COUNT(DISTINCT <join column>) per joined group is 1; join columns are out.
        banned = {ref_key(r) for r in exclude} | scope.join_columns()
        options: list[tuple[float, Callable[[], exp.Expression]]] = [
            (2.0, lambda: aggregate("count", None, self.dialect))
        ]
        for ref in scope.refs():
            if ref_key(ref) in banned or (within is not None and ref.source not in within):
                continue
            func = aggregate_for(ref, self.rng)
            if func is not None:
                options.append((1.6, lambda r=ref, f=func: aggregate(f, r, self.dialect)))
            elif ref.role in (CATEGORY, KEY, TEXT) and 1 < ref.column.distinct < ref.column.nonnull:
                weight = 0.5 if ref.role == KEY else 0.4
                options.append(
                    (weight, lambda r=ref: aggregate("count", r, self.dialect, distinct=True))
                )
        items: list[exp.Expression] = []
        for _ in range(count * 4):
            if len(items) >= count:
                break
            make = weighted(self.rng, options, lambda o: o[0])
            node = make[1]() if make else None
            if node is not None and node not in items:
                items.append(node)
        return items

    def group_keys(self, scope: FromClause) -> list[tuple[list[Ref], Ref]]:
        """Ways to group: ``(displayed columns, grouping column)`` pairs.

        A groupable column groups and displays itself; a joined parent table
        groups by its primary key and displays its label, as Spider does.
        """
        options: list[tuple[list[Ref], Ref]] = []
        for ref in scope.refs():
            # Not 0/1 flags: "for each is hub" is no way to ask.
            if ref.column.groupable and ref.role in (CATEGORY, MEASURE, DATE):
                options.append(([ref], ref))
        for step in scope.steps:
            for index in (step.old, step.new):
                source = scope.sources[index]
                if source.table.name != step.link.parent or len(source.table.primary_key) != 1:
                    continue
                pk = source.table.column(source.table.primary_key[0])
                if pk is None:
                    continue
                labels = [source.ref(c) for c in source.table.labels if c is not pk]
                display = labels[: 2 if len(labels) > 1 and self.rng.random() < 0.15 else 1]
                options.append((display or [source.ref(pk)], source.ref(pk)))
        return options


def _richness(t: TableProfile) -> float:
    useful = sum(c.role not in (OTHER, KEY) for c in t.columns)
    if not useful:
        return 0.05  # a table of keys only (a bridge) says little on its own
    return 1.0 + useful + 0.5 * math.log10(1 + t.row_count)


def identifies(ref: Ref) -> bool:
    """Whether an equality on ``ref`` picks out a single row (a name, a key)."""
    return ref.column.unique or ref.column.primary_key


def ref_key(ref: Ref) -> tuple[str | None, str]:
    """A column reference's identity: its source alias and column name."""
    return (ref.source.alias, ref.column.name)


def _as_list(node: exp.Expression | list | None) -> list[exp.Expression]:
    if isinstance(node, list):
        return node
    return [node] if node is not None else []
