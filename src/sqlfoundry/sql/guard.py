"""The read-only guard: refuse anything that is not a single query.

It runs before a statement reaches any database. The databases protect
themselves too (read-only files, connections and transactions); this guard is
the first line, and the one that gives a clear reason.

It works on sqlglot's tokens rather than a full parse: a write can only hide
in a query behind one of a few keywords (a data-modifying CTE, ``SELECT ...
INTO``, ``FOR UPDATE``), and those are tokens, never identifiers or string
contents. Tokenizing costs a fifth of parsing, and it lets a query that
sqlglot cannot parse but the database can still be judged by the database,
as the official scorers do.

Most queries never reach the tokenizer: :func:`plainly_read_only` passes a
text that starts with SELECT or WITH (a data-modifying CTE holds a writing word), holds at most a trailing semicolon and none of
the writing words as a word of its own (inside a longer name such as
``created`` they are no keyword; inside a string they still send the text to
the tokenizer), which the tokenizer would pass too. Anything else is tokenized.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from sqlfoundry.core.errors import SQLSyntaxError, WriteRejectedError

if TYPE_CHECKING:
    from sqlglot.tokens import Token

# The keywords of the token types in ``_writes_inside()``, as text: a query in
# which none of them appears, in any case, holds none of those tokens. A test
# checks the list against every keyword sqlglot maps to those types.
WRITE_WORDS = (
    "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "INTO", "ATTACH",
    "DETACH", "PRAGMA", "GRANT", "COMMIT", "ROLLBACK",
)  # fmt: skip


_WRITE_SET = frozenset(WRITE_WORDS)
_RUNS = re.compile(r"[A-Z0-9_]+")


def plainly_read_only(sql: str) -> bool:
    """True when ``sql`` is certainly one read-only query, judged without the tokenizer.

    A False says nothing: the text needs the tokenizer (:func:`check_read_only`).
    """
    text = sql.strip()
    first = text[:6].upper()
    size = 6 if first == "SELECT" else 4 if first[:4] == "WITH" else 0
    if not size or (len(text) > size and (text[size].isalnum() or text[size] == "_")):
        return False
    if ";" in text.rstrip(";").rstrip() or text.count(";") > 1:
        return False
    upper = text.upper()
    if not any(word in upper for word in WRITE_WORDS):
        return True
    # A writing word inside a longer name (``created``, ``update_time``) is no keyword:
    # a run of letters, digits and ``_`` that starts with a letter or ``_`` is one
    # token. A run that starts with a digit may split (``1into`` is 1 and INTO), so
    # it counts like the word alone; anything else is for the tokenizer.
    for run in _RUNS.findall(upper):
        if run in _WRITE_SET or (run[0].isdigit() and any(w in run for w in WRITE_WORDS)):
            return False
    return True


@functools.cache
def _query_start() -> frozenset:
    """The token types a query starts with."""
    from sqlglot.tokens import TokenType

    return frozenset({TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.L_PAREN})


@functools.cache
def _writes_inside() -> frozenset:
    """Statement keywords that, anywhere inside a query, make it change something.
    Words that also name harmless functions or hints (REPLACE, TRUNCATE, USE, SET)
    are judged only as the first word of a statement."""
    from sqlglot.tokens import TokenType

    return frozenset(getattr(TokenType, word) for word in WRITE_WORDS)


# Statement words sqlglot's tokenizer has no keyword for; as a first word they
# mean a real statement (refused), where any other unknown word is a typo.
_OTHER_STATEMENTS = frozenset(
    "REINDEX VACUUM OPTIMIZE LOCK UNLOCK KILL RENAME CLUSTER REFRESH DISCARD LISTEN NOTIFY "
    "RESET PREPARE EXECUTE DEALLOCATE HANDLER FLUSH INSTALL UNINSTALL CHECKPOINT REASSIGN "
    "IMPORT PURGE".split()
)


def _statements(tokens: list[Token]) -> list[list[Token]]:
    from sqlglot.tokens import TokenType

    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def check_read_only(sql: str, dialect: str = "sqlite") -> None:
    """Refuse ``sql`` unless it is exactly one read-only query.

    Raises:
        WriteRejectedError: a write, DDL, PRAGMA, transaction control, several
            statements, or a query with a write inside it.
        SQLSyntaxError: empty text, text that cannot be tokenized, or text
            that does not start like a query.
    """
    if not sql or not sql.strip():
        raise SQLSyntaxError("empty SQL", sql=sql)
    if not plainly_read_only(sql):
        check_tokens(sql, dialect)


def check_tokens(sql: str, dialect: str = "sqlite") -> None:
    """:func:`check_read_only` by sqlglot's tokens alone, with no pre-check (same errors)."""
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    from sqlfoundry.sql.parse import tokens_of

    try:
        tokens = tokens_of(sql, dialect)
    except TokenError as err:
        raise SQLSyntaxError(f"cannot tokenize SQL: {err}", sql=sql) from err
    statements = _statements(tokens)
    if not statements:
        raise SQLSyntaxError("empty SQL", sql=sql)
    if len(statements) > 1:
        raise WriteRejectedError(
            f"{len(statements)} statements given; only a single query is run", sql=sql
        )
    first = statements[0][0]
    if first.token_type not in _query_start():
        word = first.text.upper()
        unknown = first.token_type in (TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING)
        if unknown and word not in _OTHER_STATEMENTS:
            raise SQLSyntaxError(f"not SQL a database can run: starts with {first.text!r}", sql=sql)
        raise WriteRejectedError(f"not a query: {word} statements are refused", sql=sql)
    writes = _writes_inside()
    for token in statements[0]:
        if token.token_type in writes:
            raise WriteRejectedError(
                f"query contains {token.text.upper()}; only read-only queries run", sql=sql
            )
