"""A query's plan: its sources with aliases resolved, how they join, and its clauses.

One :class:`SelectQuery` per SELECT (nested ones included) and one
:class:`SetQuery` per UNION / INTERSECT / EXCEPT. CTEs are inlined: a reference
to a CTE becomes a derived source holding the CTE's own plan. Every column of a
SELECT is resolved once, to the source that holds it (looking outwards for
correlated subqueries), so the English side never sees ``T1`` or ``T2``.
Join equalities (``ON`` and ``WHERE a.x = b.y``) become :class:`Link` objects,
oriented child -> parent from the schema's foreign keys.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sqlglot import exp

from sqlfoundry.synth.realiser.errors import RealiseError
from sqlfoundry.synth.realiser.names import ColumnWords, SchemaWords, TableWords
from sqlfoundry.synth.realiser.trees import NESTED, conjuncts


@dataclass(eq=False)
class Source:
    """A table or derived table in a FROM clause."""

    alias: str  # lower-cased, for lookups
    table: TableWords | None = None
    query: Query | None = None
    # A derived table merged into its base table: output name -> base column.
    renames: dict[str, str] = field(default_factory=dict)
    label: str = ""  # the alias or name as the query writes it

    @property
    def written(self) -> str:
        """The alias or name as the query writes it."""
        return self.label or self.alias

    @property
    def entity(self) -> str:
        """What one row of the source is, singular ("singer")."""
        if self.table is not None:
            return self.table.entity
        return main_entity(self.query) if self.query is not None else "row"

    @property
    def entities(self) -> str:
        """What the source's rows are, plural ("singers")."""
        from sqlfoundry.synth.realiser.grammar import plural_noun

        return self.table.entities if self.table is not None else plural_noun(self.entity)

    def words(self, column: str) -> ColumnWords | None:
        """The words of a column of a base table (renames of a merged derived table followed)."""
        if self.table is None:
            return None
        column = self.renames.get(column.lower(), column)
        return self.table.columns.get(column.lower())

    def output(self, column: str) -> exp.Expression | None:
        """For a derived source: the inner expression behind an output column."""
        query = self.query
        while isinstance(query, SetQuery):
            query = query.left
        if not isinstance(query, SelectQuery):
            return None
        low = column.lower()
        for alias, expr in zip(query.output_names, query.projections, strict=True):
            if alias.lower() == low:
                return expr
        return None


@dataclass(frozen=True, eq=False)
class Col:
    """A resolved column: its source and, for a base table, its words."""

    source: Source
    name: str
    words: ColumnWords | None = None
    inner: exp.Expression | None = None  # a derived table's expression behind the column


@dataclass(eq=False)
class Link:
    """``child.col = parent.col``; ``kind`` is ``fk`` (declared), ``key`` (the parent
    side is a primary key) or ``same`` (two ordinary columns with equal values)."""

    child: Col
    parent: Col
    kind: str


@dataclass(eq=False)
class SelectQuery:
    node: exp.Select
    words: SchemaWords
    outer: SelectQuery | None = None
    sources: list[Source] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    projections: list[exp.Expression] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    where: list[exp.Expression] = field(default_factory=list)  # conjuncts, joins removed
    group: list[exp.Expression] = field(default_factory=list)
    having: exp.Expression | None = None
    order: list[tuple[exp.Expression, bool]] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    distinct: bool = False
    refs: dict[int, Col] = field(default_factory=dict)
    aliased: dict[int, exp.Expression] = field(default_factory=dict)
    nested: dict[int, Query] = field(default_factory=dict)

    def col(self, node: exp.Column) -> Col | None:
        """The resolved column for a Column node of this query or of an outer one."""
        query: SelectQuery | None = self
        while query is not None:
            found = query.refs.get(id(node))
            if found is not None:
                return found
            query = query.outer
        return None

    def sub(self, node: exp.Expression) -> Query:
        """The plan of a nested query node (a Select or a set operation)."""
        if isinstance(node, exp.Subquery):
            node = node.this
        return self.nested[id(node)]


@dataclass(eq=False)
class SetQuery:
    kind: str  # union, intersect, except
    left: Query
    right: Query
    all: bool = False
    order: list[tuple[exp.Expression, bool]] = field(default_factory=list)
    limit: int | None = None


Query = SelectQuery | SetQuery


def first_select(query: Query) -> SelectQuery:
    """The first SELECT of a query (the left of any set operations)."""
    while isinstance(query, SetQuery):
        query = query.left
    return query


def main_entity(query: Query) -> str:
    """The entity of a query's first SELECT's first source."""
    select = first_select(query)
    return select.sources[0].entity if select.sources else "row"


# ---------------------------------------------------------------------- building


def build(tree: exp.Expression, words: SchemaWords) -> Query:
    """The plan of a parsed statement.

    Raises:
        RealiseError: not a query, an unknown table or column, a recursive CTE...
    """
    if isinstance(tree, exp.Subquery):
        tree = tree.unnest()
    if not isinstance(tree, NESTED):
        raise RealiseError(f"only queries can be realised, not {type(tree).__name__.upper()}")
    return _Builder(words).query(tree, None, {})


class _Builder:
    def __init__(self, words: SchemaWords) -> None:
        self.words = words

    def query(
        self, node: exp.Expression, outer: SelectQuery | None, ctes: dict[str, exp.Expression]
    ) -> Query:
        if isinstance(node, exp.Subquery):
            node = node.unnest()
        with_ = node.args.get("with_")
        if with_ is not None:
            if with_.args.get("recursive"):
                raise RealiseError("recursive CTEs are not supported")
            ctes = dict(ctes)
            for cte in with_.expressions:
                ctes[cte.alias_or_name.lower()] = cte.this
        if isinstance(node, exp.Select):
            return self.select(node, outer, ctes)
        if isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
            kind = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}
            query = SetQuery(
                kind=kind[type(node)],
                left=self.query(node.this, outer, ctes),
                right=self.query(node.expression, outer, ctes),
                all=not node.args.get("distinct", True),
            )
            left = first_select(query.left)
            query.order = self._order(node, left, set_level=True)
            query.limit = _int_arg(node.args.get("limit"))
            return query
        raise RealiseError(f"unsupported query part: {type(node).__name__}")

    # ------------------------------------------------------------------ SELECT

    def select(
        self, node: exp.Select, outer: SelectQuery | None, ctes: dict[str, exp.Expression]
    ) -> SelectQuery:
        q = SelectQuery(node=node, words=self.words, outer=outer)
        from_ = node.args.get("from_")
        joins = node.args.get("joins") or []
        merged: list[exp.Expression] = []
        for item in ([from_.this] if from_ is not None else []) + [j.this for j in joins]:
            source = self.source(item, q, ctes)
            if source.query is not None and _mergeable(source.query):
                source, conditions = _merge(source, q)
                merged.extend(conditions)
            q.sources.append(source)
        if not q.sources:
            raise RealiseError("the query reads no table")
        for expr in node.expressions:
            if isinstance(expr, exp.Alias):
                q.output_names.append(expr.alias)
                q.projections.append(expr.this)
            else:
                q.output_names.append(expr.alias_or_name)
                q.projections.append(expr)
        aliases = {
            name.lower(): expr
            for name, expr, raw in zip(
                q.output_names, q.projections, node.expressions, strict=True
            )  # fmt: skip
            if isinstance(raw, exp.Alias)
        }
        # One walk of the select's own nodes serves both passes below.
        own = list(_own_nodes(node))
        # Nested queries first, so their columns are theirs and not ours.
        for sub in _nested_nodes(node, own):
            q.nested[id(sub)] = self.query(sub, q, ctes)
        self._resolve(q, aliases, own)
        conditions: list[exp.Expression] = []
        for join in joins:
            on = join.args.get("on")
            if on is not None and not isinstance(on, exp.Boolean):
                conditions.extend(conjuncts(on))
            for ident in join.args.get("using") or []:
                self._using(q, join, ident.name)
        where = node.args.get("where")
        if where is not None:
            conditions.extend(conjuncts(where.this))
        conditions.extend(merged)
        for cond in conditions:
            link = self._link(q, cond)
            if link is not None:
                q.links.append(link)
            else:
                q.where.append(cond)
        group = node.args.get("group")
        if group is not None:
            q.group = [self._positional(q, g) for g in group.expressions]
        having = node.args.get("having")
        q.having = having.this if having is not None else None
        q.order = self._order(node, q)
        q.limit = _int_arg(node.args.get("limit"))
        q.offset = _int_arg(node.args.get("offset"))
        q.distinct = node.args.get("distinct") is not None
        return q

    def source(
        self, node: exp.Expression, q: SelectQuery, ctes: dict[str, exp.Expression]
    ) -> Source:
        label = node.alias_or_name
        alias = label.lower()
        if isinstance(node, exp.Table):
            name = node.name.lower()
            if name in ctes and not node.args.get("db"):
                query = self.query(ctes[name], q.outer, ctes)
                return Source(alias=alias, query=query, label=label)
            table = self.words.table(node.name)
            if table is None:
                raise RealiseError(f"unknown table {node.name}")
            return Source(alias=alias, table=table, label=label)
        if isinstance(node, exp.Subquery):
            return Source(alias=alias, query=self.query(node.this, q.outer, ctes), label=label)
        raise RealiseError(f"unsupported FROM item: {type(node).__name__}")

    def _resolve(
        self, q: SelectQuery, aliases: dict[str, exp.Expression], own: list[exp.Expression]
    ) -> None:
        by_alias: dict[str, Source] = {}
        for s in q.sources:
            by_alias.setdefault(s.alias, s)
        for s in q.sources:
            if s.table is not None:
                by_alias.setdefault(s.table.table.name.lower(), s)
        q_by_alias = by_alias
        for node in own:
            if not isinstance(node, exp.Column) or isinstance(node.this, exp.Star):
                continue
            name = node.name
            qualifier = node.table.lower()
            if qualifier:
                source = q_by_alias.get(qualifier) or _outer_source(q.outer, qualifier)
                if source is None:
                    raise RealiseError(f"unknown table or alias {node.table}")
                q.refs[id(node)] = _col(source, name)
                continue
            found = _find_column(q.sources, name)
            if found is not None:
                q.refs[id(node)] = found
                continue
            if name.lower() in aliases:
                q.aliased[id(node)] = aliases[name.lower()]
                continue
            outer = q.outer
            while outer is not None and found is None:
                found = _find_column(outer.sources, name)
                outer = outer.outer
            if found is not None:
                q.refs[id(node)] = found
                continue
            if node.this.quoted or name.lower() in ("true", "false"):
                node.replace(exp.Literal.string(name))  # SQLite reads "x" as a string here
                continue
            raise RealiseError(f"unknown column {name}")

    def _using(self, q: SelectQuery, join: exp.Join, column: str) -> None:
        right = next(s for s in q.sources if s.alias == join.this.alias_or_name.lower())
        left = next((s for s in q.sources if s is not right and s.words(column)), None)
        if left is not None:
            q.links.append(_orient(_col(left, column), _col(right, column)))

    def _link(self, q: SelectQuery, cond: exp.Expression) -> Link | None:
        if not isinstance(cond, exp.EQ):
            return None
        left, right = cond.this, cond.expression
        if not isinstance(left, exp.Column) or not isinstance(right, exp.Column):
            return None
        a, b = q.refs.get(id(left)), q.refs.get(id(right))
        if a is None or b is None or a.source is b.source:
            return None
        if a.source not in q.sources or b.source not in q.sources:
            return None  # a correlation with an outer query stays a condition
        return _orient(a, b)

    def _positional(self, q: SelectQuery, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
            index = int(node.this) - 1
            if 0 <= index < len(q.projections):
                return q.projections[index]
        return node

    def _order(
        self, node: exp.Expression, q: SelectQuery, set_level: bool = False
    ) -> list[tuple[exp.Expression, bool]]:
        order = node.args.get("order")
        if order is None:
            return []
        out = []
        for item in order.expressions:
            expr = item.this if isinstance(item, exp.Ordered) else item
            expr = self._positional(q, expr)
            if set_level and isinstance(expr, exp.Column):
                # A set operation's ORDER BY names output columns of its first SELECT.
                match = next(
                    (p for n, p in zip(q.output_names, q.projections, strict=True)
                     if n.lower() == expr.name.lower()),
                    None,
                )  # fmt: skip
                expr = match if match is not None else expr
            desc = bool(item.args.get("desc")) if isinstance(item, exp.Ordered) else False
            out.append((expr, desc))
        return out


def _mergeable(query: Query) -> bool:
    """A derived table that only filters one base table (``SELECT * FROM t WHERE ...``)
    is said as that table with its conditions, as sqlglot's merge_subqueries would."""
    if not isinstance(query, SelectQuery) or len(query.sources) != 1:
        return False
    if query.group or query.having is not None or query.order or query.limit is not None:
        return False
    if query.distinct or query.sources[0].table is None or query.sources[0].renames:
        return False
    return all(
        isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.name != "*")
        for p in query.projections
    )


def _merge(derived: Source, outer: SelectQuery) -> tuple[Source, list[exp.Expression]]:
    inner = derived.query
    base = inner.sources[0]
    renames = {}
    for name, proj in zip(inner.output_names, inner.projections, strict=True):
        if isinstance(proj, exp.Column) and not isinstance(proj.this, exp.Star):
            renames[name.lower()] = proj.name
    source = Source(alias=derived.alias, table=base.table, renames=renames, label=derived.label)
    # The inner conditions keep their resolved columns, now pointing at the merged source.
    for key, col in inner.refs.items():
        outer.refs[key] = (
            Col(source=source, name=col.name, words=col.words) if (col.source is base) else col
        )
    outer.nested.update(inner.nested)
    outer.aliased.update(inner.aliased)
    for sub in inner.nested.values():
        _repoint(sub, base, source)
    return source, list(inner.where)


def _repoint(query: Query, old: Source, new: Source) -> None:
    """Point a nested query's correlated columns from a merged-away source to its replacement."""
    if isinstance(query, SetQuery):
        _repoint(query.left, old, new)
        _repoint(query.right, old, new)
        return
    for key, col in list(query.refs.items()):
        if col.source is old:
            query.refs[key] = Col(source=new, name=col.name, words=col.words)
    for sub in query.nested.values():
        _repoint(sub, old, new)


def _col(source: Source, name: str) -> Col:
    if source.table is not None:
        words = source.words(name)
        if words is None:
            raise RealiseError(f"unknown column {name} in table {source.table.table.name}")
        return Col(source=source, name=words.name, words=words)
    inner = source.output(name)
    if inner is None and source.query is not None:
        inner_col = _star_column(source.query, name)
        if inner_col is None:
            raise RealiseError(f"unknown column {name} of a derived table")
        return Col(source=source, name=name, words=inner_col.words)
    words = None
    if isinstance(inner, exp.Column) and source.query is not None:
        found = first_select(source.query).col(inner)
        words = found.words if found is not None else None
    return Col(source=source, name=name, words=words, inner=inner)


def _star_column(query: Query, name: str) -> Col | None:
    """A column a derived ``SELECT *`` passes through from one of its sources."""
    select = first_select(query)
    if not any(isinstance(p, exp.Star) for p in select.projections):
        return None
    return _find_column(select.sources, name)


def _find_column(sources: list[Source], name: str) -> Col | None:
    for source in sources:
        if source.table is not None:
            if source.words(name) is not None:
                return _col(source, name)
        elif source.output(name) is not None or (
            source.query is not None and _star_column(source.query, name) is not None
        ):
            return _col(source, name)
    return None


def _outer_source(query: SelectQuery | None, qualifier: str) -> Source | None:
    while query is not None:
        for s in query.sources:
            if s.alias == qualifier or (s.table and s.table.table.name.lower() == qualifier):
                return s
        query = query.outer
    return None


def _orient(a: Col, b: Col) -> Link:
    """Which side of an equality join is the child (holds the reference)."""
    for child, parent in ((a, b), (b, a)):
        w = child.words
        if w is not None and w.fk and parent.source.table is not None:
            ref_table, ref_col = w.fk
            if ref_table.lower() == parent.source.table.table.name.lower() and (
                not ref_col or ref_col.lower() == parent.name.lower()
            ):
                return Link(child=child, parent=parent, kind="fk")
    a_key = a.words is not None and a.words.key
    b_key = b.words is not None and b.words.key
    if b_key and not a_key:
        return Link(child=a, parent=b, kind="key")
    if a_key and not b_key:
        return Link(child=b, parent=a, kind="key")
    if a_key and b_key:
        return Link(child=b, parent=a, kind="key")
    return Link(child=b, parent=a, kind="same")


def _int_arg(node: exp.Expression | None) -> int | None:
    if node is None:
        return None
    value = node.args.get("expression") if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(value, exp.Literal) and not value.is_string:
        try:
            return int(value.this)
        except ValueError:
            pass
    raise RealiseError("LIMIT and OFFSET must be whole numbers")


def _own_nodes(select: exp.Select):
    """Every node of ``select`` outside its nested queries and CTE definitions."""
    queue = deque([v for k, v in select.args.items() if k != "with_"])
    while queue:
        item = queue.popleft()
        if isinstance(item, list):
            queue.extend(item)
            continue
        if not isinstance(item, exp.Expression):
            continue
        yield item
        if isinstance(item, NESTED):
            continue
        for key, value in item.args.items():
            if key == "with_":
                continue
            queue.append(value)


def _nested_nodes(select: exp.Select, own: list[exp.Expression]) -> list[exp.Expression]:
    """The nested queries directly inside ``select`` (outside its FROM, which are sources);
    ``own``: the select's own nodes (:func:`_own_nodes`)."""
    out = []
    from_items = {id(select.args["from_"].this)} if select.args.get("from_") else set()
    from_items |= {id(j.this) for j in select.args.get("joins") or []}
    for node in own:
        if isinstance(node, NESTED):
            parent = node.parent
            if isinstance(parent, exp.Subquery) and id(parent) in from_items:
                continue
            out.append(node)
    return out
