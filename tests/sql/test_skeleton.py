import pytest

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.sql.parse import parse_one, sql_text
from sqlfoundry.sql.skeleton import mask_values, masked_sql, normalize, skeleton

# (sql, dialect, normalized, skeleton)
CASES = [
    (
        "SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.singer_id = T2.singer_id "
        "WHERE T2.year = 2014",
        "sqlite",
        "SELECT t1.name FROM singer AS t1 JOIN concert AS t2 ON t1.singer_id = t2.singer_id "
        "WHERE t2.year = 2014",
        "SELECT t1.name FROM singer AS t1 JOIN concert AS t2 ON t1.singer_id = t2.singer_id "
        "WHERE t2.year = ?",
    ),
    # Case, spacing, alias names and the trailing semicolon do not matter.
    (
        "select s.NAME from Singer s join Concert as c on s.Singer_ID=c.singer_id where c.Year=2015;",
        "sqlite",
        "SELECT t1.name FROM singer AS t1 JOIN concert AS t2 ON t1.singer_id = t2.singer_id "
        "WHERE t2.year = 2015",
        "SELECT t1.name FROM singer AS t1 JOIN concert AS t2 ON t1.singer_id = t2.singer_id "
        "WHERE t2.year = ?",
    ),
    # Double-quoted SQLite values become strings; IN lists collapse; positions stay.
    (
        'SELECT name FROM singer WHERE country = "France" AND age > -5 AND id IN (1, 2, 3) '
        "ORDER BY 1 LIMIT 10",
        "sqlite",
        "SELECT name FROM singer WHERE country = 'France' AND age > -5 AND id IN (1, 2, 3) "
        "ORDER BY 1 LIMIT 10",
        "SELECT name FROM singer WHERE country = ? AND age > ? AND id IN (?) ORDER BY 1 LIMIT ?",
    ),
    (
        "SELECT name FROM singer GROUP BY 1 HAVING count(*) > 2 ORDER BY 1 DESC",
        "sqlite",
        "SELECT name FROM singer GROUP BY 1 HAVING COUNT(*) > 2 ORDER BY 1 DESC",
        "SELECT name FROM singer GROUP BY 1 HAVING COUNT(*) > ? ORDER BY 1 DESC",
    ),
    # The same alias in two scopes gets two names; inner references follow.
    (
        "SELECT T1.name FROM stadium AS T1 WHERE T1.id NOT IN "
        "(SELECT T1.id FROM concert AS T1 WHERE T1.theme = 'x')",
        "sqlite",
        "SELECT t1.name FROM stadium AS t1 WHERE NOT t1.id IN "
        "(SELECT t2.id FROM concert AS t2 WHERE t2.theme = 'x')",
        "SELECT t1.name FROM stadium AS t1 WHERE NOT t1.id IN "
        "(SELECT t2.id FROM concert AS t2 WHERE t2.theme = ?)",
    ),
    # New alias names avoid table names already in the query.
    (
        "SELECT t1.a FROM t1 JOIN t2 AS x ON t1.id = x.id",
        "sqlite",
        "SELECT t1.a FROM t1 JOIN t2 AS t3 ON t1.id = t3.id",
        "SELECT t1.a FROM t1 JOIN t2 AS t3 ON t1.id = t3.id",
    ),
    (
        "SELECT count(*) FROM (SELECT name FROM singer) AS sub WHERE sub.name LIKE 'A%'",
        "sqlite",
        "SELECT COUNT(*) FROM (SELECT name FROM singer) AS t1 WHERE t1.name LIKE 'A%'",
        "SELECT COUNT(*) FROM (SELECT name FROM singer) AS t1 WHERE t1.name LIKE ?",
    ),
    # Quotes go where they change nothing, stay on keywords; type sizes are not values.
    (
        'SELECT "select", "Name", CAST(age AS VARCHAR(10)) FROM "Singer"',
        "sqlite",
        'SELECT "select", name, CAST(age AS TEXT(10)) FROM singer',
        'SELECT "select", name, CAST(age AS TEXT(10)) FROM singer',
    ),
    # PostgreSQL: quoted names are case-sensitive and keep their quotes.
    (
        'SELECT "Name" FROM "Singer" AS S WHERE S."Name" = \'Joe\' LIMIT 5 OFFSET 10',
        "postgres",
        'SELECT "Name" FROM "Singer" AS t1 WHERE t1."Name" = \'Joe\' LIMIT 5 OFFSET 10',
        'SELECT "Name" FROM "Singer" AS t1 WHERE t1."Name" = %s LIMIT %s OFFSET %s',
    ),
    (
        "SELECT `Name` FROM Singer AS S WHERE S.Age BETWEEN 18 AND 30",
        "mysql",
        "SELECT `Name` FROM Singer AS t1 WHERE t1.Age BETWEEN 18 AND 30",
        "SELECT `Name` FROM Singer AS t1 WHERE t1.Age BETWEEN ? AND ?",
    ),
]


@pytest.mark.parametrize("sql, dialect, normalized, masked", CASES)
def test_normalize_and_skeleton(sql, dialect, normalized, masked):
    assert normalize(sql, dialect) == normalized
    assert skeleton(sql, dialect) == masked
    # Both are fixed points.
    assert normalize(normalized, dialect) == normalized
    assert skeleton(masked, dialect) == masked


def test_queries_differing_only_in_values_share_a_skeleton():
    a = "SELECT name FROM singer WHERE age > 30 AND country IN ('France', 'Spain') LIMIT 1"
    b = 'select NAME from SINGER where AGE > 18 and COUNTRY in ("UK") limit 5'
    assert skeleton(a) == skeleton(b)
    assert normalize(a) != normalize(b)


def test_caller_tree_is_not_modified():
    tree = parse_one("SELECT T1.name FROM singer AS T1 WHERE T1.age = 3")
    before = tree.sql()
    skeleton(tree)
    normalize(tree)
    assert tree.sql() == before


def test_mask_values_works_in_place():
    tree = parse_one("SELECT a FROM t WHERE b = 'x' LIMIT 3")
    assert mask_values(tree) is tree
    assert tree.sql() == "SELECT a FROM t WHERE b = ? LIMIT ?"


@pytest.mark.parametrize(
    "sql, masked",
    [
        ("SELECT a FROM t WHERE b IN (1, -2, 'x') AND c IN (SELECT d FROM u WHERE e > -1.5) "
         "ORDER BY 1 DESC LIMIT 3 OFFSET 2",
         "SELECT a FROM t WHERE b IN (?) AND c IN (SELECT d FROM u WHERE e > ?) "
         "ORDER BY 1 DESC LIMIT ? OFFSET ?"),
        ("SELECT CAST(a AS VARCHAR(10)), b + 1 FROM t GROUP BY 1, b HAVING COUNT(*) BETWEEN 2 AND 5",
         "SELECT CAST(a AS VARCHAR(10)), b + ? FROM t GROUP BY 1, b HAVING COUNT(*) BETWEEN ? AND ?"),
        ("SELECT a FROM t WHERE b IN (c, 1) UNION SELECT a FROM u WHERE b LIKE '%x%' LIMIT 1",
         "SELECT a FROM t WHERE b IN (c, ?) UNION SELECT a FROM u WHERE b LIKE ? LIMIT ?"),
    ],
)  # fmt: skip
def test_masked_sql_prints_the_masked_tree_and_puts_the_values_back(sql, masked):
    tree = parse_one(sql)
    before = repr(tree)
    assert masked_sql(tree) == masked == sql_text(mask_values(tree.copy()))
    assert repr(tree) == before and tree.sql() == parse_one(sql).sql()
    assert all(child.parent is node for node in tree.walk() for child in node.iter_expressions())


def test_bad_sql_raises():
    with pytest.raises(SQLSyntaxError):
        skeleton("SELECT FROM WHERE")
