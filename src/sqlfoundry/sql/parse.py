"""Parsing and syntax checks: the entry point of every SQL rule in this layer.

Everything here goes through sqlglot's tokenizer and parser, so the other
modules can rely on one place for dialect names and error wrapping.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.helper import name_sequence
from sqlglot.tokens import Token, TokenType

from sqlfoundry.core.errors import ConfigError, SQLSyntaxError
from sqlfoundry.core.lru import SharedLRU

# Our dialect names -> sqlglot's. MariaDB speaks MySQL as far as sqlglot knows.
_DIALECTS = {
    "sqlite": "sqlite",
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "duckdb": "duckdb",
}

SUPPORTED_DIALECTS = ("sqlite", "postgres", "mysql", "duckdb")


def sqlglot_dialect(name: str) -> str:
    """Map a user-facing dialect name (``postgresql``, ``MariaDB``, ...) to sqlglot's name.

    Raises:
        ConfigError: for a dialect sqlfoundry does not support.
    """
    key = (name or "").strip().lower()
    try:
        return _DIALECTS[key]
    except KeyError:
        raise ConfigError(
            f"unknown SQL dialect {name!r}",
            hint=f"use one of {', '.join(sorted(_DIALECTS))}",
        ) from None


@functools.cache
def dialect_instance(name: str) -> Dialect:
    """One shared sqlglot Dialect per name: building one per call costs more than tokenizing."""
    return Dialect.get_or_raise(sqlglot_dialect(name))


@functools.cache
def _default_dialect() -> Dialect:
    return Dialect.get_or_raise(None)


def sql_text(
    tree: exp.Expression, dialect: str | None = None, *, copy: bool = True, **opts: Any
) -> str:
    """``tree.sql(dialect=dialect, copy=copy, **opts)``, through the shared Dialect.

    ``tree.sql`` builds a Dialect per call. ``copy=False`` skips sqlglot's copy of the
    whole tree, which costs as much as parsing it: pass it only for a tree that is not
    used after (sqlglot's generator may rewrite the tree it prints, e.g. a division or
    a subquery with its own ORDER BY), or one printed in the dialect it was parsed in.
    """
    key = (dialect, tuple(sorted(opts.items())))
    writers = getattr(_WRITERS, "by_key", None)
    if writers is None:
        writers = _WRITERS.by_key = {}
    writer = writers.pop(key, None)  # taken while it prints: a nested print makes its own
    if writer is None:
        chosen = dialect_instance(dialect) if dialect else _default_dialect()
        writer = chosen.generator(**opts)
    # The one state a generator keeps between prints: the names it makes up (_t0, ...).
    writer._next_name = name_sequence("_t")
    text = writer.generate(tree, copy=copy)
    writers[key] = writer  # not on failure: a print cut short may leave it half set
    return text


# Each thread's generator per dialect and options: building one is a sixth of printing a
# short query, and a query is printed many times over as it is drawn and checked.
_WRITERS = threading.local()


# Each thread's tokenizer and parser per dialect: sqlglot's Dialect.parse builds both for
# every call (the tokenizer's core from all its tables), a quarter of a short query's
# parse. Both reset themselves at the start of each call.
_READERS = threading.local()


def _reader(dialect: str) -> tuple[Any, Any]:
    """This thread's (tokenizer, parser) for ``dialect``."""
    readers = getattr(_READERS, "by_dialect", None)
    if readers is None:
        readers = _READERS.by_dialect = {}
    pair = readers.get(dialect)
    if pair is None:
        chosen = dialect_instance(dialect)
        pair = readers[dialect] = (chosen.tokenizer(), chosen.parser(error_level=ErrorLevel.RAISE))
    return pair


def tokens_of(sql: str, dialect: str = "sqlite") -> list[Token]:
    """sqlglot's tokens for ``sql``; raises sqlglot's TokenError."""
    return _reader(dialect)[0].tokenize(sql)


def _parse_all(sql: str, dialect: str) -> list[exp.Expression]:
    """Parse every statement, collecting all parse errors instead of stopping at the first."""
    tokenizer, parser = _reader(dialect)
    statements = parser.parse(tokenizer.tokenize(sql), sql)
    return [s for s in statements if s is not None]


def _shape_problems(tree: exp.Expression) -> list[str]:
    """Problems sqlglot's lenient parser lets through but databases reject."""
    problems = []
    for select in tree.find_all(exp.Select):
        if not select.expressions:
            problems.append("SELECT without any result column")
    return problems


def parse_error_messages(err: ParseError | TokenError) -> list[str]:
    """One plain-text message per error sqlglot reported, with its line and column."""
    if isinstance(err, ParseError) and err.errors:
        messages = []
        for detail in err.errors:
            text = detail.get("description") or "parse error"
            line, col = detail.get("line"), detail.get("col")
            if line is not None and col is not None:
                text = f"{text} (line {line}, col {col})"
            messages.append(text)
        return messages
    return [str(err).splitlines()[0] if str(err) else type(err).__name__]


def parse_one(sql: str, dialect: str = "sqlite") -> exp.Expression:
    """Parse exactly one statement.

    Raises:
        SQLSyntaxError: the text is empty, does not parse, or holds several statements.
    """
    if not sql or not sql.strip():
        raise SQLSyntaxError("empty SQL", sql=sql)
    try:
        statements = _parse_all(sql, dialect)
    except (ParseError, TokenError) as err:
        raise SQLSyntaxError("; ".join(parse_error_messages(err)), sql=sql) from err
    if not statements:
        raise SQLSyntaxError("empty SQL", sql=sql)
    if len(statements) > 1:
        raise SQLSyntaxError(f"expected one statement, got {len(statements)}", sql=sql)
    problems = _shape_problems(statements[0])
    if problems:
        raise SQLSyntaxError("; ".join(problems), sql=sql)
    return statements[0]


def ensure_tree(sql_or_tree: str | exp.Expression, dialect: str = "sqlite") -> exp.Expression:
    """Return the tree as is, or parse the text with :func:`parse_one`."""
    if isinstance(sql_or_tree, exp.Expression):
        return sql_or_tree
    return parse_one(sql_or_tree, dialect)


# Trees of the texts parsed last by read_tree: one record's analyses (its question's plan,
# its filters, its hardness, its components) read the same SQL a few steps apart, and a
# stage takes a batch of up to 256 records through every step
# (sqlfoundry.core.executors.stage), so the cache holds a batch and some. Trees are ~9 KiB,
# so memory stays flat; shared, as threads may read SQL at once.
_READ_TREES: SharedLRU[tuple[str, str], exp.Expression] = SharedLRU(320)


def read_tree(sql_or_tree: str | exp.Expression, dialect: str = "sqlite") -> exp.Expression:
    """Like :func:`ensure_tree`, for a caller that only reads the tree: the tree of a
    text is shared with the next readers of the same text, so it must not be modified
    (copy it first)."""
    if isinstance(sql_or_tree, exp.Expression):
        return sql_or_tree
    key = (sql_or_tree, dialect)
    tree = _READ_TREES.get(key)
    if tree is None:
        tree = _READ_TREES.put(key, parse_one(sql_or_tree, dialect))
    return tree


def validate(sql: str, dialect: str = "sqlite") -> list[str]:
    """Check that ``sql`` is one statement that parses in ``dialect``.

    Returns:
        An empty list when valid, otherwise one message per problem found.
    """
    if not sql or not sql.strip():
        return ["empty SQL"]
    try:
        statements = _parse_all(sql, dialect)
    except (ParseError, TokenError) as err:
        return parse_error_messages(err)
    if not statements:
        return ["empty SQL"]
    if len(statements) > 1:
        return [f"expected one statement, got {len(statements)}"]
    return _shape_problems(statements[0])


def split_statements(sql: str, dialect: str = "sqlite") -> list[str]:
    """Split a script into statement texts at top-level semicolons.

    The tokenizer decides what a semicolon is, so semicolons inside strings,
    quoted names and comments do not split. Each statement keeps its original
    text (comments included), stripped; empty statements are dropped.

    Raises:
        SQLSyntaxError: the text cannot be tokenized (an unclosed string, ...).
    """
    try:
        tokens = tokens_of(sql, dialect)
    except TokenError as err:
        raise SQLSyntaxError(f"cannot tokenize SQL: {err}", sql=sql) from err
    statements = []
    start = 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append(sql[start : token.start])
            start = token.end + 1
    statements.append(sql[start:])
    return [s.strip() for s in statements if s.strip()]
