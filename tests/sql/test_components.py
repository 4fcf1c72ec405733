import json

import pytest

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.sql.components import Components, components

ZERO = {
    "select_columns": 0,
    "aggregates": 0,
    "where_conditions": 0,
    "group_by": 0,
    "having_conditions": 0,
    "order_by": 0,
    "limit": 0,
    "joins": 0,
    "or_conditions": 0,
    "like": 0,
    "nested_subqueries": 0,
    "derived_tables": 0,
    "ctes": 0,
    "union": 0,
    "intersect": 0,
    "except": 0,
    "distinct": 0,
    "window_functions": 0,
    "case_expressions": 0,
    "spider_component1": 0,
    "spider_component2": 0,
    "spider_others": 0,
}

# (sql, the counts that are not zero)
CASES = [
    (
        "SELECT count(*) FROM singer",
        {"select_columns": 1, "aggregates": 1, "spider_hardness": "easy"},
    ),
    (
        "SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.singer_id = T2.singer_id "
        "WHERE T2.year = 2014",
        {
            "select_columns": 1,
            "where_conditions": 1,
            "joins": 1,
            "spider_component1": 2,
            "spider_hardness": "medium",
        },
    ),
    (
        "SELECT country, count(DISTINCT name) FROM singer WHERE age > 20 AND (country LIKE 'F%' "
        "OR country NOT LIKE '%a') GROUP BY country HAVING count(*) > 1 AND avg(age) < 40 "
        "ORDER BY count(*) DESC, country LIMIT 3",
        {
            "select_columns": 2,
            "aggregates": 4,
            "where_conditions": 3,
            "group_by": 1,
            "having_conditions": 2,
            "order_by": 2,
            "limit": 1,
            "or_conditions": 1,
            "like": 2,
            "distinct": 1,
            "spider_component1": 7,
            "spider_others": 3,
            "spider_hardness": "extra",
        },
    ),
    # Counts cover every SELECT: set-operation branches, subqueries, derived tables, CTEs.
    (
        "SELECT name FROM singer WHERE age > (SELECT avg(age) FROM singer) "
        "UNION SELECT DISTINCT name FROM stadium INTERSECT SELECT name FROM concert "
        "ORDER BY name LIMIT 1",
        {
            "select_columns": 1,
            "aggregates": 1,
            "where_conditions": 1,
            "order_by": 1,
            "limit": 1,
            "nested_subqueries": 1,
            "union": 1,
            "intersect": 1,
            "distinct": 1,
            "spider_component1": 1,
            "spider_component2": 2,
            "spider_hardness": "extra",
        },
    ),
    (
        "WITH c AS (SELECT a, count(*) AS n FROM x GROUP BY a) "
        "SELECT a, CASE WHEN n > 1 THEN 'many' ELSE 'one' END, rank() OVER (ORDER BY n) "
        "FROM (SELECT * FROM c) AS d WHERE EXISTS (SELECT 1 FROM y) AND a NOT IN (1, 2) "
        "EXCEPT SELECT a, b, c FROM z",
        {
            "select_columns": 3,
            "aggregates": 1,
            "where_conditions": 2,
            "group_by": 1,
            "nested_subqueries": 2,
            "derived_tables": 1,
            "ctes": 1,
            "except": 1,
            "window_functions": 1,
            "case_expressions": 1,
            "spider_component1": 1,
            "spider_component2": 2,
            "spider_others": 2,
            "spider_hardness": "extra",
        },
    ),
]


@pytest.mark.parametrize("sql, nonzero", CASES)
def test_components(sql, nonzero):
    assert components(sql).to_dict() == {**ZERO, **nonzero}


def test_to_dict_is_json_ready_and_ordered():
    result = components("SELECT a FROM t EXCEPT SELECT a FROM u")
    data = json.loads(json.dumps(result.to_dict()))
    assert list(data) == [*ZERO, "spider_hardness"]
    assert data["except"] == 1
    assert result.set_operations == 1


def test_is_frozen():
    result = components("SELECT 1")
    assert isinstance(result, Components)
    with pytest.raises(AttributeError):
        result.joins = 3


def test_bad_sql_raises():
    with pytest.raises(SQLSyntaxError):
        components("SELECT FROM WHERE")


@pytest.mark.parametrize("sql, nonzero", CASES)
def test_summed_counts_are_the_components_summed_over_the_tree(sql, nonzero):
    from sqlfoundry.sql.components import _SUMMED, summed_counts

    found = components(sql)
    assert summed_counts(sql) == {name: getattr(found, name) for name in _SUMMED}


def test_summed_counts_refuse_what_components_refuse():
    from sqlfoundry.sql.components import summed_counts

    for sql in ("DELETE FROM singer", "SELECT FROM WHERE"):
        with pytest.raises(SQLSyntaxError):
            components(sql)
        with pytest.raises(SQLSyntaxError):
            summed_counts(sql)
