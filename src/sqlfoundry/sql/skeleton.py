"""Canonical text for de-duplication, and value-masked skeletons.

``normalize`` maps queries that differ only in layout to the same text. Layout
here means keyword case, whitespace, identifier quoting and case where the
dialect ignores it, and the names of table aliases. ``skeleton`` goes further:
it also masks the values, so queries that differ only in their constants share
a skeleton.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import TokenType

from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import ensure_tree, sql_text, sqlglot_dialect

ALIAS_PREFIX = "t"


def normalize(sql: str | exp.Expression, dialect: str = "sqlite") -> str:
    """Canonical one-line text of a query; literals are kept.

    Table aliases are renamed ``t1``, ``t2``, ... in order of appearance, so
    ``FROM singer AS T1`` and ``FROM singer s`` normalise alike. In SQLite a
    double-quoted value (``name = "Bob"``) becomes a string literal.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    return _canonical_tree(sql, dialect).sql(dialect=sqlglot_dialect(dialect))


def skeleton(sql: str | exp.Expression, dialect: str = "sqlite") -> str:
    """The normalised query with every value replaced by a placeholder.

    Values are literals, negative numbers, LIMIT / OFFSET counts, and IN
    lists of values. Column positions such as ``ORDER BY 1`` are not values
    and are kept.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    tree = _canonical_tree(sql, dialect)
    return mask_values(tree).sql(dialect=sqlglot_dialect(dialect))


def mask_values(tree: exp.Expression) -> exp.Expression:
    """Replace the values in ``tree`` with placeholders, in place; returns the tree."""
    _mask_in_place(tree, [])
    return tree


def masked_sql(tree: exp.Expression, dialect: str | None = None) -> str:
    """``sql_text(mask_values(tree.copy()), dialect)`` without the copy, which costs as
    much as the rest: the values are masked in place, the tree printed, and every value
    put back where it was, so the caller's tree is left as it came.

    For a tree that the generator of ``dialect`` prints without rewriting it (see
    ``sql_text``).
    """
    undo: list[tuple[exp.Expression, str, Any]] = []  # (node, arg, its value before)
    _mask_in_place(tree, undo)
    try:
        return sql_text(tree, dialect, copy=False)
    finally:
        for node, arg, value in reversed(undo):
            if isinstance(value, exp.Expression) and value.index is not None:
                node.set(arg, value, value.index)
            else:
                node.set(arg, value)


# The only nodes masking changes (or the values under them): every other node is looked into.
_MASKABLE = (exp.In, exp.Limit, exp.Offset, exp.Neg, exp.Literal, exp.Placeholder)


def _mask_in_place(tree: exp.Expression, undo: list[tuple[exp.Expression, str, Any]]) -> None:
    """Mask the values of ``tree`` in place, recording each change in ``undo`` as (node,
    arg, its value before), a node's before its children's: an IN list of values, a LIMIT
    or OFFSET count, and any other value but a column position or a type's size. A value
    replaced is not looked into (it is no longer in the tree); a tree that is itself a
    value stays."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, _MASKABLE):
            if (isinstance(node, exp.In) and node.expressions
                    and all(map(_is_value, node.expressions))):  # fmt: skip
                undo.append((node, "expressions", node.args["expressions"]))
                node.set("expressions", [exp.Placeholder()])
            elif isinstance(node, (exp.Limit, exp.Offset)) and _is_value(node.expression):
                undo.append((node, "expression", node.expression))
                node.set("expression", exp.Placeholder())
            elif _is_value(node) and not _is_position_or_type(node):
                parent = node.parent
                if parent is not None:
                    undo.append((parent, node.arg_key, node))
                    parent.set(node.arg_key, exp.Placeholder(), node.index)
                continue
        stack.extend(node.iter_expressions())


def _is_value(node: exp.Expression | None) -> bool:
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, (exp.Literal, exp.Placeholder))


def _is_position_or_type(node: exp.Expression) -> bool:
    """Literals that are not values: ``ORDER BY 2``, ``GROUP BY 1``, ``VARCHAR(10)``."""
    parent = node.parent
    if isinstance(parent, exp.Neg):
        node, parent = parent, parent.parent
    if isinstance(parent, exp.Ordered) or (
        isinstance(parent, exp.Group) and node.arg_key == "expressions"
    ):
        return isinstance(node, exp.Literal) and not node.is_string
    return node.find_ancestor(exp.DataType) is not None


def _canonical_tree(sql: str | exp.Expression, dialect: str) -> exp.Expression:
    tree = ensure_tree(sql, dialect)
    if not isinstance(sql, str):
        tree = tree.copy()  # never modify the caller's tree
    quoted_strings_to_literals(tree, dialect)
    tree = normalize_identifiers(tree, dialect=sqlglot_dialect(dialect))
    _rename_table_aliases(tree)
    _unquote_safe_identifiers(tree, sqlglot_dialect(dialect))
    return tree


def _rename_table_aliases(tree: exp.Expression) -> None:
    """Rename table and derived-table aliases to t1, t2, ... in text order, scope by scope."""
    try:
        scopes = traverse_scope(tree)
    except OptimizeError:
        return  # leave names alone rather than rename wrongly
    defining = [node for scope in scopes for node in _from_nodes(scope) if node.alias]
    if not defining:
        return
    position = {id(node): i for i, node in enumerate(tree.walk(bfs=False))}
    defining.sort(key=lambda node: position.get(id(node), 0))
    taken = {t.name.lower() for t in tree.find_all(exp.Table)}
    new_names: dict[int, str] = {}
    counter = 0
    for node in defining:
        counter += 1
        while f"{ALIAS_PREFIX}{counter}" in taken:
            counter += 1
        new_names[id(node)] = f"{ALIAS_PREFIX}{counter}"

    for scope in scopes:
        for column in scope.find_all(exp.Column):
            if not column.table:
                continue
            node = _defining_node(scope, column.table.lower())
            if node is not None and id(node) in new_names:
                column.set("table", exp.to_identifier(new_names[id(node)]))
    for node in defining:
        node.set("alias", exp.TableAlias(this=exp.to_identifier(new_names[id(node)])))


def _from_nodes(scope: Scope) -> list[exp.Expression]:
    select = scope.expression
    if not isinstance(select, exp.Select):
        return []
    nodes = [select.args["from_"].this] if select.args.get("from_") else []
    nodes.extend(join.this for join in select.args.get("joins") or ())
    return nodes


def _defining_node(scope: Scope | None, qualifier: str) -> exp.Expression | None:
    """The FROM / JOIN node that defines ``qualifier`` for this scope, looking outwards."""
    while scope is not None:
        for node in _from_nodes(scope):
            if node.alias_or_name.lower() == qualifier:
                return node
        scope = scope.parent
    return None


def _unquote_safe_identifiers(tree: exp.Expression, dialect: str) -> None:
    """Drop quotes that change nothing, so ``"singer"`` and ``singer`` normalise alike."""
    for identifier in tree.find_all(exp.Identifier):
        if identifier.quoted and _is_plain_name(identifier.name, dialect):
            identifier.set("quoted", False)


@lru_cache(maxsize=4096)
def _is_plain_name(name: str, dialect: str) -> bool:
    # Lower-case only: in case-sensitive dialects a quoted "Name" must stay quoted.
    if not (name.isascii() and name.isidentifier() and name == name.lower()):
        return False
    # A keyword would need its quotes; let the dialect's tokenizer decide.
    tokens = sqlglot.tokenize(name, read=dialect)
    return len(tokens) == 1 and tokens[0].token_type == TokenType.VAR
