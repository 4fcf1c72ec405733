"""The base tables and columns a query reads, with aliases resolved.

Built on sqlglot's scopes. Each SELECT, subquery, derived table and CTE is one
scope, so an alias such as ``T1`` is resolved in the scope that defines it,
even when Spider-style SQL reuses ``T1`` in several subqueries. Names are
reported lower-cased. CTE names and derived tables are not base tables. A
column read from a derived table or CTE is reported where that derived table
reads it, inside its own scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.sql.literals import is_quoted_string
from sqlfoundry.sql.parse import ensure_tree

Source = exp.Table | Scope
SchemaColumns = Mapping[str, Iterable[str]]


def referenced_tables(sql_or_tree: str | exp.Expression, dialect: str = "sqlite") -> set[str]:
    """Lower-cased names of the base tables the query reads.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    tables = set()
    for scope in _scopes(ensure_tree(sql_or_tree, dialect)):
        sources = _lower_keys(scope.sources)
        for table in scope.tables:
            # A name that resolves to a scope is a CTE, not a table.
            if isinstance(sources.get(table.alias_or_name.lower()), Scope):
                continue
            tables.add(table.name.lower())
    return tables


def referenced_columns(
    sql_or_tree: str | exp.Expression,
    dialect: str = "sqlite",
    schema: SchemaColumns | None = None,
) -> set[tuple[str, str]]:
    """Lower-cased ``(table, column)`` pairs the query reads.

    Qualified columns are resolved through table aliases, including references
    to an outer query from a correlated subquery. An unqualified column goes to
    the table in scope that has it, given a ``schema``. Without one, it goes to
    the only table in scope. When neither settles it, the table is ``""``.
    ``*`` is reported as ``(table, "*")``, with the same rules for its table.
    Output-column aliases used in ORDER BY / GROUP BY / HAVING are not
    columns. Nor are SQLite's double-quoted strings (``name = "Bob"``).

    Args:
        sql_or_tree: the query, as text or as a parsed tree.
        dialect: the dialect to parse the text with.
        schema: table name -> column names, matched case-insensitively.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    tree = ensure_tree(sql_or_tree, dialect)
    columns_by_table = _normalise_schema(schema)
    found: set[tuple[str, str]] = set()
    for scope in _scopes(tree):
        for column in scope.find_all(exp.Column):
            if isinstance(column.this, exp.Star):
                table = _resolve_qualifier(scope, column.table.lower())
                if table is not None:
                    found.add((table, "*"))
                continue
            pair = _resolve_column(scope, column, columns_by_table, dialect)
            if pair is not None:
                found.add(pair)
        for star in scope.find_all(exp.Star):
            if isinstance(star.parent, exp.Column):
                continue  # a qualified T1.*, handled above
            table = _only_table(scope)
            if table is not None:
                found.add((table, "*"))
    return found


def _scopes(tree: exp.Expression) -> list[Scope]:
    try:
        return traverse_scope(tree)
    except OptimizeError as err:
        raise SQLSyntaxError(f"cannot resolve the query's scopes: {err}", sql=tree.sql()) from err


def _lower_keys(sources: Mapping[str, Source]) -> dict[str, Source]:
    return {name.lower(): source for name, source in sources.items()}


def _normalise_schema(schema: SchemaColumns | None) -> dict[str, set[str]] | None:
    if schema is None:
        return None
    return {table.lower(): {c.lower() for c in columns} for table, columns in schema.items()}


def _own_sources(scope: Scope) -> dict[str, Source]:
    """The sources in this scope's own FROM and JOINs, by lower-cased alias, in order."""
    select = scope.expression
    if not isinstance(select, exp.Select):
        return {}
    nodes = []
    if select.args.get("from_"):
        nodes.append(select.args["from_"].this)
    nodes.extend(join.this for join in select.args.get("joins") or ())
    sources = _lower_keys(scope.sources)
    own = {}
    for node in nodes:
        name = node.alias_or_name.lower()
        if name in sources:
            own[name] = sources[name]
    return own


def _resolve_qualifier(scope: Scope | None, qualifier: str) -> str | None:
    """Table name for an alias or table qualifier, looking outwards; None for a derived source."""
    while scope is not None:
        source = _own_sources(scope).get(qualifier)
        if isinstance(source, exp.Table):
            return source.name.lower()
        if isinstance(source, Scope):
            return None
        scope = scope.parent
    # Not defined anywhere (invalid SQL, or a table outside FROM): keep the name as written.
    return qualifier


def _resolve_column(
    scope: Scope,
    column: exp.Column,
    schema: dict[str, set[str]] | None,
    dialect: str,
) -> tuple[str, str] | None:
    name = column.name.lower()
    if column.table:
        table = _resolve_qualifier(scope, column.table.lower())
        return None if table is None else (table, name)
    if _is_output_alias(scope, column, schema):
        return None
    if is_quoted_string(column, dialect) and not _has_column(scope, name, schema):
        return None
    table = _attribute(scope, name, schema)
    return None if table is None else (table, name)


def _is_output_alias(scope: Scope, column: exp.Column, schema: dict[str, set[str]] | None) -> bool:
    """Whether an unqualified name in ORDER BY / GROUP BY / HAVING names an output column."""
    query = scope.expression
    clause = column.find_ancestor(exp.Order, exp.Group, exp.Having, exp.Select, exp.SetOperation)
    if clause is None or clause.parent is not query:
        return False
    if isinstance(query, exp.SetOperation):
        # ORDER BY after a set operation can only name output columns.
        return isinstance(clause, exp.Order)
    aliases = {
        item.alias.lower()
        for item in query.expressions
        if isinstance(item, exp.Alias) and item.alias.lower() != item.this.alias_or_name.lower()
    }
    if column.name.lower() not in aliases:
        return False
    # ORDER BY prefers the output name; GROUP BY / HAVING prefer a real column.
    return isinstance(clause, exp.Order) or not _has_column(scope, column.name.lower(), schema)


def _has_column(scope: Scope, name: str, schema: dict[str, set[str]] | None) -> bool:
    if schema is None:
        return False
    return any(
        isinstance(source, exp.Table) and name in schema.get(source.name.lower(), ())
        for source in _own_sources(scope).values()
    )


def _projects(scope: Scope, name: str) -> bool:
    query = scope.expression
    return isinstance(query, exp.Query) and name in {n.lower() for n in query.named_selects}


def _attribute(scope: Scope, name: str, schema: dict[str, set[str]] | None) -> str | None:
    """Table of an unqualified column; None when it comes from a derived table or CTE."""
    if schema is not None:
        outer: Scope | None = scope
        while outer is not None:
            own = _own_sources(outer)
            for source in own.values():
                if isinstance(source, exp.Table) and name in schema.get(source.name.lower(), ()):
                    return source.name.lower()
            if any(isinstance(s, Scope) and _projects(s, name) for s in own.values()):
                return None
            outer = outer.parent
    own = _own_sources(scope)
    if any(isinstance(s, Scope) and _projects(s, name) for s in own.values()):
        return None
    if not own and scope.parent is not None:
        return _attribute(scope.parent, name, None)
    return _only_table(scope)


def _only_table(scope: Scope) -> str | None:
    """The single base table in scope; None if the scope reads only derived tables; else ""."""
    own = list(_own_sources(scope).values())
    tables = [s for s in own if isinstance(s, exp.Table)]
    if len(tables) == 1 and len(own) == 1:
        return tables[0].name.lower()
    if not tables and own:
        return None
    return ""
