"""Fitting a retrieved query to the question: swapped columns, dropped SELECT items,
added conditions.

The ranking (:meth:`PairIndex.search`) decides the changes; this module makes
them on the SQL tree. A swap renames a column reference, keeping its table
qualifier, so joins and aliases stay as they were; a drop removes a bare column
from the outer SELECT list; an insert adds ``column <op> value`` to the outer
WHERE for a value of the question no literal of the query takes.
"""

from __future__ import annotations

import functools

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.retrieval.features import outer_tables
from sqlfoundry.methods.retrieval.index import Insert
from sqlfoundry.methods.retrieval.substitution import column_sets, resolve_column, sql_text
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_one, sqlglot_dialect


def adapt(
    sql: str,
    swaps: dict[tuple[str, str], tuple[str, str]],
    drops: frozenset[tuple[str, str]] | set[tuple[str, str]],
    schema: Schema,
    flip: bool = False,
    adds: tuple[tuple[str, str], ...] = (),
) -> tuple[str, dict[str, str]]:
    """Apply ``swaps`` (``(table, column) -> (table, column)``, lower-case), ``drops``,
    ``flip`` (every sort direction and MAX / MIN turned round) and ``adds`` (columns
    appended to the outer SELECT list).

    Returns:
        The new SQL, and ``{"table.old": "table.new"}`` for each swap made
        (``{"table.column": ""}`` for each drop, ``{"DESC": "ASC"}``-style entries
        for a flip, ``{"+select": "table.a, table.b"}`` for added columns).

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    if not swaps and not drops and not flip and not adds:
        return sql, {}
    dialect = schema.dialect
    tree = quoted_strings_to_literals(parse_one(sql, dialect), dialect)
    columns = column_sets(schema)
    spelled = {(t.name.lower(), c.name.lower()): (t.name, c.name)
               for t in schema.tables for c in t.columns}  # fmt: skip
    changed: dict[str, str] = {}
    if drops and isinstance(tree, exp.Select):
        kept = [
            e for e in tree.expressions
            if not (isinstance(e, exp.Column) and resolve_column(e, columns) in drops)
        ]  # fmt: skip
        if kept and len(kept) < len(tree.expressions):
            for e in tree.expressions:
                if e not in kept:
                    table, column = spelled.get(resolve_column(e, columns), ("", e.name))
                    changed[f"{table}.{column}"] = ""
            tree.set("expressions", kept)
    for node in list(tree.find_all(exp.Column)):
        if node.find_ancestor(exp.Join) is not None:
            continue  # join conditions stay: they hold the query together
        key = resolve_column(node, columns)
        target = swaps.get(key)
        if target is None:
            continue
        table, old = spelled.get(key, key)
        _, new = spelled.get(target, target)
        node.set("this", exp.to_identifier(new))
        changed[f"{table}.{old}"] = f"{table}.{new}"
    if flip:
        changed.update(_flip(tree, dialect))
    if adds and isinstance(tree, exp.Select):
        tables = outer_tables(tree)
        added = []
        for key in adds:
            if key[0] not in tables:
                continue
            table, name = spelled.get(key, key)
            qualifier = tables[key[0]] if len(tables) > 1 else None
            tree.select(exp.column(exp.to_identifier(name), table=qualifier), copy=False)
            added.append(f"{table}.{name}")
        if added:
            changed["+select"] = ", ".join(added)
    return sql_text(tree, dialect), changed


@functools.cache
def _nulls_first(dialect: str, desc: bool) -> bool:
    """Where the dialect puts NULLs by default for this direction (so none is written)."""
    query = parse_one(f"SELECT 1 ORDER BY x {'DESC' if desc else 'ASC'}", dialect)
    return bool(query.find(exp.Ordered).args.get("nulls_first"))


def _flip(tree: exp.Expression, dialect: str) -> dict[str, str]:
    changed = {}
    for ordered in list(tree.find_all(exp.Ordered)):
        desc = bool(ordered.args.get("desc"))
        ordered.set("desc", not desc)
        ordered.set("nulls_first", _nulls_first(dialect, not desc))
        changed["DESC" if desc else "ASC"] = "ASC" if desc else "DESC"
    for node in list(tree.find_all(exp.Max, exp.Min)):
        other = exp.Min if isinstance(node, exp.Max) else exp.Max
        changed[node.key.upper()] = other.key.upper()
        node.replace(other(this=node.this))
    return changed


_OPERATORS = {"=": exp.EQ, "!=": exp.NEQ, ">": exp.GT, ">=": exp.GTE, "<": exp.LT,
              "<=": exp.LTE}  # fmt: skip


def add_conditions(
    sql: str, inserts: tuple[Insert, ...], schema: Schema
) -> tuple[str, dict[str, str]]:
    """Add each insert's condition to the outer WHERE (with AND).

    Returns:
        The new SQL, and ``{"+table.column": "<op> <literal>"}`` per condition added.
    """
    if not inserts:
        return sql, {}
    dialect = schema.dialect
    tree = quoted_strings_to_literals(parse_one(sql, dialect), dialect)
    tables = outer_tables(tree)
    spelled = {(t.name.lower(), c.name.lower()): c.name for t in schema.tables for c in t.columns}
    changed: dict[str, str] = {}
    for ins in inserts:
        qualifier = tables.get(ins.table)
        if qualifier is None:
            continue
        name = spelled.get((ins.table, ins.column), ins.column)
        column = exp.column(name, table=qualifier if len(tables) > 1 else None)
        text = ins.value.text
        literal = exp.Literal.number(text) if ins.value.is_number else exp.Literal.string(text)
        condition = _OPERATORS.get(ins.op, exp.EQ)(this=column, expression=literal)
        tree = tree.where(condition, copy=False)
        shown = condition.expression.sql(dialect=sqlglot_dialect(dialect))
        changed[f"+{ins.table}.{name}"] = f"{ins.op} {shown}"
    return sql_text(tree, dialect), changed
