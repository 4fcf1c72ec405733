import pytest
from sqlglot import exp

from sqlfoundry.core.errors import ConfigError, SQLSyntaxError
from sqlfoundry.sql.parse import ensure_tree, parse_one, split_statements, sqlglot_dialect, validate

DIALECTS = [
    ("sqlite", "sqlite"),
    ("SQLite", "sqlite"),
    ("postgres", "postgres"),
    ("postgresql", "postgres"),
    (" PostgreSQL ", "postgres"),
    ("mysql", "mysql"),
    ("mariadb", "mysql"),
    ("duckdb", "duckdb"),
]


@pytest.mark.parametrize("name, expected", DIALECTS)
def test_sqlglot_dialect(name, expected):
    assert sqlglot_dialect(name) == expected


@pytest.mark.parametrize("name", ["oracle", "", "tsql"])
def test_unknown_dialect_is_a_config_error_with_the_choices(name):
    with pytest.raises(ConfigError) as info:
        sqlglot_dialect(name)
    assert "mariadb" in info.value.hint and "postgresql" in info.value.hint


def test_parse_one_returns_the_tree():
    tree = parse_one("SELECT name FROM singer WHERE age > 20;")
    assert isinstance(tree, exp.Select)
    assert tree.sql() == "SELECT name FROM singer WHERE age > 20"


def test_parse_one_reads_the_dialect():
    # Backticks are identifiers in MySQL, a tokenizer error in PostgreSQL.
    assert parse_one("SELECT `a b` FROM t", "mariadb").sql("postgres") == 'SELECT "a b" FROM t'
    with pytest.raises(SQLSyntaxError):
        parse_one("SELECT `a b` FROM t", "postgres")


PARSE_ERRORS = [
    ("", "empty SQL"),
    ("   \n ", "empty SQL"),
    (";", "empty SQL"),
    ("SELECT (a FROM t", "Expecting ) (line 1, col 14)"),
    ("SELECT 1; SELECT 2", "expected one statement, got 2"),
    ("SELECT", "SELECT without any result column"),
]


@pytest.mark.parametrize("sql, message", PARSE_ERRORS)
def test_parse_one_errors_carry_message_and_sql(sql, message):
    with pytest.raises(SQLSyntaxError) as info:
        parse_one(sql)
    assert info.value.message == message
    assert info.value.sql == sql


def test_ensure_tree_passes_trees_through():
    tree = parse_one("SELECT 1")
    assert ensure_tree(tree) is tree
    assert ensure_tree("SELECT 1").sql() == "SELECT 1"


VALIDATE = [
    ("SELECT count(*) FROM singer", "sqlite", []),
    ("SELECT a FROM t;", "sqlite", []),
    ("SELECT a::int FROM t", "postgres", []),
    ("", "sqlite", ["empty SQL"]),
    ("SELECT 1; SELECT 2", "sqlite", ["expected one statement, got 2"]),
    ("SELEC a FROM t", "sqlite", ["Invalid expression / Unexpected token (line 1, col 12)"]),
    ("SELECT (a FROM t", "sqlite", ["Expecting ) (line 1, col 14)"]),
    ("SELECT a FROM t WHERE a IN (SELECT FROM s)", "sqlite", ["SELECT without any result column"]),
    (
        "SELECT a FROM t WHERE x = 'open",
        "sqlite",
        ["Error tokenizing 'SELECT a FROM t WHERE x = 'ope'"],
    ),
]


@pytest.mark.parametrize("sql, dialect, expected", VALIDATE)
def test_validate(sql, dialect, expected):
    assert validate(sql, dialect) == expected


SPLITS = [
    ("SELECT 1", ["SELECT 1"]),
    ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("SELECT ';' FROM t;;\n SELECT \"a;b\" FROM t", ["SELECT ';' FROM t", 'SELECT "a;b" FROM t']),
    ("SELECT 1; -- done; really\nSELECT 2", ["SELECT 1", "-- done; really\nSELECT 2"]),
    ("  ;  ; ", []),
]


@pytest.mark.parametrize("sql, expected", SPLITS)
def test_split_statements(sql, expected):
    assert split_statements(sql) == expected


def test_split_statements_raises_on_untokenizable_text():
    with pytest.raises(SQLSyntaxError):
        split_statements("SELECT 'open")


TREE_SQL = "SELECT a / b, COUNT(*) FROM t WHERE c = 'x' GROUP BY a ORDER BY 2 DESC LIMIT 3"


@pytest.mark.parametrize("dialect", [None, "sqlite", "postgres", "mysql", "duckdb"])
def test_sql_text_prints_as_sqlglot_does(dialect):
    from sqlfoundry.sql.parse import sql_text

    tree = parse_one(TREE_SQL)
    expected = tree.sql(dialect=dialect)
    assert sql_text(tree, dialect) == expected
    assert tree.sql(dialect=dialect) == expected  # the default copies: the tree is unchanged
    own = parse_one(TREE_SQL)
    assert sql_text(own, dialect, copy=False) == expected


def test_a_reused_printer_prints_each_tree_as_a_new_one_would():
    from sqlglot import exp

    from sqlfoundry.sql.parse import sql_text

    # A table alias with columns and no name gets one made up: _t0 on every print, not
    # _t0 then _t1 as a generator kept from one print to the next would give.
    tree = parse_one("SELECT * FROM (VALUES (1, 2)) AS v(a, b)", "postgres")
    tree.find(exp.TableAlias).set("this", None)
    assert sql_text(tree, "postgres") == "SELECT * FROM (VALUES (1, 2)) AS _t0(a, b)"
    assert sql_text(tree, "postgres") == "SELECT * FROM (VALUES (1, 2)) AS _t0(a, b)"
    # Options are part of what a printer is kept under.
    assert sql_text(parse_one(TREE_SQL), "sqlite", pretty=True) == parse_one(TREE_SQL).sql(
        dialect="sqlite", pretty=True
    )
    assert sql_text(parse_one(TREE_SQL), "sqlite") == parse_one(TREE_SQL).sql(dialect="sqlite")


def test_sql_text_without_a_copy_leaves_the_tree_as_sqlglot_rewrote_it():
    from sqlfoundry.sql.parse import sql_text

    # SQLite's division printed in the default dialect becomes a / NULLIF(b, 0), in place
    # when not copied: why only a caller's own trees, or those printed in their dialect, go uncopied.
    tree = parse_one("SELECT a / b FROM t")
    assert sql_text(tree) == "SELECT a / NULLIF(b, 0) FROM t"
    assert tree.sql(dialect="sqlite") == "SELECT a / b FROM t"
    assert sql_text(tree, "sqlite", copy=False) == "SELECT a / b FROM t"  # its own dialect
    assert tree.sql(dialect="sqlite") == "SELECT a / b FROM t"
    sql_text(tree, copy=False)
    assert tree.sql(dialect="sqlite") == "SELECT a / NULLIF(b, 0) FROM t"


def test_sql_text_passes_generator_options():
    from sqlfoundry.sql.parse import sql_text

    tree = parse_one("select count(*) from t")
    assert sql_text(tree, "sqlite", normalize_functions="lower") == "SELECT count(*) FROM t"


def test_read_tree_shares_a_texts_tree_and_passes_trees_through():
    from sqlfoundry.sql.parse import read_tree

    first = read_tree(TREE_SQL)
    assert read_tree(TREE_SQL) is first  # parsed once for every reader of the same text
    assert read_tree(TREE_SQL, "postgres") is not first  # the dialect is part of the key
    assert first.sql() == parse_one(TREE_SQL).sql()
    tree = parse_one("SELECT 1")
    assert read_tree(tree) is tree
    with pytest.raises(SQLSyntaxError):
        read_tree("SELECT FROM WHERE")


def test_parsing_after_an_error_or_in_another_thread_reads_the_new_text_alone():
    from concurrent.futures import ThreadPoolExecutor

    from sqlfoundry.sql.parse import tokens_of

    with pytest.raises(SQLSyntaxError):
        parse_one("SELECT (")
    assert validate("SELECT FROM") and not validate("SELECT a FROM t")
    assert parse_one("SELECT a FROM t WHERE b = 1").sql() == "SELECT a FROM t WHERE b = 1"
    texts = [f"SELECT c{i} FROM t{i} WHERE x > {i}" for i in range(200)]
    with ThreadPoolExecutor(4) as pool:
        printed = list(pool.map(lambda sql: parse_one(sql).sql(), texts))
    assert printed == texts
    assert [t.text for t in tokens_of("SELECT `a`", "mysql")] == ["SELECT", "a"]
    assert isinstance(parse_one("SELECT a::INT", "postgres").selects[0], exp.Cast)
