import pytest

from sqlfoundry.sql.literals import has_quoted_strings, quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_one


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        ('SELECT a FROM t WHERE name = "Bob"', "sqlite", True),
        ('SELECT a FROM t WHERE name IN ("Bob", "Ann")', "sqlite", True),
        ("SELECT a FROM t WHERE name = 'Bob'", "sqlite", False),
        ('SELECT "a" FROM t WHERE t."name" = 1', "sqlite", False),  # quoted names, not values
        ('SELECT a FROM t WHERE name = "Bob"', "postgres", False),
    ],
)
def test_has_quoted_strings_says_whether_the_conversion_changes_the_tree(sql, dialect, expected):
    tree = parse_one(sql, dialect)
    before = tree.sql(dialect=dialect)
    assert has_quoted_strings(tree, dialect) is expected
    assert tree.sql(dialect=dialect) == before  # it only looks
    assert (quoted_strings_to_literals(tree, dialect).sql(dialect=dialect) != before) is expected


def test_with_literals_changes_a_copy_and_only_when_there_is_something_to_change():
    from sqlfoundry.sql.literals import with_literals

    shared = parse_one('SELECT a FROM t WHERE name = "Bob"')
    changed = with_literals(shared)
    assert changed is not shared
    assert changed.sql() == "SELECT a FROM t WHERE name = 'Bob'"
    assert shared.sql() == 'SELECT a FROM t WHERE name = "Bob"'
    plain = parse_one("SELECT a FROM t WHERE name = 'Bob'")
    assert with_literals(plain) is plain
