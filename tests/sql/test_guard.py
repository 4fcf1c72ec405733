import pytest

from sqlfoundry.core.errors import SQLSyntaxError, WriteRejectedError
from sqlfoundry.sql.guard import check_read_only

ACCEPTED = [
    ("SELECT count(*) FROM singer", "sqlite"),
    ("select name from singer;", "sqlite"),
    ("WITH a AS (SELECT 1 AS x) SELECT x FROM a", "sqlite"),
    ("(SELECT 1) UNION SELECT 2", "sqlite"),
    ("VALUES (1), (2)", "sqlite"),
    ("SELECT * FROM t WHERE note = 'DELETE FROM t; DROP TABLE t'", "sqlite"),
    ('SELECT "delete", "update" FROM t', "sqlite"),
    ("SELECT replace(name, 'a', 'b'), update_time FROM t", "sqlite"),
    ("SELECT truncate(price, 2) FROM t USE INDEX (i)", "mysql"),
    ("SELECT pg_sleep(0)", "postgres"),
    # sqlglot cannot parse this, but it is a query: the database decides.
    ("SELECT a FROM t WHERE", "sqlite"),
]

REJECTED = [
    ("DELETE FROM singer", "not a query: DELETE statements are refused"),
    ("insert into t values (1)", "not a query: INSERT statements are refused"),
    ("UPDATE t SET a = 1", "not a query: UPDATE statements are refused"),
    ("DROP TABLE t", "not a query: DROP statements are refused"),
    ("CREATE TABLE x (a int)", "not a query: CREATE statements are refused"),
    ("ALTER TABLE t ADD b int", "not a query: ALTER statements are refused"),
    ("PRAGMA journal_mode = WAL", "not a query: PRAGMA statements are refused"),
    ("ATTACH 'x.db' AS x", "not a query: ATTACH statements are refused"),
    ("BEGIN", "not a query: BEGIN statements are refused"),
    ("VACUUM", "not a query: VACUUM statements are refused"),
    ("REINDEX", "not a query: REINDEX statements are refused"),
    ("REPLACE INTO t VALUES (1)", "not a query: REPLACE statements are refused"),
    ("EXPLAIN SELECT 1", "not a query: EXPLAIN statements are refused"),
    ("SELECT 1; DROP TABLE t", "2 statements given; only a single query is run"),
    ("SELECT 1; SELECT 2;", "2 statements given; only a single query is run"),
    (
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "query contains DELETE; only read-only queries run",
    ),
    ("SELECT * INTO copy FROM t", "query contains INTO; only read-only queries run"),
    ("SELECT * FROM t FOR UPDATE", "query contains UPDATE; only read-only queries run"),
]

SYNTAX = [
    ("", "empty SQL"),
    ("   ;  ", "empty SQL"),
    ("SELEC 1", "not SQL a database can run: starts with 'SELEC'"),
    ("how many singers are there?", "not SQL a database can run: starts with 'how'"),
]


@pytest.mark.parametrize(("sql", "dialect"), ACCEPTED)
def test_queries_pass(sql, dialect):
    check_read_only(sql, dialect)


@pytest.mark.parametrize(("sql", "message"), REJECTED)
def test_writes_and_scripts_are_refused(sql, message):
    with pytest.raises(WriteRejectedError) as info:
        check_read_only(sql, "postgres" if "RETURNING" in sql else "sqlite")
    assert info.value.message == message
    assert info.value.sql == sql


@pytest.mark.parametrize(("sql", "message"), SYNTAX)
def test_non_sql_is_a_syntax_error(sql, message):
    with pytest.raises(SQLSyntaxError) as info:
        check_read_only(sql)
    assert info.value.message == message


# ----------------------------------------------------------------- the pre-check
# plainly_read_only() lets a query skip the tokenizer; it must never pass what the
# tokenizer would refuse.

from sqlglot.dialects.dialect import Dialect  # noqa: E402

from sqlfoundry.sql.guard import WRITE_WORDS, _writes_inside, check_tokens, plainly_read_only  # noqa: E402
from sqlfoundry.sql.parse import SUPPORTED_DIALECTS, sqlglot_dialect  # noqa: E402


def test_every_writing_keyword_holds_a_pre_check_word():
    writes = _writes_inside()
    for name in SUPPORTED_DIALECTS:
        keywords = Dialect.get_or_raise(sqlglot_dialect(name)).tokenizer_class.KEYWORDS
        for text, kind in keywords.items():
            if kind in writes:
                assert any(w in text.upper() for w in WRITE_WORDS), (name, text)


PRE_CHECKED = [
    ("SELECT count(*) FROM singer", True),
    ("  select name from singer ;  ", True),
    ("SELECT 1;;", False),
    ("SELECT * FROM t WHERE note = 'a;b'", False),
    ("SELECT update_time FROM t", True),
    ("SELECT created, state FROM votes WHERE created_at > 1", True),
    ("SELECT x FROM t WHERE note = 'insert'", False),
    ("WITH a AS (SELECT 1) SELECT * FROM a", True),
    ("with recursive c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", True),
    ("(SELECT 1)", False),
    ("-- note\nSELECT 1", False),
    ("SELECT 1 -- no write here\n", True),
]


@pytest.mark.parametrize(("sql", "plain"), PRE_CHECKED)
def test_pre_check(sql, plain):
    assert plainly_read_only(sql) is plain
    check_read_only(sql)  # all of them are queries
    check_tokens(sql)


@pytest.mark.parametrize(
    "sql",
    [s for s, _ in REJECTED]
    + [s for s, _ in SYNTAX]
    + ["SELECTx FROM t", "SELECT_1 FROM t", "WITHx AS (SELECT 1) SELECT 2", "WITH_1 FROM t"]
    # A writing word that is a token of its own although glued to what comes before.
    + ["SELECT 1into", "SELECT a.into FROM t", 'SELECT "a"INTO b', "SELECT 1e5insert"],
)
def test_the_pre_check_passes_nothing_the_tokenizer_refuses(sql):
    assert not plainly_read_only(sql)


@pytest.mark.parametrize("word", WRITE_WORDS)
def test_a_writing_word_glued_to_anything_passes_only_when_the_tokenizer_would(word):
    # Every character that can sit next to a word, on either side.
    glue = [*"0123456789_aZ.,;:$@#`'\"[](){}+-*/%<>=!|&^~?\\ \t\n", "é", "1e", "0x"]
    for left in glue:
        for right in glue:
            for text in (f"SELECT a{left}{word}{right}b", f"SELECT {left}{word.lower()}{right}",
                         f"WITH a AS (SELECT 1) SELECT a{left}{word}{right}b FROM a"):  # fmt: skip
                if plainly_read_only(text):
                    try:
                        check_tokens(text)
                    except WriteRejectedError:
                        pytest.fail(f"the pre-check passes {text!r}, which the tokenizer refuses")
                    except SQLSyntaxError:
                        pass  # not a write; the database judges it


def test_the_pre_check_agrees_with_the_tokenizer_on_spider(spider_root):
    golds = [line.rsplit("\t", 1)[0] for name in ("dev_gold.sql", "train_gold.sql")
             for line in (spider_root / name).read_text().splitlines() if line.strip()]  # fmt: skip
    plain = [sql for sql in golds if plainly_read_only(sql)]
    assert len(plain) > len(golds) * 0.9  # most queries skip the tokenizer
    for sql in plain:
        check_tokens(sql)
