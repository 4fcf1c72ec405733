"""What a synthesized pair is, for ranking: its question, its SQL and features read off both.

Everything the ranking needs is computed once, when the pair is made, so nothing
is parsed at question time: the question's terms with the pair's own values
taken out, the tables and columns the SQL reads (join and grouping keys left
out), the structure cues it carries (:func:`sql_cues`), its value slots, and
what the fitting steps need (the SELECT list, the outer FROM tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.retrieval.linking import terms
from sqlfoundry.methods.retrieval.substitution import (
    Slot,
    column_sets,
    literal_slots,
    resolve_column,
)
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_one
from sqlfoundry.sql.references import referenced_columns, referenced_tables

_AGGREGATES = {exp.Count: "count", exp.Avg: "avg", exp.Sum: "sum", exp.Max: "max", exp.Min: "min"}


@dataclass(frozen=True)
class Pair:
    """One question/SQL pair with its ranking features."""

    question: str
    sql: str
    id: str = ""
    hardness: str | None = None
    origin: str = "synthesized"
    terms: tuple[str, ...] = ()
    tables: frozenset[str] = frozenset()
    columns: frozenset[tuple[str, str]] = frozenset()
    cues: frozenset[str] = frozenset()
    slots: tuple[Slot, ...] = ()
    # Bare columns of the outer SELECT list used nowhere else: they can be left out.
    droppable: frozenset[tuple[str, str]] = frozenset()
    width: int = 1  # expressions in the outer SELECT list
    # Bare columns of the outer SELECT list, in order.
    projected: tuple[tuple[str, str], ...] = ()
    # The outer SELECT lists bare columns only, without GROUP BY: more can be added.
    plain: bool = False
    # Tables of the outer SELECT's FROM and JOINs: where a condition can be added.
    outer_tables: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """The pair as one JSON line of the pair cache."""
        return {
            "id": self.id,
            "question": self.question,
            "sql": self.sql,
            "hardness": self.hardness,
            "origin": self.origin,
            "terms": list(self.terms),
            "tables": sorted(self.tables),
            "columns": sorted(list(c) for c in self.columns),
            "cues": sorted(self.cues),
            "slots": [s.to_list() for s in self.slots],
            "droppable": sorted(list(c) for c in self.droppable),
            "width": self.width,
            "projected": [list(c) for c in self.projected],
            "plain": self.plain,
            "outer_tables": sorted(self.outer_tables),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pair:
        """A pair read back from :meth:`to_dict`'s form."""
        return cls(
            question=data["question"],
            sql=data["sql"],
            id=data.get("id", ""),
            hardness=data.get("hardness"),
            origin=data.get("origin", "synthesized"),
            terms=tuple(data.get("terms", ())),
            tables=frozenset(data.get("tables", ())),
            columns=frozenset(tuple(c) for c in data.get("columns", ())),
            cues=frozenset(data.get("cues", ())),
            slots=tuple(Slot.from_list(s) for s in data.get("slots", ())),
            droppable=frozenset(tuple(c) for c in data.get("droppable", ())),
            width=int(data.get("width", 1)),
            projected=tuple(tuple(c) for c in data.get("projected", ())),
            plain=bool(data.get("plain", False)),
            outer_tables=frozenset(data.get("outer_tables", ())),
        )


def make_pair(
    question: str,
    sql: str,
    schema: Schema,
    *,
    id: str = "",
    hardness: str | None = None,
    origin: str = "synthesized",
) -> Pair:
    """A :class:`Pair` with its features read off the SQL.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    tree = quoted_strings_to_literals(parse_one(sql, schema.dialect), schema.dialect)
    slots = tuple(literal_slots(tree, schema))
    value_terms = {t for s in slots for t in terms(s.value)}
    return Pair(
        question=question,
        sql=sql,
        id=id,
        hardness=hardness,
        origin=origin,
        terms=tuple(t for t in terms(question) if t not in value_terms and not t.isdigit()),
        tables=frozenset(referenced_tables(tree, schema.dialect)),
        columns=frozenset(_used_columns(tree, schema)),
        cues=sql_cues(tree),
        slots=slots,
        droppable=frozenset(_droppable(tree, schema)),
        width=len(tree.expressions) if isinstance(tree, exp.Select) else 1,
        projected=tuple(_projected_columns(tree, schema)),
        plain=_plain(tree),
        outer_tables=frozenset(outer_tables(tree)),
    )


def outer_tables(tree: exp.Expression) -> dict[str, str]:
    """``{table: alias or name}`` of the outer SELECT's FROM and JOINs (lower-case
    table names); empty for set operations and queries over derived tables."""
    if not isinstance(tree, exp.Select):
        return {}
    out: dict[str, str] = {}
    sources = [tree.args.get("from_") or tree.args.get("from")] + list(tree.args.get("joins") or [])
    for source in sources:
        if source is None:
            continue
        if not isinstance(source.this, exp.Table):
            return {}
        out.setdefault(source.this.name.lower(), source.this.alias_or_name)
    return out


def _projected_columns(tree: exp.Expression, schema: Schema) -> list[tuple[str, str]]:
    if not isinstance(tree, exp.Select):
        return []
    columns = column_sets(schema)
    found = [resolve_column(e, columns) for e in tree.expressions if isinstance(e, exp.Column)]
    return [key for key in found if key[0]]


def _plain(tree: exp.Expression) -> bool:
    return (
        isinstance(tree, exp.Select)
        and not tree.args.get("group")
        and all(isinstance(e, exp.Column) and e.name for e in tree.expressions)
    )


def _droppable(tree: exp.Expression, schema: Schema) -> set[tuple[str, str]]:
    if not isinstance(tree, exp.Select) or len(tree.expressions) < 2:
        return set()
    columns = column_sets(schema)
    uses: dict[tuple[str, str], int] = {}
    for node in tree.find_all(exp.Column):
        key = resolve_column(node, columns)
        uses[key] = uses.get(key, 0) + 1
    bare = [resolve_column(e, columns) for e in tree.expressions if isinstance(e, exp.Column)]
    return {key for key in bare if key[0] and uses.get(key) == 1}


def key_columns(schema: Schema) -> set[tuple[str, str]]:
    """Lower-cased primary and foreign key columns, and the columns foreign keys reference."""
    keys = set()
    for table in schema.tables:
        name = table.name.lower()
        keys.update((name, c.name.lower()) for c in table.columns if c.primary_key)
        keys.update((name, c.lower()) for c in table.primary_key)
        for fk in table.foreign_keys:
            keys.update((name, c.lower()) for c in fk.columns)
            keys.update((fk.ref_table.lower(), c.lower()) for c in fk.ref_columns)
    return keys


def _used_columns(tree: exp.Expression, schema: Schema) -> set[tuple[str, str]]:
    """Columns the query reads, but not keys joined or grouped on: they are how the
    query is put together, not what the question asks about."""
    bare = tree.copy()
    for join in bare.find_all(exp.Join):
        join.set("on", None)
        join.set("using", None)
    keys = key_columns(schema)
    columns = column_sets(schema)
    for group in bare.find_all(exp.Group):
        kept = [e for e in group.expressions if resolve_column(e, columns) not in keys]
        group.set("expressions", kept or [exp.Literal.number(1)])
    found = referenced_columns(bare, schema.dialect, schema.column_map())
    return {(t, c) for t, c in found if c != "*" and t}


def sql_cues(tree: exp.Expression) -> frozenset[str]:
    """The structure cues of a query: the SQL side of :func:`question_cues`."""
    cues: set[str] = set()
    for node in tree.walk():
        kind = _AGGREGATES.get(type(node))
        if kind is not None:
            if node.find_ancestor(exp.Order) is not None:
                continue
            # A COUNT only in HAVING or a filter is "at least 3 ...", not "how many".
            if kind == "count" and not _projected(node):
                continue
            cues.add(kind)
        elif isinstance(node, exp.Group):
            select = node.parent
            if isinstance(select, exp.Select) and any(
                e.find(*_AGGREGATES) for e in select.expressions
            ):
                cues.add("group")
        elif isinstance(node, exp.Order):
            cues.update(_order_cues(node))
        elif isinstance(node, (exp.Not, exp.NEQ, exp.Except)):
            cues.add("neg")
        elif isinstance(node, exp.Intersect):
            cues.add("intersect")
        elif isinstance(node, exp.Union):
            cues.add("union")
        elif isinstance(node, (exp.GT, exp.GTE)):
            cues.add("gt")
        elif isinstance(node, (exp.LT, exp.LTE)):
            cues.add("lt")
        elif isinstance(node, exp.Between):
            cues.add("between")
        elif isinstance(node, (exp.Like, exp.ILike)):
            cues.add("like")
    return frozenset(cues)


def _projected(node: exp.Expression) -> bool:
    """Whether ``node`` sits in a SELECT list (not in WHERE / HAVING / ORDER BY)."""
    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        child, parent = parent, parent.parent
    return parent is not None and child.arg_key == "expressions"


def _order_cues(order: exp.Order) -> set[str]:
    select = order.parent
    limit = select.args.get("limit") if isinstance(select, exp.Query) else None
    descending = bool(order.expressions) and bool(order.expressions[0].args.get("desc"))
    if limit is None:
        return {"order", "desc" if descending else "asc"}
    return {"max" if descending else "min"}
