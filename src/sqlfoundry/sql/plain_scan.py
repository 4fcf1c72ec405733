"""What sqlglot's SQLite tokenizer finds in a plain query, found without importing sqlglot.

Spider-mode evaluation rewrites a query on its tokens: every DISTINCT keyword is cut
out, ORDER BY says whether row order counts, and the first ``;`` ends the text. About
four Spider queries in ten hold one of those words, and importing sqlglot to read them
costs more than running the query. :func:`scan` reads the common shape of such a
query itself: words, numbers, quoted strings and names, whitespace and single-character
punctuation, starting with SELECT, WITH or ``(``. Anything it is not sure to read as
sqlglot does gives None, and the caller asks sqlglot: comments, a backslash, ``$``,
``@``, ``:``, ``?``, ``#``, braces, non-ASCII text outside quotes, a quote right after a
word (``N'..'``, ``x'..'``), a number run into letters (``1e5``, ``0x1F``), an unclosed
quote, BEGIN (a command may follow it), CURDATE, or anything after the first ``;``.
``tests/sql/test_plain_scan.py`` compares the two on every Spider query and on generated
edge cases.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# One token at a time, from where the last one ended. A quoted string or name runs to
# its closing quote, a doubled quote inside it standing for one (possessive, so an
# unclosed quote does not match at all); other characters are sqlglot's single tokens.
_TOKEN = re.compile(
    r"""
      (?P<space>[ \t\n\r\f\v]+)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>[0-9]+(?:\.[0-9]*)?)
    | (?P<quoted>'(?:[^']|'')*+'|"(?:[^"]|"")*+"|`(?:[^`]|``)*+`|\[(?:[^\]]|\]\])*+\])
    | (?P<punct>[(),.;*=<>!+\-/%|&~^])
    """,
    re.VERBOSE,
)
_STARTS = frozenset({"SELECT", "WITH"})


class Scan(NamedTuple):
    """``distinct``: (start, end) of each DISTINCT keyword, ``end`` exclusive;
    ``orders``: an ORDER BY before the first ``;``; ``semicolon``: the first ``;``'s
    offset (None when there is none); only ``;`` and whitespace follow it."""

    distinct: list[tuple[int, int]]
    orders: bool
    semicolon: int | None


def scan(sql: str) -> Scan | None:
    """The DISTINCT keywords, ORDER BY and the end of ``sql`` as sqlglot's SQLite
    tokenizer finds them; None when ``sql`` is not plain enough to be sure."""
    if "--" in sql or "/*" in sql or "\\" in sql:
        return None
    distinct: list[tuple[int, int]] = []
    orders = False
    first = True
    after_order = False  # the last token was the word ORDER (whitespace between is fine)
    pos, size = 0, len(sql)
    match = _TOKEN.match
    while pos < size:
        token = match(sql, pos)
        if token is None:
            return None
        kind, end = token.lastgroup, token.end()
        if kind == "space":
            pos = end
            continue
        if kind == "word":
            word = sql[pos:end].upper()
            if first and word not in _STARTS:
                return None
            if word == "DISTINCT":
                distinct.append((pos, end))
            elif word == "BY" and after_order:
                orders = True
            elif word in ("BEGIN", "CURDATE"):
                return None
            if end < size and sql[end] in "'\"`[":
                return None  # a prefixed string (N'..', x'..') or a name run into a quote
            after_order = word == "ORDER"
        elif kind == "number":
            if end < size and (sql[end].isalpha() or sql[end] == "_"):
                return None  # 1e5, 0x1F, 1_000: sqlglot's number rules
            after_order = False
        else:
            text = sql[pos]
            if first and text != "(":
                return None
            if text == ";":
                rest = sql[end:]
                if rest.strip(" \t\n\r\f\v;"):
                    return None  # another statement: sqlglot judges it
                return Scan(distinct, orders, pos)
            after_order = False
        first = False
        pos = end
    return Scan(distinct, orders, None)
