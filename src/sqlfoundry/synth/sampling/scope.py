"""FROM clauses for sampled queries: one table, or a join path along foreign keys.

A :class:`FromClause` knows its tables (``Source``, aliased ``T1``, ``T2``, ...
when there is more than one, as Spider writes them), the links that join them,
and how to find a column's value in one of its anchor rows: the concatenated
columns of every source, as ``rows_query`` returns them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from sqlfoundry.synth.sampling.profile import (
    ColumnProfile,
    DatabaseProfile,
    Link,
    TableProfile,
    ident,
    limited,
)

ALIAS_PREFIX = "T"
JOIN_ROWS = 200  # anchor rows fetched per join path


@dataclass(frozen=True, eq=False)
class Source:
    """One table in a FROM clause; ``alias`` is None when the query reads one table."""

    table: TableProfile
    alias: str | None
    offset: int  # where this table's columns start in an anchor row

    def ref(self, column: ColumnProfile) -> Ref:
        """A reference to one of the source's columns."""
        return Ref(self, column)

    def node(self, dialect: str) -> exp.Table:
        """The source as a FROM item (with its alias)."""
        table = exp.Table(this=ident(self.table.name, dialect))
        if self.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(self.alias)))
        return table


@dataclass(frozen=True, eq=False)
class Ref:
    """A column of one source."""

    source: Source
    column: ColumnProfile

    def node(self, dialect: str) -> exp.Column:
        """The column as a sqlglot node, qualified when its source has an alias."""
        col = exp.Column(this=ident(self.column.name, dialect))
        if self.source.alias:
            col.set("table", exp.to_identifier(self.source.alias))
        return col

    def value(self, row: tuple[Any, ...]) -> Any:
        """The column's value in an anchor row of the scope."""
        return row[self.source.offset + self.column.position]

    @property
    def role(self) -> str:
        """The column's role (key, measure, category...)."""
        return self.column.role


@dataclass(frozen=True)
class JoinStep:
    """How ``sources[new]`` joins: ``link`` between it and ``sources[old]``."""

    link: Link
    old: int
    new: int


@dataclass(eq=False)
class FromClause:
    sources: list[Source]
    steps: list[JoinStep] = field(default_factory=list)
    # refs() per source (None: all), made once: a query's pieces each ask for them.
    _refs: dict[int | None, list[Ref]] = field(default_factory=dict, init=False, repr=False)

    @property
    def joined(self) -> bool:
        """Whether the FROM clause joins more than one table."""
        return len(self.sources) > 1

    @property
    def key(self) -> tuple:
        """Identifies the path, for caching its anchor rows."""
        return tuple(s.table.name for s in self.sources) + tuple(
            (st.link, st.old, st.new) for st in self.steps
        )

    def leaves(self) -> list[Source]:
        """Sources joined by a single link: a query that never reads them joins them for nothing."""
        if not self.joined:
            return []
        degree = [0] * len(self.sources)
        for step in self.steps:
            degree[step.old] += 1
            degree[step.new] += 1
        return [s for s, d in zip(self.sources, degree, strict=True) if d == 1]

    def join_columns(self) -> set[tuple[str | None, str]]:
        """``(alias, column)`` of every column used in an ON condition."""
        out = set()
        for step in self.steps:
            for index in (step.old, step.new):
                source = self.sources[index]
                names = (
                    step.link.child_columns
                    if source.table.name == step.link.child
                    else step.link.parent_columns
                )
                out.update((source.alias, name) for name in names)
        return out

    def is_referenced(self, source: Source) -> bool:
        """Whether another source of the path references ``source`` (holds many rows per row)."""
        index = self.sources.index(source)
        return any(
            index in (step.old, step.new) and step.link.parent == source.table.name
            for step in self.steps
        )

    def is_child_side(self, source: Source) -> bool:
        """Whether ``source`` is the referencing ("many") end of a link in the path."""
        index = self.sources.index(source)
        return any(
            index in (step.old, step.new) and step.link.child == source.table.name
            for step in self.steps
        )

    def below(self, source: Source) -> list[Source]:
        """Sources reached from ``source`` through the tables that reference it: for
        each of its rows they hold many rows, so aggregating them per row means something."""
        index = self.sources.index(source)
        seen = {index}
        frontier = []
        for step in self.steps:
            if index in (step.old, step.new) and step.link.parent == source.table.name:
                other = step.new if step.old == index else step.old
                if self.sources[other].table.name == step.link.child:
                    frontier.append(other)
        while frontier:
            current = frontier.pop()
            if current in seen:
                continue
            seen.add(current)
            for step in self.steps:
                if current in (step.old, step.new):
                    frontier.append(step.new if step.old == current else step.old)
        seen.discard(index)
        return [self.sources[i] for i in sorted(seen)]

    def refs(self, source: Source | None = None) -> list[Ref]:
        """Every column of every source, as references (a list the caller must not change)."""
        key = id(source) if source is not None else None
        refs = self._refs.get(key)
        if refs is None:
            sources = [source] if source is not None else self.sources
            refs = self._refs[key] = [s.ref(c) for s in sources for c in s.table.columns]
        return refs

    def apply(self, select: exp.Select, dialect: str, inner: bool = False) -> exp.Select:
        """Set ``select``'s FROM and JOINs (``INNER JOIN`` style is the renderer's choice).

        The nodes ``select.from_(...)`` and ``.join(..., on=...)`` would set, made
        directly: sqlglot's builders cost more than the nodes they make."""
        select.set("from_", exp.From(this=self.sources[0].node(dialect)))
        if self.steps:
            joins = list(select.args.get("joins") or ())
            for step in self.steps:
                on = self.on(step, dialect)
                joins.append(exp.Join(this=self.sources[step.new].node(dialect), on=on))
            select.set("joins", joins)
        return select

    def on(self, step: JoinStep, dialect: str) -> exp.Expression:
        """The ON condition of a join step."""
        old, new = self.sources[step.old], self.sources[step.new]
        link = step.link
        if old.table.name == link.child:
            pairs = zip(link.child_columns, link.parent_columns, strict=True)
        else:
            pairs = zip(link.parent_columns, link.child_columns, strict=True)
        condition: exp.Expression | None = None
        for old_col, new_col in pairs:
            eq = exp.EQ(
                this=old.ref(_column(old.table, old_col)).node(dialect),
                expression=new.ref(_column(new.table, new_col)).node(dialect),
            )
            condition = eq if condition is None else exp.And(this=condition, expression=eq)
        assert condition is not None
        return condition

    def rows_query(self, dialect: str) -> exp.Select:
        """Every column of every source over the join, ``LIMIT JOIN_ROWS``."""
        select = exp.Select(expressions=[r.node(dialect) for r in self.refs()])
        return limited(self.apply(select, dialect), JOIN_ROWS)


def _column(table: TableProfile, name: str) -> ColumnProfile:
    column = table.column(name)
    assert column is not None, (table.name, name)
    return column


def single(table: TableProfile) -> FromClause:
    """A FROM clause of ``table`` alone."""
    return FromClause([Source(table, None, 0)])


def join_path(
    profile: DatabaseProfile, rng: random.Random, joins: int, start: str | None = None
) -> FromClause | None:
    """A random tree of ``joins`` foreign-key joins over distinct tables.

    Each new table hangs off one already in the path, so bridge tables join
    both their ends (singer - singer_in_concert - concert). Returns None when
    ``start`` (or every table) has too few links.
    """
    if start is None:
        linked = [t for t in profile.tables if profile.links_of(t)]
        if not linked:
            return None
        start = rng.choice(linked)
    names = [start]
    steps: list[JoinStep] = []
    children = [0]
    for _ in range(joins):
        # A table joins at most one child: two children of one parent (customers with
        # their orders and their reviews) would multiply rows and skew every count.
        options = [
            (link, i, other)
            for i, name in enumerate(names)
            for link, other in profile.links_of(name)
            if other not in names and (link.parent != name or children[i] == 0)
        ]
        if not options:
            return None
        link, old, other = rng.choice(options)
        if link.parent == names[old]:
            children[old] += 1
        names.append(other)
        children.append(1 if link.parent == other else 0)
        steps.append(JoinStep(link, old, len(names) - 1))
    sources = []
    offset = 0
    for i, name in enumerate(names):
        table = profile.tables[name]
        alias = f"{ALIAS_PREFIX}{i + 1}" if len(names) > 1 else None
        sources.append(Source(table, alias, offset))
        offset += len(table.columns)
    return FromClause(sources, steps)
