"""Result comparison: spider (test-suite-sql-eval), bird (set equality) and strict."""

from __future__ import annotations

import random
from collections import Counter
from itertools import permutations

import pytest

from sqlfoundry.db.compare import gold_orders_rows, results_match

A, B, C = "a", "b", "c"

# (name, gold, pred, order_matters, expected)
SPIDER_CASES = [
    ("empty vs empty", [], [], False, True),
    ("empty vs empty, ordered", [], [], True, True),
    ("empty vs one row", [], [(1,)], False, False),
    ("one row vs empty", [(1,)], [], False, False),
    ("same rows", [(1, A), (2, B)], [(1, A), (2, B)], False, True),
    ("row order ignored", [(1, A), (2, B)], [(2, B), (1, A)], False, True),
    ("row order counts with ORDER BY", [(1, A), (2, B)], [(2, B), (1, A)], True, False),
    ("same order with ORDER BY", [(1, A), (2, B)], [(1, A), (2, B)], True, True),
    ("columns swapped", [(1, A), (2, B)], [(A, 1), (B, 2)], False, True),
    ("columns swapped, ordered", [(1, A), (2, B)], [(A, 1), (B, 2)], True, True),
    ("columns swapped and rows reordered", [(1, A), (2, B)], [(B, 2), (A, 1)], False, True),
    ("values re-paired across rows", [(1, A), (2, B)], [(1, B), (2, A)], False, False),
    # Each row matches unordered, but no single column permutation fits every row.
    ("no consistent permutation", [(1, 2), (3, 4)], [(2, 1), (3, 4)], False, False),
    ("different column counts", [(1, 2)], [(1,)], False, False),
    ("different column counts 2", [(1,)], [(1, 2)], False, False),
    ("different row counts", [(1,), (2,)], [(1,)], False, False),
    ("duplicates matter", [(1,), (1,), (2,)], [(1,), (2,), (2,)], False, False),
    ("duplicates kept", [(1,), (1,), (2,)], [(1,), (2,), (1,)], False, True),
    ("duplicate rows vs distinct", [(1,), (1,)], [(1,), (2,)], False, False),
    ("NULLs compare equal", [(None, 1)], [(1, None)], False, True),
    ("int and float of the same value", [(1, A)], [(1.0, A)], False, True),
    ("text is not a number", [("1",)], [(1,)], False, False),
    (
        "five columns permuted",
        [(1, 2, 3, 4, 5), (6, 7, 8, 9, 10)],
        [(5, 3, 1, 2, 4), (10, 8, 6, 7, 9)],
        False,
        True,
    ),
    (
        "five columns permuted, ordered",
        [(1, 2, 3, 4, 5), (6, 7, 8, 9, 10)],
        [(10, 8, 6, 7, 9), (5, 3, 1, 2, 4)],
        True,
        False,
    ),
    (
        "four columns, repeated values need the right mapping",
        [(1, 1, 2, 2), (1, 2, 1, 2)],
        [(2, 1, 1, 2), (2, 1, 2, 1)],
        False,
        True,
    ),
    (
        "four columns, only per-row permutations",
        [(1, 2, 3, 4), (5, 6, 7, 8)],
        [(4, 3, 2, 1), (5, 6, 7, 8)],
        False,
        False,
    ),
]


@pytest.mark.parametrize(
    ("gold", "pred", "order_matters", "expected"),
    [c[1:] for c in SPIDER_CASES],
    ids=[c[0] for c in SPIDER_CASES],
)
def test_spider_mode(gold, pred, order_matters, expected):
    assert results_match(gold, pred, "spider", order_matters) is expected
    assert spider_by_definition(gold, pred, order_matters) is expected


BIRD_CASES = [
    ("empty vs empty", [], [], True),
    ("order ignored", [(1, A), (2, B)], [(2, B), (1, A)], True),
    ("duplicates ignored", [(1,), (1,), (2,)], [(2,), (1,)], True),
    ("columns are not permuted", [(1, A)], [(A, 1)], False),
    ("extra row", [(1,)], [(1,), (2,)], False),
    ("empty vs one row", [], [(1,)], False),
    ("NULL rows", [(None,)], [(None,)], True),
    ("int equals float", [(1,)], [(1.0,)], True),
]


@pytest.mark.parametrize(
    ("gold", "pred", "expected"), [c[1:] for c in BIRD_CASES], ids=[c[0] for c in BIRD_CASES]
)
def test_bird_mode(gold, pred, expected):
    assert results_match(gold, pred, "bird") is expected
    # order_matters is a spider-only notion.
    assert results_match(gold, pred, "bird", order_matters=True) is expected


STRICT_CASES = [
    ("same", [(1, A), (2, B)], [(1, A), (2, B)], True),
    ("lists and tuples alike", [[1, A]], [(1, A)], True),
    ("order counts", [(1, A), (2, B)], [(2, B), (1, A)], False),
    ("column order counts", [(1, A)], [(A, 1)], False),
    ("duplicates count", [(1,), (1,)], [(1,)], False),
    ("empty", [], [], True),
]


@pytest.mark.parametrize(
    ("gold", "pred", "expected"), [c[1:] for c in STRICT_CASES], ids=[c[0] for c in STRICT_CASES]
)
def test_strict_mode(gold, pred, expected):
    assert results_match(gold, pred, "strict") is expected


def test_unknown_mode():
    with pytest.raises(ValueError) as info:
        results_match([], [], "fuzzy")
    assert str(info.value) == "unknown comparison mode 'fuzzy'; choose one of spider, bird, strict"


def spider_by_definition(gold, pred, order_matters):
    """test-suite-sql-eval's denotation equality, by brute force over all column permutations."""
    if not gold and not pred:
        return True
    if len(gold) != len(pred) or len(gold[0]) != len(pred[0]):
        return False
    for perm in permutations(range(len(gold[0]))):
        permuted = [tuple(row[i] for i in perm) for row in pred]
        if permuted == list(gold) if order_matters else Counter(permuted) == Counter(gold):
            return True
    return False


def test_spider_mode_agrees_with_brute_force_on_random_tables():
    rng = random.Random(20240601)
    verdicts = Counter()
    for _ in range(3000):
        cols = rng.randint(1, 5)
        nrows = rng.randint(1, 6)
        domain = [0, 1, 2, "x", None][: rng.randint(2, 5)]
        gold = [tuple(rng.choice(domain) for _ in range(cols)) for _ in range(nrows)]
        perm = list(range(cols))
        rng.shuffle(perm)
        pred = [tuple(row[i] for i in perm) for row in gold]
        if rng.random() < 0.5:
            rng.shuffle(pred)
        if rng.random() < 0.4:
            r, c = rng.randrange(nrows), rng.randrange(cols)
            row = list(pred[r])
            row[c] = rng.choice(domain)
            pred[r] = tuple(row)
        order_matters = rng.random() < 0.3
        expected = spider_by_definition(gold, pred, order_matters)
        assert results_match(gold, pred, "spider", order_matters) is expected, (
            gold,
            pred,
            order_matters,
        )
        verdicts[expected] += 1
    # Both verdicts are well represented, so the agreement means something.
    assert verdicts[True] > 500
    assert verdicts[False] > 500


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT name FROM singer ORDER BY age", True),
        ("select name from singer order by age desc limit 1", True),
        ("SELECT name FROM singer ORDER\n  BY age", True),
        ("SELECT name FROM singer", False),
        ("SELECT name FROM singer WHERE note = 'order by'", False),
        ('SELECT "order by" FROM t', False),
        ("SELECT name FROM (SELECT name FROM singer ORDER BY age LIMIT 3)", True),
        ("SELECT count(*) FROM orders GROUP BY order_id", False),
        ("SELECT name FROM singer WHERE note = 'unterminated ORDER BY", True),
    ],
)
def test_gold_orders_rows(sql, expected):
    assert gold_orders_rows(sql) is expected
