"""SQLite's double-quoted strings.

SQLite reads ``"Bob"`` as a column name when a column of that name exists, and
as the string ``'Bob'`` otherwise. Spider and many LLM outputs rely on this
(``WHERE name = "Bob"``). sqlglot always parses it as a column. The rules
here decide which of those "columns" are really values, so that references,
skeletons and transpiled SQL treat them as strings.
"""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.sql.parse import sqlglot_dialect

# Comparisons whose right-hand side is a value in ordinary queries.
_COMPARISONS = (
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.Like,
    exp.ILike,
    exp.Glob,
)


def in_value_position(node: exp.Expression) -> bool:
    """Whether ``node`` stands where a value usually stands.

    That is the right side of a comparison or LIKE, an item of an IN list, or a
    BETWEEN bound.
    """
    parent = node.parent
    if isinstance(parent, _COMPARISONS):
        return node.arg_key == "expression"
    if isinstance(parent, exp.In):
        return node.arg_key == "expressions"
    if isinstance(parent, exp.Between):
        return node.arg_key in ("low", "high")
    return False


def is_quoted_string(column: exp.Column, dialect: str = "sqlite") -> bool:
    """Whether a parsed column is really a double-quoted SQLite string.

    That needs the SQLite dialect, an unqualified quoted name, and a value
    position. Without a schema this is the best guess: a quoted name compared
    with a column is almost always a value.
    """
    return (
        sqlglot_dialect(dialect) == "sqlite"
        and isinstance(column, exp.Column)
        and not column.table
        and isinstance(column.this, exp.Identifier)
        and column.this.quoted
        and in_value_position(column)
    )


def has_quoted_strings(tree: exp.Expression, dialect: str = "sqlite") -> bool:
    """Whether :func:`quoted_strings_to_literals` would change ``tree``."""
    if sqlglot_dialect(dialect) != "sqlite":
        return False
    return any(is_quoted_string(column, dialect) for column in tree.find_all(exp.Column))


def with_literals(tree: exp.Expression, dialect: str = "sqlite") -> exp.Expression:
    """``tree`` with its double-quoted SQLite strings as string literals, for a reader of
    a shared tree (:func:`sqlfoundry.sql.parse.read_tree`): the tree itself when it has
    none, else a changed copy."""
    if has_quoted_strings(tree, dialect):
        return quoted_strings_to_literals(tree.copy(), dialect)
    return tree


def quoted_strings_to_literals(tree: exp.Expression, dialect: str = "sqlite") -> exp.Expression:
    """Replace each double-quoted SQLite string in ``tree`` with a string literal, in place.

    Returns:
        The tree, for chaining. Other dialects are returned unchanged.
    """
    if sqlglot_dialect(dialect) != "sqlite":
        return tree
    for column in list(tree.find_all(exp.Column)):
        if is_quoted_string(column, dialect):
            column.replace(exp.Literal.string(column.name))
    return tree
