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
