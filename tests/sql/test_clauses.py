"""Clause segments: where PSG cuts the gold and where the search's actions begin and end."""

from __future__ import annotations

import pytest

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.sql.clauses import (
    clause_prefixes,
    clause_segments,
    match_prefix,
    normalize_spacing,
    token_key,
)

SEGMENTS = [
    ("SELECT 1", ["SELECT 1"]),
    ("SELECT count(*) FROM head WHERE age > 56",
     ["SELECT count(*)", "FROM head", "WHERE age > 56"]),
    ("SELECT a FROM t GROUP BY a HAVING count(*) > 1 ORDER BY a DESC LIMIT 3",
     ["SELECT a", "FROM t", "GROUP BY a", "HAVING count(*) > 1", "ORDER BY a DESC", "LIMIT 3"]),
    # a set operation keeps the SELECT after it, ALL included
    ("SELECT a FROM t UNION ALL SELECT b FROM u",
     ["SELECT a", "FROM t", "UNION ALL SELECT b", "FROM u"]),
    ("SELECT a FROM t INTERSECT SELECT b FROM u EXCEPT SELECT c FROM v",
     ["SELECT a", "FROM t", "INTERSECT SELECT b", "FROM u", "EXCEPT SELECT c", "FROM v"]),
    # a subquery's clauses cut too; a FROM inside a function call does not
    ("SELECT a FROM t WHERE x IN (SELECT y FROM u)",
     ["SELECT a", "FROM t", "WHERE x IN (", "SELECT y", "FROM u)"]),
    ("SELECT EXTRACT(YEAR FROM d), substr(x, 1) FROM t",
     ["SELECT EXTRACT(YEAR FROM d), substr(x, 1)", "FROM t"]),
    # keywords inside literals and quoted names are text, not clauses
    ("SELECT \"from\" FROM t WHERE n = 'ORDER BY x'",
     ["SELECT \"from\"", "FROM t", "WHERE n = 'ORDER BY x'"]),
    ("WITH c AS (SELECT a FROM t) SELECT a FROM c",
     ["WITH c AS (", "SELECT a", "FROM t)", "SELECT a", "FROM c"]),
    ("select a from t where b = 1", ["select a", "from t", "where b = 1"]),
]  # fmt: skip


@pytest.mark.parametrize("sql, segments", SEGMENTS)
def test_segments(sql, segments):
    assert clause_segments(sql) == segments
    # Joined with spaces they give the query back (a space after "(" aside).
    assert token_key(" ".join(segments)) == token_key(sql)


@pytest.mark.parametrize("sql, segments", SEGMENTS)
def test_prefixes_are_every_proper_cut_but_the_empty_one(sql, segments):
    prefixes = clause_prefixes(sql)
    assert [token_key(p) for p in prefixes] == [
        token_key(" ".join(segments[:k])) for k in range(1, len(segments))
    ]
    assert all(sql.startswith(p) for p in prefixes)


def test_normalize_spacing_keeps_literals_exactly():
    sql = "SELECT  count(*)\n FROM head WHERE name  =  'a  b' AND age  >  56 ;"
    assert normalize_spacing(sql) == "SELECT count(*) FROM head WHERE name = 'a  b' AND age > 56 ;"


@pytest.mark.parametrize(
    "prefix, text, rest",
    [
        ("SELECT a", "SELECT a FROM t", " FROM t"),
        ("select A  from t", "SELECT a FROM t WHERE x = 1", " WHERE x = 1"),
        ("", "SELECT a", "SELECT a"),
        ("SELECT a FROM t", "SELECT a FROM t", ""),
        ("SELECT a", "SELECT ab FROM t", None),  # a token is whole or not at all
        ("SELECT a WHERE n = 'X'", "SELECT a WHERE n = 'x'", None),  # literals keep their case
        ("SELECT a FROM t WHERE b", "SELECT a FROM t", None),  # longer than the text
    ],
)
def test_match_prefix(prefix, text, rest):
    at = match_prefix(prefix, text)
    assert (None if at is None else text[at:]) == rest


def test_token_key_ignores_case_and_spacing_but_not_literals():
    assert token_key("FROM singer  WHERE a=1") == token_key("from Singer where a = 1")
    assert token_key("WHERE n = 'A'") != token_key("WHERE n = 'a'")


def test_an_unclosed_string_is_a_syntax_error():
    with pytest.raises(SQLSyntaxError, match="cannot tokenize"):
        clause_segments("SELECT a FROM t WHERE n = 'open")
