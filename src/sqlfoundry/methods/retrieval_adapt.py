"""Fitting a retrieved query to the question: swapped columns, dropped SELECT items.

The ranking (:meth:`PairIndex.search`) decides the changes; this module makes
them on the SQL tree. A swap renames a column reference, keeping its table
qualifier, so joins and aliases stay as they were; a drop removes a bare column
from the outer SELECT list.
"""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.value_substitution import column_sets, resolve_column
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_one, sqlglot_dialect


def adapt(
    sql: str,
    swaps: dict[tuple[str, str], tuple[str, str]],
    drops: frozenset[tuple[str, str]] | set[tuple[str, str]],
    schema: Schema,
) -> tuple[str, dict[str, str]]:
    """Apply ``swaps`` (``(table, column) -> (table, column)``, lower-case) and ``drops``.

    Returns:
        The new SQL, and ``{"table.old": "table.new"}`` for each swap made
        (``{"table.column": ""}`` for each drop).

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    if not swaps and not drops:
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
        key = resolve_column(node, columns)
        target = swaps.get(key)
        if target is None:
            continue
        table, old = spelled.get(key, key)
        _, new = spelled.get(target, target)
        node.set("this", exp.to_identifier(new))
        changed[f"{table}.{old}"] = f"{table}.{new}"
    return tree.sql(dialect=sqlglot_dialect(dialect)), changed
