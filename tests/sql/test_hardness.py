import os
from pathlib import Path

import pytest

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.sql.hardness import (
    HARDNESS_LEVELS,
    SpiderCounts,
    hardness_from_counts,
    spider_counts,
    spider_hardness,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SPIDER_DIR = REPO_ROOT.parent / "shared" / "benchmarks" / "spider"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "spider_hardness"

# (sql, (component1, component2, others), label). Every expected value was
# produced by the official taoyds/spider parser and eval_hardness, except the
# cases under "extensions", which the official parser rejects.
CASES = [
    # easy
    ("SELECT count(*) FROM singer", (0, 0, 0), "easy"),
    ("SELECT name FROM singer WHERE age > 30", (1, 0, 0), "easy"),
    ("SELECT DISTINCT country FROM singer WHERE age > 20", (1, 0, 0), "easy"),
    # medium
    ("SELECT name, country, age FROM singer ORDER BY age DESC", (1, 0, 1), "medium"),
    ("SELECT country, count(*) FROM singer GROUP BY country", (1, 0, 1), "medium"),
    (
        'SELECT name FROM singer WHERE age BETWEEN 20 AND 30 AND country = "France"',
        (1, 0, 1),
        "medium",
    ),
    # hard
    (
        "SELECT name FROM stadium WHERE stadium_id NOT IN (SELECT stadium_id FROM concert)",
        (1, 1, 0),
        "hard",
    ),
    (
        "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id "
        "ORDER BY T2.capacity DESC LIMIT 1",
        (3, 0, 0),
        "hard",
    ),
    (
        "SELECT name FROM singer WHERE age > 40 UNION SELECT name FROM singer WHERE age < 20",
        (1, 1, 0),
        "hard",
    ),
    # extra
    (
        "SELECT T2.name, T2.capacity FROM concert AS T1 JOIN stadium AS T2 "
        "ON T1.stadium_id = T2.stadium_id WHERE T1.year >= 2014 GROUP BY T2.stadium_id "
        "ORDER BY count(*) DESC LIMIT 1",
        (5, 0, 1),
        "extra",
    ),
    (
        "SELECT name, age FROM singer WHERE age > 40 UNION SELECT name, age FROM singer WHERE age < 20",
        (1, 1, 1),
        "extra",
    ),
    ("SELECT name FROM singer WHERE name LIKE '%a%' OR name NOT LIKE 'b%'", (4, 0, 1), "extra"),
    # Official quirk: a negated WHERE condition counts as an aggregate ...
    (
        "SELECT count(*) FROM singer WHERE singer_id IN (SELECT singer_id FROM singer_in_concert)",
        (1, 1, 0),
        "hard",
    ),
    (
        "SELECT count(*) FROM singer WHERE singer_id NOT IN (SELECT singer_id FROM singer_in_concert)",
        (1, 1, 1),
        "extra",
    ),
    # ... and so does each AND / OR in HAVING, while HAVING's aggregates do not.
    ("SELECT count(*) FROM singer GROUP BY country HAVING avg(age) > 30", (1, 0, 0), "easy"),
    (
        "SELECT count(*) FROM singer GROUP BY country HAVING avg(age) > 30 AND max(age) < 60",
        (1, 0, 1),
        "medium",
    ),
    # An aggregate inside select-list arithmetic is not counted.
    ("SELECT capacity - max(capacity) FROM stadium ORDER BY avg(capacity)", (1, 0, 0), "easy"),
    ("SELECT max(capacity) FROM stadium ORDER BY avg(capacity)", (1, 0, 1), "medium"),
    # A column on the right of a comparison swallows the OR-ed conditions after it.
    (
        "SELECT T1.city FROM city AS T1 JOIN temperature AS T2 ON T1.city_id = T2.city_id "
        "WHERE T2.Mar < T2.Jul OR T2.Mar > T2.Oct",
        (2, 0, 0),
        "medium",
    ),
    (
        "SELECT T1.city FROM city AS T1 JOIN temperature AS T2 ON T1.city_id = T2.city_id "
        "WHERE T2.Mar < 10 OR T2.Mar > 20",
        (3, 0, 1),
        "hard",
    ),
    # ORDER BY / LIMIT after a set operation belong to its last branch.
    (
        "SELECT name FROM singer WHERE age > 40 UNION SELECT name FROM singer WHERE age < 20 "
        "ORDER BY name LIMIT 3",
        (1, 1, 0),
        "hard",
    ),
    (
        "SELECT name FROM singer WHERE age > 40 UNION SELECT name FROM singer WHERE age < 20 "
        "UNION SELECT name FROM singer WHERE age = 30",
        (1, 1, 0),
        "hard",
    ),
    # A subquery in FROM is a join unit, not a nested query.
    (
        "SELECT count(*) FROM (SELECT name FROM singer WHERE age > 40 "
        "UNION SELECT name FROM singer WHERE age < 20)",
        (0, 0, 0),
        "easy",
    ),
    # Extensions: the official parser rejects these; the same rules are applied.
    ("SELECT count(*) AS n FROM singer", (0, 0, 0), "easy"),
    ("SELECT name FROM singer WHERE country IS NULL", (1, 0, 0), "easy"),
    (
        "SELECT name FROM singer WHERE (age > 30 OR age < 20) AND is_male = 'T'",
        (2, 0, 1),
        "medium",
    ),
    ("SELECT name, (SELECT count(*) FROM concert) FROM stadium", (0, 1, 1), "extra"),
    ("SELECT sum(a) / count(*) FROM t", (0, 0, 1), "medium"),
    (
        "WITH c AS (SELECT a FROM t WHERE b > 1) SELECT a FROM c WHERE NOT EXISTS (SELECT 1 FROM u)",
        (1, 1, 0),
        "hard",
    ),
]


@pytest.mark.parametrize("sql, counts, label", CASES)
def test_spider_counts_and_label(sql, counts, label):
    assert spider_counts(sql) == SpiderCounts(*counts)
    assert spider_hardness(sql) == label


# The official thresholds at their edges: (component1, component2, others) -> label.
THRESHOLDS = [
    ((1, 0, 0), "easy"),
    ((2, 0, 0), "medium"),
    ((1, 0, 2), "medium"),
    ((2, 0, 1), "medium"),
    ((2, 0, 2), "extra"),
    ((2, 0, 3), "hard"),
    ((3, 0, 2), "hard"),
    ((1, 1, 0), "hard"),
    ((4, 0, 0), "extra"),
    ((0, 2, 0), "extra"),
    ((1, 1, 1), "extra"),
]


@pytest.mark.parametrize("counts, label", THRESHOLDS)
def test_thresholds(counts, label):
    assert hardness_from_counts(*counts) == label
    assert SpiderCounts(*counts).hardness == label


def test_counts_to_dict():
    counts = spider_counts("SELECT name FROM singer WHERE age > 30")
    assert counts.to_dict() == {"component1": 1, "component2": 0, "others": 0}


def test_other_dialects():
    sql = "SELECT name FROM singer WHERE name ILIKE 'a%' ORDER BY age DESC NULLS LAST LIMIT 3"
    assert spider_counts(sql, "postgres") == SpiderCounts(4, 0, 0)


@pytest.mark.parametrize("sql", ["", "SELEC name FROM singer", "INSERT INTO t VALUES (1)"])
def test_errors(sql):
    with pytest.raises(SQLSyntaxError):
        spider_hardness(sql)


# The official parser fails on these gold lines; this is what we return instead.
OFFICIAL_PARSER_ERRORS = {("train", 4398): "extra"}


def _spider_file(name: str) -> Path:
    path = SPIDER_DIR / name
    if not path.is_file():
        reason = f"SPIDER GOLD FILE MISSING: {path}; the full hardness check did NOT run"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("split, size", [("dev", 1034), ("train", 8659)])
def test_every_spider_gold_query_gets_the_official_label(split, size):
    gold = _spider_file(f"{split}_gold.sql").read_text(encoding="utf-8").splitlines()
    expected = (FIXTURES / f"{split}.txt").read_text(encoding="utf-8").splitlines()
    assert len(gold) == len(expected) == size

    ours = [spider_hardness(line.split("\t")[0]) for line in gold]

    mismatches = []
    for lineno, (sql, label, got) in enumerate(zip(gold, expected, ours, strict=True), start=1):
        if label == "!error":
            label = OFFICIAL_PARSER_ERRORS[(split, lineno)]
        if got != label:
            mismatches.append(f"{split}_gold.sql:{lineno}: official {label}, ours {got}: {sql}")
    assert set(ours) <= set(HARDNESS_LEVELS)
    assert not mismatches, "\n".join(mismatches[:20])
