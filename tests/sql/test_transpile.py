import pytest

from sqlfoundry.core.errors import ConfigError, SQLSyntaxError
from sqlfoundry.sql.transpile import transpile

SPIDER_QUERY = 'SELECT name FROM singer WHERE country = "France" ORDER BY age DESC LIMIT 3'
STRING_FUNCTIONS = "SELECT name || ' ' || country, substr(name, 1, 3), ifnull(age, 0) FROM singer"
RATIO = "SELECT CAST(sum(a) AS REAL) / count(*) FROM t"

# (sql, source, target, expected)
CASES = [
    (
        SPIDER_QUERY,
        "sqlite",
        "sqlite",
        "SELECT name FROM singer WHERE country = 'France' ORDER BY age DESC LIMIT 3",
    ),
    # SQLite sorts NULLs first under DESC; PostgreSQL needs it said.
    (
        SPIDER_QUERY,
        "sqlite",
        "postgres",
        "SELECT name FROM singer WHERE country = 'France' ORDER BY age DESC NULLS LAST LIMIT 3",
    ),
    (
        SPIDER_QUERY,
        "sqlite",
        "mysql",
        "SELECT name FROM singer WHERE country = 'France' ORDER BY age DESC LIMIT 3",
    ),
    (
        SPIDER_QUERY,
        "sqlite",
        "duckdb",
        "SELECT name FROM singer WHERE country = 'France' ORDER BY age DESC LIMIT 3",
    ),
    (
        STRING_FUNCTIONS,
        "sqlite",
        "postgres",
        "SELECT name || ' ' || country, SUBSTRING(name FROM 1 FOR 3), COALESCE(age, 0) FROM singer",
    ),
    (
        STRING_FUNCTIONS,
        "sqlite",
        "mysql",
        "SELECT CONCAT(name, ' ', country), SUBSTRING(name, 1, 3), COALESCE(age, 0) FROM singer",
    ),
    # SQLite division by zero gives NULL; NULLIF keeps that in PostgreSQL and DuckDB.
    (
        RATIO,
        "sqlite",
        "postgres",
        "SELECT CAST(SUM(a) AS DOUBLE PRECISION) / NULLIF(COUNT(*), 0) FROM t",
    ),
    (RATIO, "sqlite", "duckdb", "SELECT CAST(SUM(a) AS DOUBLE) / NULLIF(COUNT(*), 0) FROM t"),
    (
        "SELECT strftime('%Y', hired) FROM staff",
        "sqlite",
        "mysql",
        "SELECT DATE_FORMAT(hired, '%Y') FROM staff",
    ),
    (
        'SELECT `Full Name` FROM `my table` WHERE x = "a" LIMIT 2, 5',
        "mariadb",
        "sqlite",
        'SELECT "Full Name" FROM "my table" WHERE x = \'a\' LIMIT 5 OFFSET 2',
    ),
    (
        "SELECT name::TEXT FROM t WHERE name ILIKE 'a%'",
        "postgresql",
        "sqlite",
        "SELECT CAST(name AS TEXT) FROM t WHERE LOWER(name) LIKE LOWER('a%')",
    ),
    (
        "SELECT name::TEXT FROM t WHERE name ILIKE 'a%'",
        "postgres",
        "duckdb",
        "SELECT CAST(name AS TEXT) FROM t WHERE name ILIKE 'a%'",
    ),
    # A script keeps its statements.
    (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); SELECT name FROM t",
        "sqlite",
        "postgres",
        "CREATE TABLE t (id INT PRIMARY KEY, name TEXT);\nSELECT name FROM t",
    ),
]


@pytest.mark.parametrize("sql, source, target, expected", CASES)
def test_transpile(sql, source, target, expected):
    assert transpile(sql, source, target) == expected


def test_quoted_strings_can_be_kept_as_names():
    assert transpile(SPIDER_QUERY, "sqlite", "postgres", quoted_strings=False).startswith(
        'SELECT name FROM singer WHERE country = "France"'
    )


def test_pretty():
    assert transpile("SELECT a, b FROM t", "sqlite", "postgres", pretty=True) == (
        "SELECT\n  a,\n  b\nFROM t"
    )


@pytest.mark.parametrize(
    "sql, source, target, message",
    [
        ("", "sqlite", "postgres", "empty SQL"),
        (
            "SELECT (a FROM t",
            "sqlite",
            "postgres",
            "cannot parse as sqlite: Expecting ) (line 1, col 14)",
        ),
    ],
)
def test_errors(sql, source, target, message):
    with pytest.raises(SQLSyntaxError) as info:
        transpile(sql, source, target)
    assert info.value.message == message
    assert info.value.sql == sql


@pytest.mark.parametrize(
    "sql, message",
    [
        ("SELECT ARRAY[1, 2]", "cannot express in mysql: Arrays are not supported by MySQL"),
        (
            "SELECT ts AT TIME ZONE 'UTC' FROM t",
            "cannot express in mysql: AT TIME ZONE is not supported by MySQL",
        ),
    ],
)
def test_unsupported_construct_raises_instead_of_guessing(sql, message):
    with pytest.raises(SQLSyntaxError) as info:
        transpile(sql, "postgres", "mysql")
    assert info.value.message == message


def test_unknown_dialect():
    with pytest.raises(ConfigError):
        transpile("SELECT 1", "sqlite", "oracle8")
