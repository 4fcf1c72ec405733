"""The plain scan finds what sqlglot's SQLite tokenizer finds, or says it cannot tell.

Compared on every Spider gold query (dev and train), on generated texts made of the
pieces where the two could part (quotes, comments, prefixes, numbers, keywords split by
whitespace or run into other text), and through ``spider_prepare`` with and without it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sqlfoundry.bench import execution
from sqlfoundry.bench.execution import spider_prepare
from sqlfoundry.core.errors import WriteRejectedError
from sqlfoundry.sql.parse import tokens_of
from sqlfoundry.sql.plain_scan import Scan, scan


def by_sqlglot(sql: str) -> Scan | None:
    """What :func:`scan` must answer, read from sqlglot's tokens; None when the tokens
    hold something the scan leaves to sqlglot (text after the first ``;``)."""
    from sqlglot.tokens import TokenType

    tokens = tokens_of(sql, "sqlite")
    distinct, orders = [], False
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.SEMICOLON:
            if any(t.token_type != TokenType.SEMICOLON for t in tokens[i:]):
                return None
            return Scan(distinct, orders, token.start)
        if token.token_type == TokenType.DISTINCT:
            distinct.append((token.start, token.end + 1))
        elif token.token_type == TokenType.ORDER_BY:
            orders = True
    return Scan(distinct, orders, None)


def agrees(sql: str) -> bool:
    """True when the scan read ``sql``; fails when it read it otherwise than sqlglot."""
    found = scan(sql)
    if found is not None:
        assert found == by_sqlglot(sql), sql
    return found is not None


CASES = [
    # (text, read by the scan?)
    ("SELECT DISTINCT name FROM t ORDER BY name", True),
    ("select distinct(a), count(DISTINCT b) from t order\n\t by 1;", True),
    ("SELECT a FROM t ORDER  BY a ;  ;", True),
    ("SELECT 'DISTINCT', \"ORDER BY\", `distinct`, [order by] FROM t", True),
    ("SELECT 'it''s' FROM t WHERE x = 'a;b' ORDER BY 1", True),
    ('SELECT "a""distinct" FROM t', True),
    ("SELECT [a]]distinct] FROM t", True),
    ("SELECT distinct_count, orders, order_by FROM t", True),
    ("SELECT T1.distinct FROM t AS T1", True),
    ("SELECT DISTINCT'a'", False),  # a word run into a quote: N'..' would be a string
    ("SELECT a FROM t ORDER BYx", True),
    ("SELECT a FROM t ORDER BY_x", True),
    ("SELECT 1.5, .5, 1. FROM t ORDER BY 1", True),
    ("(SELECT DISTINCT a FROM t) UNION SELECT b FROM u ORDER BY 1", True),
    ("WITH c AS (SELECT DISTINCT a FROM t) SELECT * FROM c", True),
    ("SELECT a FROM t WHERE b <> 1 AND c != 2 OR d || e >= 3 ORDER BY a", True),
    ("SELECT user-distinct x FROM t", True),
    ("SELECT a FROM t;", True),
    # Left to sqlglot:
    ("SELECT 1 ORDER/**/BY 2", False),
    ("SELECT a -- ORDER BY\nFROM t", False),
    ("SELECT n'x' ORDER BY 1", False),
    ("SELECT x'1F' FROM t", False),
    ("SELECT 1e5 ORDER BY 1", False),
    ("SELECT 0x1F ORDER BY 1", False),
    ("SELECT 'unclosed ORDER BY 1", False),
    ("SELECT 'a'' ORDER BY 1", False),
    ('SELECT "a ORDER BY 1', False),
    ("SELECT a FROM t WHERE b = 'x\\' ORDER BY 1", False),
    ("SELECT $a ORDER BY 1", False),
    ("SELECT @a, :b, ?, #c ORDER BY 1", False),
    ("SELECT é FROM t ORDER BY 1", False),
    ("SELECT YEAR(CURDATE()) ORDER BY 1", False),
    ("SELECT begin, replace(a, 'b', 'c') FROM t ORDER BY 1", False),
    ("SELECT 1; SELECT 2", False),
    ("SELECT 1; DROP TABLE t", False),
    ("REPLACE INTO t SELECT DISTINCT a FROM u", False),
    ("VALUES (1) ORDER BY 1", False),
    ("'x' ORDER BY 1", False),
]


@pytest.mark.parametrize(("sql", "read"), CASES)
def test_the_scan_reads_plain_text_as_sqlglot_does(sql, read):
    assert agrees(sql) is read


PIECES = [
    "SELECT ", "select", "DISTINCT", "distinct", " DISTINCT ", "ORDER", "order", "BY", "by",
    " ORDER BY ", "ORDER\n\tBY", "BY_x", "x", "T1.", "a1", "_b", "1", "1.5", ".5", "1e5", "0x",
    "e", "N", "n", "X", "'", "''", "'str'", '"', '""', '"id"', "`", "``", "[", "]", "]]", "(",
    ")", ",", ";", " ; ", "*", "=", "<", ">", "!", "-", "--", "/", "/*", "*/", "|", "+", "%",
    "&", "~", "^", "\\", "$", "@", ":", "?", "#", "{", "}", "é", "\u00a0", "\x1c", " ", "  ",
    "\n", "\t", "\r\n", "BEGIN", "REPLACE", "CURDATE", "USER-", "WITH ", "(SELECT ", "GROUP ",
    "DISTRIBUTE", "SIMILAR TO", "INTO", "DROP",
]  # fmt: skip


def test_generated_texts():
    rng = random.Random(16)
    read = 0
    for _ in range(6000):
        head = rng.choice(["SELECT ", "select ", "(SELECT ", "WITH ", ""])
        sql = head + "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        try:
            read += agrees(sql)
        except Exception as error:  # sqlglot refused a text the scan read
            if scan(sql) is not None:
                raise AssertionError(f"sqlglot cannot tokenize {sql!r}: {error}") from error
    assert read > 1000  # the comparison means something: plenty of texts were read


def spider_queries(spider_root: Path) -> list[str]:
    queries = []
    for name in ("dev_gold.sql", "train_gold.sql"):
        lines = (spider_root / name).read_text().splitlines()
        queries += [line.rsplit("\t", 1)[0] for line in lines if line.strip()]
    return queries


def test_every_spider_gold_query(spider_root: Path):
    queries = spider_queries(spider_root)
    read = sum(agrees(sql) for sql in queries)
    assert len(queries) == 1034 + 8659
    assert read > 0.99 * len(queries), read


def prepared(queries: list[str]) -> list[object]:
    out: list[object] = []
    for sql in queries:
        for prediction in (False, True):
            try:
                out.append(spider_prepare(sql, prediction=prediction))
            except WriteRejectedError as error:
                out.append(str(error))
    return out


def test_spider_prepare_is_the_same_with_and_without_the_scan(spider_root: Path, monkeypatch):
    queries = spider_queries(spider_root)
    queries += [sql for sql, _ in CASES]
    queries += [q.replace("FROM", "FROM (SELECT DISTINCT * FROM t);") for q in queries[:300]]
    fast = prepared(queries)
    monkeypatch.setattr(execution, "scan", lambda sql: None)
    assert prepared(queries) == fast
