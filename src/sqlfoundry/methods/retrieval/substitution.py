"""Putting the values a question names into retrieved SQL in place of its literals.

A retrieved query was written for another question, so its constants are that
question's (``Country = 'France'``). The values the new question names come
from :mod:`values` (:func:`find_values`); here

- :func:`literal_slots` lists the literals of a query that stand for values,
  with the column each is compared with;
- :func:`assign` matches slots and question values, preferring a value found in
  the slot's own column, then one of the slot's type, in question order;
- :func:`substitute` rewrites the SQL tree and says what it replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.retrieval.values import NUMBER, QuestionValue
from sqlfoundry.sql.literals import in_value_position, quoted_strings_to_literals
from sqlfoundry.sql.parse import dialect_instance, parse_one, sqlglot_dialect

# --------------------------------------------------------------------------- slots in SQL


@dataclass(frozen=True)
class Slot:
    """A literal of a query that stands for a value.

    Attributes:
        table, column: lower-cased column it is compared with ("" when it is compared with
            an aggregate or an expression).
        kind: ``text`` or ``number`` (the literal's own type); ``limit`` for a LIMIT count.
        op: how it is compared: ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``like``
            (a pattern: its ``%`` are kept around the new value), ``in``, ``between``.
        value: the literal's value.
    """

    table: str
    column: str
    kind: str
    op: str = "="
    value: str = ""

    @property
    def like(self) -> bool:
        """Whether the slot is a LIKE pattern."""
        return self.op == "like"

    def to_list(self) -> list[Any]:
        """The slot as a JSON list (table, column, kind, op, value)."""
        return [self.table, self.column, self.kind, self.op, self.value]

    @classmethod
    def from_list(cls, data: Sequence[Any]) -> Slot:
        """A slot read back from :meth:`to_list`'s form."""
        return cls(str(data[0]), str(data[1]), str(data[2]), str(data[3]), str(data[4]))


_OPS: dict[type[exp.Expression], str] = {
    exp.EQ: "=", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
    exp.Like: "like", exp.ILike: "like", exp.In: "in", exp.Between: "between",
}  # fmt: skip
_COMPARISONS = {op: cls for cls, op in _OPS.items() if op in ("=", "!=", ">", ">=", "<", "<=")}


@dataclass
class _Located:
    slot: Slot
    node: exp.Expression


def literal_slots(tree: exp.Expression, schema: Schema | None = None) -> list[Slot]:
    """The value literals of ``tree`` in query order; see :class:`Slot`."""
    return [located.slot for located in _locate(tree, schema)]


def _locate(tree: exp.Expression, schema: Schema | None) -> list[_Located]:
    columns = column_sets(schema)
    out = []
    for node in tree.walk():
        if isinstance(node, exp.Literal):
            if isinstance(node.parent, exp.Limit) and node.arg_key == "expression":
                if node.is_int and int(node.this) > 1:
                    out.append(_Located(Slot("", "", "limit", "limit", node.this), node))
                continue
            target = node.parent if isinstance(node.parent, exp.Neg) else node
            if not in_value_position(target):
                continue
            parent = target.parent
            table, column = resolve_column(parent.this, columns)
            kind = "text" if node.is_string else "number"
            op = _OPS.get(type(parent), "=")
            value = node.this if not isinstance(target, exp.Neg) else f"-{node.this}"
            out.append(_Located(Slot(table, column, kind, op, value), target))
    return out


def column_sets(schema: Schema | None) -> dict[str, set[str]]:
    """Lower-cased ``{table: {column, ...}}`` of a schema."""
    if schema is None:
        return {}
    return {t.name.lower(): {c.name.lower() for c in t.columns} for t in schema.tables}


def resolve_column(node: exp.Expression | None, columns: dict[str, set[str]]) -> tuple[str, str]:
    """The lower-cased ``(table, column)`` a column reference reads, aliases resolved in
    its own SELECT; ``("", "")`` when ``node`` is not a column (an aggregate, an expression)."""
    if not isinstance(node, exp.Column) or not node.name:
        return "", ""
    name = node.name.lower()
    select = node.find_ancestor(exp.Select)
    sources: dict[str, str] = {}
    if select is not None:
        for table in select.find_all(exp.Table):
            if table.find_ancestor(exp.Select) is select:
                sources[table.alias_or_name.lower()] = table.name.lower()
    qualifier = node.table.lower()
    if qualifier:
        return sources.get(qualifier, qualifier), name
    holders = [t for t in dict.fromkeys(sources.values()) if name in columns.get(t, ())]
    if holders:
        return holders[0], name
    only = list(dict.fromkeys(sources.values()))
    return (only[0] if len(only) == 1 else ""), name


def sql_text(tree: exp.Expression, dialect: str) -> str:
    """``tree.sql(dialect=...)`` for a tree no one reads after: sqlglot copies a tree
    before writing it (its transforms may change it), which is most of the cost."""
    return dialect_instance(dialect).generate(tree, copy=False)


# --------------------------------------------------------------------------- matching


def _affinity(slot: Slot, value: QuestionValue) -> float:
    """How well ``value`` fills ``slot``; 0 when it cannot."""
    if slot.kind == "limit":
        if not value.is_number or not _is_count(value.text):
            return 0.0
        return {"top": 3.0, "=": 2.0}.get(value.comparator, 0.5)
    if slot.kind == "number":
        if value.is_number:
            return 2.5 * value.confidence - _op_mismatch(slot, value) + _closeness(slot, value)
        return 0.0
    # A text slot.
    if value.kind == "db":
        if slot.column and (slot.table, slot.column) in value.columns:
            return 3.0 * value.confidence + 0.5
        if slot.column and any(c == slot.column for _, c in value.columns):
            return 2.0 * value.confidence
        return 1.0 * value.confidence
    if value.kind == "quoted":
        bonus = 0.5 if slot.column and (slot.table, slot.column) in value.columns else 0.0
        return 2.5 + bonus
    # A number in a text slot: years and codes stored as text ("Year = '2014'").
    if NUMBER.fullmatch(slot.value.strip()):
        return 2.5 * value.confidence - _op_mismatch(slot, value) + _closeness(slot, value)
    return 0.0  # a number is no name: it never fills a text slot holding words


def _closeness(slot: Slot, value: QuestionValue) -> float:
    """0.5 for numbers of the same size (a year for a year, a count for a count), 0.25
    for sizes one digit apart."""
    try:
        a, b = abs(float(slot.value)), abs(float(value.text))
    except ValueError:
        return 0.0
    gap = abs(len(str(int(a))) - len(str(int(b))))
    return {0: 0.5, 1: 0.25}.get(gap, 0.0)


def _op_mismatch(slot: Slot, value: QuestionValue) -> float:
    """A cost when the question says "more than" and the query compares with ``<``, or
    says "top 5" and the slot is not a LIMIT. An ``=`` slot takes any comparison:
    :func:`substitute` rewrites its operator."""
    if value.comparator == "top":
        return 1.5
    if value.comparator == "=" or slot.op not in _COMPARISONS or slot.op in ("=", "!="):
        return 0.0
    same = value.comparator == slot.op or {value.comparator, slot.op} in ({">", ">="}, {"<", "<="})
    return 0.0 if same else 0.5


def _is_count(text: str) -> bool:
    return text.isdigit() and 1 < int(text) <= 1000


def assign(slots: Sequence[Slot], values: Sequence[QuestionValue]) -> list[int | None]:
    """For each slot, the index of the question value that fills it (or None).

    Each value fills at most one slot. Pairs are taken best first; among equally
    good pairs, slots take values in order, so ``BETWEEN 5 AND 10`` takes the
    question's numbers in the order they come.
    """
    pairs = []
    for i, slot in enumerate(slots):
        for j, value in enumerate(values):
            score = _affinity(slot, value)
            if score > 0:
                pairs.append((-round(score, 6), i, j))
    pairs.sort()
    chosen: list[int | None] = [None] * len(slots)
    used: set[int] = set()
    for _, i, j in pairs:
        if chosen[i] is None and j not in used:
            chosen[i] = j
            used.add(j)
    return chosen


# Affinity of a middling fill: above it a fill counts for the query, below it against.
_FAIR_FILL = 1.75


def fit(slots: Sequence[Slot], values: Sequence[QuestionValue]) -> tuple[float, list[int]]:
    """How well a query's slots and a question's values agree.

    Returns:
        (slot score: +1 per slot filled from its own column, down to -1 per slot
        left with the synthesized value (LIMIT counts excepted); the indices of the
        question values no slot takes).
    """
    if not slots:
        return 0.0, list(range(len(values)))
    chosen = assign(slots, values)
    score = 0.0
    for i, j in enumerate(chosen):
        if j is not None:
            score += min(1.0, (_affinity(slots[i], values[j]) - _FAIR_FILL) / _FAIR_FILL)
        elif slots[i].kind != "limit":
            score -= 1.0
    used = {j for j in chosen if j is not None}
    return score, [j for j in range(len(values)) if j not in used]


# --------------------------------------------------------------------------- rewriting


@dataclass
class Substitution:
    sql: str
    replaced: dict[str, str] = field(default_factory=dict)


def substitute(
    sql: str, values: Sequence[QuestionValue], schema: Schema | None = None, dialect: str = "sqlite"
) -> Substitution:
    """Put the question's values into ``sql`` in place of its literals.

    Returns:
        The new SQL and ``{old literal: new literal}`` for every literal changed.
    """
    if not values:  # nothing to put in
        return Substitution(sql)
    tree = quoted_strings_to_literals(parse_one(sql, dialect), dialect)
    located = _locate(tree, schema)
    chosen = assign([loc.slot for loc in located], values)
    replaced: dict[str, str] = {}
    for loc, j in zip(located, chosen, strict=True):
        if j is None:
            continue
        new = _literal_for(loc.slot, values[j])
        if new is None:
            continue
        old = loc.node.sql(dialect=sqlglot_dialect(dialect))
        _set_comparator(loc, values[j])
        loc.node.replace(new)
        text = new.sql(dialect=sqlglot_dialect(dialect))
        if text != old:
            replaced.setdefault(old, text)
    if not replaced:
        return Substitution(sql)
    return Substitution(sql_text(tree, dialect), replaced)


def _set_comparator(loc: _Located, value: QuestionValue) -> None:
    """Compare as the question asks ("older than 30" turns ``Age = 25`` into ``Age > 30``)."""
    parent = loc.node.parent
    wanted = _COMPARISONS.get(value.comparator)
    if (value.comparator in ("=", "top") or loc.slot.op not in _COMPARISONS or wanted is None
            or type(parent) not in _OPS or loc.node.arg_key != "expression"
            or type(parent) is wanted):  # fmt: skip
        return
    parent.replace(wanted(this=parent.this, expression=parent.expression))


def _literal_for(slot: Slot, value: QuestionValue) -> exp.Expression | None:
    text = value.text
    if slot.kind in ("number", "limit"):
        if not NUMBER.fullmatch(text):
            return None
        if text.startswith("-"):
            return exp.Neg(this=exp.Literal.number(text[1:]))
        return exp.Literal.number(text)
    if slot.like:
        prefix = "%" if slot.value.startswith("%") else ""
        suffix = "%" if slot.value.endswith("%") else ""
        return exp.Literal.string(f"{prefix}{text}{suffix}")
    return exp.Literal.string(text)
