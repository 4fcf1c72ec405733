"""Translate SQL between the dialects sqlfoundry runs on: SQLite, PostgreSQL, MySQL, DuckDB."""

from __future__ import annotations

import sqlglot
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_error_messages, sqlglot_dialect


def transpile(
    sql: str,
    source: str,
    target: str,
    *,
    pretty: bool = False,
    quoted_strings: bool = True,
) -> str:
    """Rewrite ``sql`` from the ``source`` dialect into the ``target`` dialect.

    Several statements are kept in order, joined by ``;`` and a newline.

    Args:
        sql: one statement or a script.
        source: dialect the SQL is written in (``sqlite``, ``postgres``, ``mysql``, ``duckdb``,
            or the aliases ``postgresql`` / ``mariadb``).
        target: dialect to write.
        pretty: format over several indented lines.
        quoted_strings: from SQLite, turn double-quoted values (``name = "Bob"``) into
            string literals. SQLite reads them as strings when no such column exists,
            while the other dialects would look for a column.

    Raises:
        SQLSyntaxError: the SQL does not parse in ``source``, or uses something
            ``target`` cannot express.
    """
    read, write = sqlglot_dialect(source), sqlglot_dialect(target)
    if not sql or not sql.strip():
        raise SQLSyntaxError("empty SQL", sql=sql)
    try:
        trees = [t for t in sqlglot.parse(sql, read=read, error_level=ErrorLevel.RAISE) if t]
    except (ParseError, TokenError) as err:
        message = "; ".join(parse_error_messages(err))
        raise SQLSyntaxError(f"cannot parse as {source}: {message}", sql=sql) from err
    if not trees:
        raise SQLSyntaxError("empty SQL", sql=sql)
    out = []
    for tree in trees:
        if quoted_strings:
            quoted_strings_to_literals(tree, source)
        try:
            out.append(tree.sql(dialect=write, pretty=pretty, unsupported_level=ErrorLevel.RAISE))
        except UnsupportedError as err:
            raise SQLSyntaxError(f"cannot express in {target}: {err}", sql=sql) from err
    return ";\n".join(out)
