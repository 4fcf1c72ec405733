"""Checks on a pair's SQL before it runs: one read-only query over the schema's tables and columns."""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.core.errors import SQLSyntaxError, WriteRejectedError
from sqlfoundry.db.schema import Schema
from sqlfoundry.sql.guard import check_read_only
from sqlfoundry.sql.parse import parse_one
from sqlfoundry.sql.references import referenced_columns, referenced_tables


def read_only_problem(sql: str, dialect: str) -> str | None:
    """Why ``sql`` is not one read-only query that parses, or None.

    The reasons start ``not SQL:``, ``not a read-only query:`` or ``does not parse:``.
    """
    try:
        check_read_only(sql, dialect)
    except WriteRejectedError as err:
        return f"not a read-only query: {err.message}"
    except SQLSyntaxError as err:
        return f"not SQL: {err.message}"
    try:
        tree = parse_one(sql, dialect)
    except SQLSyntaxError as err:
        return f"does not parse: {err.message}"
    if not isinstance(tree, exp.Query):
        return f"not a read-only query: a {tree.key.upper()} statement"
    return None


def schema_problem(sql: str, schema: Schema) -> str | None:
    """Tables or columns the query names that the schema does not have, or None.

    Call after :func:`read_only_problem` found nothing.
    """
    tree = parse_one(sql, schema.dialect)
    columns = {t.lower(): {c.lower() for c in cols} for t, cols in schema.column_map().items()}
    unknown_tables = sorted(referenced_tables(tree, schema.dialect) - set(columns))
    if unknown_tables:
        return f"unknown table(s): {', '.join(unknown_tables)}"
    known_anywhere = set().union(*columns.values()) if columns else set()
    unknown = []
    for table, column in sorted(referenced_columns(tree, schema.dialect, schema.column_map())):
        if column == "*":
            continue
        if table in columns and column not in columns[table]:
            unknown.append(f"{table}.{column}")
        elif not table and column not in known_anywhere:
            unknown.append(column)
    if unknown:
        return f"unknown column(s): {', '.join(unknown)}"
    return None


def projected_columns(sql: str, schema: Schema) -> set[str]:
    """``table.column`` (lower case) of every column the query returns.

    Only the outer SELECT lists count (each branch of a set operation); columns
    used in filters, joins or subqueries are not returned to the reader.
    """
    tree = parse_one(sql, schema.dialect)
    columns = {t.lower(): {c.lower() for c in cols} for t, cols in schema.column_map().items()}
    out: set[str] = set()
    for select in _branches(tree):
        scope = {
            (t.alias_or_name or t.name).lower(): t.name.lower()
            for t in select.find_all(exp.Table)
            if t.parent_select is select
        }
        for item in select.expressions:
            for column in item.find_all(exp.Column):
                if column.parent_select is not select:
                    continue
                out |= _owners(column, scope, columns)
    return out


def _owners(column: exp.Column, scope: dict[str, str], columns: dict[str, set[str]]) -> set[str]:
    name = column.name.lower()
    if column.table:
        table = scope.get(column.table.lower(), column.table.lower())
        return {f"{table}.{name}"}
    return {f"{table}.{name}" for table in scope.values() if name in columns.get(table, set())}


def _branches(node: exp.Expression) -> list[exp.Select]:
    """The SELECTs whose rows a query returns: itself, or each branch of a set operation."""
    if isinstance(node, exp.SetOperation):
        return _branches(node.left) + _branches(node.right)
    if isinstance(node, exp.Subquery):
        return _branches(node.this)
    return [node] if isinstance(node, exp.Select) else []
