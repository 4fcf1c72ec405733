import pytest

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.sql.parse import parse_one
from sqlfoundry.sql.references import referenced_columns, referenced_tables

CONCERT_SINGER = {
    "stadium": ["Stadium_ID", "Location", "Name", "Capacity", "Highest", "Lowest", "Average"],
    "singer": ["Singer_ID", "Name", "Country", "Song_Name", "Song_release_year", "Age", "Is_male"],
    "concert": ["concert_ID", "concert_Name", "Theme", "Stadium_ID", "Year"],
    "singer_in_concert": ["concert_ID", "Singer_ID"],
}

# (sql, schema or None, tables, columns)
CASES = [
    (
        "SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.singer_id = T2.singer_id "
        "WHERE T2.year = 2014",
        None,
        {"singer", "concert"},
        {
            ("singer", "name"),
            ("singer", "singer_id"),
            ("concert", "singer_id"),
            ("concert", "year"),
        },
    ),
    ("SELECT count(*) FROM singer", None, {"singer"}, {("singer", "*")}),
    ("SELECT * FROM Singer AS s", None, {"singer"}, {("singer", "*")}),
    (
        "SELECT count(*) FROM singer AS T1 JOIN concert AS T2 ON T1.id = T2.id",
        None,
        {"singer", "concert"},
        {("", "*"), ("singer", "id"), ("concert", "id")},
    ),
    (
        "SELECT T1.* FROM singer AS T1 JOIN concert ON T1.id = concert.id",
        None,
        {"singer", "concert"},
        {("singer", "*"), ("singer", "id"), ("concert", "id")},
    ),
    # The alias in ORDER BY is an output name, not a column.
    (
        "SELECT country, count(*) AS cnt FROM singer GROUP BY country ORDER BY cnt DESC",
        None,
        {"singer"},
        {("singer", "country"), ("singer", "*")},
    ),
    # Unqualified columns over a join: the schema settles them, without it they get "".
    (
        "SELECT name, year FROM singer JOIN concert ON singer.singer_id = concert.singer_id",
        None,
        {"singer", "concert"},
        {("", "name"), ("", "year"), ("singer", "singer_id"), ("concert", "singer_id")},
    ),
    (
        "SELECT name, year FROM singer JOIN concert ON singer.singer_id = concert.singer_id",
        CONCERT_SINGER,
        {"singer", "concert"},
        {
            ("singer", "name"),
            ("concert", "year"),
            ("singer", "singer_id"),
            ("concert", "singer_id"),
        },
    ),
    # The same alias T1 in two scopes means two tables.
    (
        "SELECT T1.name FROM stadium AS T1 WHERE T1.stadium_id NOT IN "
        "(SELECT T1.stadium_id FROM concert AS T1)",
        None,
        {"stadium", "concert"},
        {("stadium", "name"), ("stadium", "stadium_id"), ("concert", "stadium_id")},
    ),
    # A correlated reference resolves to the outer query's table.
    (
        "SELECT name FROM stadium AS s WHERE EXISTS "
        "(SELECT 1 FROM concert AS c WHERE c.stadium_id = s.stadium_id AND year > 2014)",
        None,
        {"stadium", "concert"},
        {
            ("stadium", "name"),
            ("stadium", "stadium_id"),
            ("concert", "stadium_id"),
            ("concert", "year"),
        },
    ),
    # CTE names and derived tables are not base tables; their columns are reported inside.
    (
        "WITH big AS (SELECT stadium_id, capacity FROM stadium WHERE capacity > 5000) "
        "SELECT T2.name, cnt FROM big JOIN (SELECT stadium_id, count(*) AS cnt FROM concert "
        "GROUP BY stadium_id) AS T1 ON big.stadium_id = T1.stadium_id "
        "JOIN stadium AS T2 ON T2.stadium_id = big.stadium_id",
        None,
        {"stadium", "concert"},
        {
            ("stadium", "stadium_id"),
            ("stadium", "capacity"),
            ("stadium", "name"),
            ("concert", "stadium_id"),
            ("concert", "*"),
        },
    ),
    (
        "SELECT count(*) FROM (SELECT name FROM singer INTERSECT SELECT name FROM stadium)",
        None,
        {"singer", "stadium"},
        {("singer", "name"), ("stadium", "name")},
    ),
    # ORDER BY after a set operation names output columns.
    (
        "SELECT name FROM singer UNION SELECT name FROM stadium ORDER BY name",
        None,
        {"singer", "stadium"},
        {("singer", "name"), ("stadium", "name")},
    ),
    # SQLite double-quoted values are strings, not columns.
    (
        'SELECT name FROM singer WHERE country = "France" AND song_name LIKE "%Love%"',
        None,
        {"singer"},
        {("singer", "name"), ("singer", "country"), ("singer", "song_name")},
    ),
    (
        'SELECT "Name" FROM "Singer" WHERE "Age" > 20',
        None,
        {"singer"},
        {("singer", "name"), ("singer", "age")},
    ),
    # GROUP BY / HAVING prefer a real column when the schema has one.
    (
        "SELECT country AS age, count(*) FROM singer GROUP BY age",
        CONCERT_SINGER,
        {"singer"},
        {("singer", "country"), ("singer", "age"), ("singer", "*")},
    ),
    (
        "SELECT country AS c, count(*) FROM singer GROUP BY c",
        CONCERT_SINGER,
        {"singer"},
        {("singer", "country"), ("singer", "*")},
    ),
]


@pytest.mark.parametrize("sql, schema, tables, columns", CASES)
def test_references(sql, schema, tables, columns):
    assert referenced_tables(sql) == tables
    assert referenced_columns(sql, schema=schema) == columns


def test_accepts_a_tree_and_other_dialects():
    tree = parse_one('SELECT "Name" FROM "Singer" WHERE id = $1', "postgres")
    assert referenced_tables(tree) == {"singer"}
    assert referenced_columns(tree, "postgres") == {("singer", "name"), ("singer", "id")}


def test_postgres_double_quotes_are_columns():
    sql = 'SELECT name FROM singer WHERE country = "home_country"'
    assert ("singer", "home_country") in referenced_columns(sql, "postgres")
    assert ("singer", "home_country") not in referenced_columns(sql, "sqlite")


def test_bad_sql_raises():
    with pytest.raises(SQLSyntaxError):
        referenced_tables("SELECT FROM WHERE")
