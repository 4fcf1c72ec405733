"""Clause segments of a query: where progressive SQL generation and the tree search cut.

A query is read as a run of clause segments, each opened by a clause keyword:
``SELECT``, ``FROM``, ``WHERE``, ``GROUP BY``, ``HAVING``, ``ORDER BY``, ``LIMIT``,
or a set operation (``UNION``, ``INTERSECT``, ``EXCEPT``). A set operation keeps
the ``SELECT`` that follows it (``UNION SELECT b``), so choosing a set operation
is one step. Keywords are found with sqlglot's tokenizer, so a keyword inside a
string literal or a quoted name never cuts, and neither does a ``FROM`` inside a
function call (``EXTRACT(YEAR FROM d)``, ``SUBSTRING(x FROM 2)``): only keywords
at the top level or directly inside a parenthesised subquery count.

Training data (PSG) and the search cut at the same points, so a model trained
to complete a prefix is asked, at inference, to complete prefixes of the same
kind.
"""

from __future__ import annotations

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.sql.parse import tokens_of

CLAUSE_TOKENS = frozenset(
    {
        TokenType.SELECT,
        TokenType.FROM,
        TokenType.WHERE,
        TokenType.GROUP_BY,
        TokenType.HAVING,
        TokenType.ORDER_BY,
        TokenType.LIMIT,
        TokenType.UNION,
        TokenType.INTERSECT,
        TokenType.EXCEPT,
    }
)
_SET_OPERATIONS = frozenset({TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT})
_QUERY_STARTS = frozenset({TokenType.SELECT, TokenType.WITH})


def _tokens(sql: str, dialect: str) -> list[Token]:
    try:
        return tokens_of(sql, dialect)
    except TokenError as err:
        raise SQLSyntaxError(f"cannot tokenize SQL: {err}", sql=sql) from err


def clause_starts(sql: str, dialect: str = "sqlite") -> list[int]:
    """Character offsets in ``sql`` where a clause segment begins, in order.

    The first offset is where the first token starts; a query of one segment
    gives one offset.

    Raises:
        SQLSyntaxError: the text cannot be tokenized (an unclosed string...).
    """
    tokens = _tokens(sql, dialect)
    starts: list[int] = []
    # One entry per open parenthesis: does it hold a query (its first token is SELECT/WITH)?
    parens: list[bool] = []
    previous: Token | None = None
    for i, token in enumerate(tokens):
        kind = token.token_type
        if kind == TokenType.L_PAREN:
            following = tokens[i + 1].token_type if i + 1 < len(tokens) else None
            parens.append(following in _QUERY_STARTS)
        elif kind == TokenType.R_PAREN:
            if parens:
                parens.pop()
        elif kind in CLAUSE_TOKENS and (not parens or parens[-1]):
            after_set_operation = (
                kind == TokenType.SELECT
                and previous is not None
                and (
                    previous.token_type in _SET_OPERATIONS
                    or (previous.token_type in (TokenType.ALL, TokenType.DISTINCT)
                        and i >= 2 and tokens[i - 2].token_type in _SET_OPERATIONS)
                )
            )  # fmt: skip
            if not after_set_operation:
                starts.append(token.start)
        previous = token
    if not tokens:
        return []
    if not starts or starts[0] != tokens[0].start:
        starts.insert(0, tokens[0].start)
    return starts


def clause_segments(sql: str, dialect: str = "sqlite") -> list[str]:
    """The query cut into clause segments, each stripped: joined by spaces they give it back."""
    starts = clause_starts(sql, dialect)
    bounds = [*starts, len(sql)]
    return [sql[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False) if sql[a:b].strip()]


def clause_prefixes(sql: str, dialect: str = "sqlite") -> list[str]:
    """Every proper prefix of the query that ends before a clause keyword (never the empty
    one): the incomplete queries progressive SQL generation trains on."""
    starts = clause_starts(sql, dialect)
    return [sql[:start].strip() for start in starts[1:]]


def normalize_spacing(sql: str, dialect: str = "sqlite") -> str:
    """One space wherever the query has any run of whitespace between tokens, none at the
    ends; string literals and quoted names are kept exactly as written."""
    tokens = _tokens(sql, dialect)
    if not tokens:
        return sql.strip()
    parts = [_source(sql, tokens[0])]
    for before, token in zip(tokens, tokens[1:], strict=False):
        gap = sql[before.end + 1 : token.start]
        parts.append((" " if gap.strip() == "" and gap else gap) + _source(sql, token))
    return "".join(parts).strip()


def _source(sql: str, token: Token) -> str:
    return sql[token.start : token.end + 1]


_STRINGS = frozenset({TokenType.STRING, TokenType.NATIONAL_STRING})


def _same(a: Token, b: Token, a_text: str, b_text: str) -> bool:
    if a.token_type != b.token_type:
        return False
    if a.token_type in _STRINGS:
        return a_text == b_text
    return a_text.lower() == b_text.lower()


def token_key(sql: str, dialect: str = "sqlite") -> tuple[tuple[str, str], ...]:
    """A key equal for two texts with the same tokens, case and spacing aside (string
    literals compared exactly): how the search merges identical segments."""
    return tuple(
        (t.token_type.name, text if t.token_type in _STRINGS else text.lower())
        for t in _tokens(sql, dialect)
        for text in (_source(sql, t),)
    )


def match_prefix(prefix: str, text: str, dialect: str = "sqlite") -> int | None:
    """Where ``text`` goes on after the tokens of ``prefix``, or None when it does not
    start with them. Case and spacing do not matter, except inside string literals.

    Returns:
        A character offset into ``text`` (its length when nothing follows).

    Raises:
        SQLSyntaxError: either text cannot be tokenized.
    """
    want = _tokens(prefix, dialect)
    if not want:
        return 0
    have = _tokens(text, dialect)
    if len(have) < len(want):
        return None
    for a, b in zip(want, have, strict=False):
        if not _same(a, b, _source(prefix, a), _source(text, b)):
            return None
    last = have[len(want) - 1]
    return last.end + 1
