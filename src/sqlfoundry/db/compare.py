"""Result comparison in three documented modes.

``spider``
    The semantics of test-suite-sql-eval's ``result_eq``: rows are compared as
    multisets (bags), columns may appear in any order, and row order counts only
    when the gold query has ORDER BY (see :func:`gold_orders_rows`). Two empty
    results are equal whatever their columns.
``bird``
    BIRD's ``set(predicted) == set(gold)``: row order, duplicate rows and the
    number of columns are not checked beyond what set equality implies.
``strict``
    The same rows in the same order with the same column order.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from itertools import chain, permutations, product
from typing import Any, Literal

Mode = Literal["spider", "bird", "strict"]
MODES: tuple[str, ...] = ("spider", "bird", "strict")

Rows = Sequence[tuple]


def _type_key(value: Any) -> str:
    # The official scorer orders the values inside a row by their text plus
    # their type name; keep the same key so mixed int/float rows behave alike.
    return str(value) + str(type(value))


def _unordered(row: tuple) -> tuple:
    if len(row) < 2:
        return row
    return tuple(sorted(row, key=_type_key))


def _same_bag_of_unordered_rows(a: Rows, b: Rows, order_matters: bool) -> bool:
    ua = [_unordered(r) for r in a]
    ub = [_unordered(r) for r in b]
    return ua == ub if order_matters else set(ua) == set(ub)


def _identical(gold: Rows, pred: Rows) -> bool:
    """Same rows in the same order with the same value types: every official check passes.

    Types matter: 1 == 1.0, but the official orders a row's values by their
    text and type name, so (1, 1.5) and (1.0, 1.5) unorder differently and fail
    its quick rejection.
    """
    if list(gold) != list(pred):
        return False
    values = chain.from_iterable
    return list(map(type, values(gold))) == list(map(type, values(pred)))


def _candidate_permutations(gold: Rows, pred: Rows, num_cols: int):
    """Column permutations of ``pred`` that could map it onto ``gold``.

    For up to three columns all are tried. For more, each gold column keeps
    only the pred columns whose values, on a sample of pred rows, all occur in
    that gold column. A correct mapping always survives this pruning, so the
    sample only changes the speed, never the verdict; it is taken at fixed,
    evenly spaced rows so the result is repeatable.
    """
    if num_cols <= 3:
        return permutations(range(num_cols))
    gold_sets = [{row[i] for row in gold} for i in range(num_cols)]
    step = max(1, len(pred) // 20)
    sample = pred[::step][:20]
    allowed = [
        [j for j in range(num_cols) if all(row[j] in gold_sets[i] for row in sample)]
        for i in range(num_cols)
    ]
    return (p for p in product(*allowed) if len(set(p)) == num_cols)


def spider_equal(gold: Rows, pred: Rows, order_matters: bool) -> bool:
    """test-suite-sql-eval's denotation equality."""
    if not gold and not pred:
        return True
    if len(gold) != len(pred):
        return False
    num_cols = len(gold[0])
    if len(pred[0]) != num_cols:
        return False
    if _identical(gold, pred):
        return True
    if not _same_bag_of_unordered_rows(gold, pred, order_matters):
        return False
    gold_list = list(gold)
    gold_set = set(gold_list)
    gold_bag = Counter(gold_list)
    for perm in _candidate_permutations(gold, pred, num_cols):
        permuted = list(pred) if num_cols == 1 else [tuple(r[i] for i in perm) for r in pred]
        if order_matters:
            if permuted == gold_list:
                return True
        elif set(permuted) == gold_set and Counter(permuted) == gold_bag:
            return True
    return False


def bird_equal(gold: Rows, pred: Rows) -> bool:
    """BIRD's ``set(predicted_res) == set(ground_truth_res)``."""
    return set(pred) == set(gold)


def strict_equal(gold: Rows, pred: Rows) -> bool:
    """The same rows in the same order with the same column order."""
    return list(map(tuple, gold)) == list(map(tuple, pred))


def results_match(
    gold: Rows, pred: Rows, mode: str = "spider", order_matters: bool = False
) -> bool:
    """Compare two results by ``mode``; ``order_matters`` is used by ``spider`` only."""
    if mode == "spider":
        return spider_equal(gold, pred, order_matters)
    if mode == "bird":
        return bird_equal(gold, pred)
    if mode == "strict":
        return strict_equal(gold, pred)
    raise ValueError(f"unknown comparison mode {mode!r}; choose one of {', '.join(MODES)}")


def squrve_equal(gold: Rows, pred: Rows, gold_width: int, pred_width: int,
                 tolerance: float = 1e-2) -> bool:  # fmt: skip
    """Squrve's execution match (``compare_pandas_table`` with its defaults), for comparison only.

    Each gold column must equal a distinct predicted column, values in row order
    (numbers within ``tolerance``, NULL equal to NULL), matched greedily as
    Squrve does; extra predicted columns are allowed. Not an official EX.
    """
    gold_columns = [[row[i] for row in gold] for i in range(gold_width)]
    pred_columns = [[row[i] for row in pred] for i in range(pred_width)]
    used: set[int] = set()
    for column in gold_columns:
        match = next((j for j, other in enumerate(pred_columns)
                      if j not in used and _vectors_match(column, other, tolerance)), None)  # fmt: skip
        if match is None:
            return False
        used.add(match)
    return True


def _vectors_match(a: list, b: list, tolerance: float) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x is None and y is None:
            continue
        numbers = (int, float)
        if isinstance(x, numbers) and isinstance(y, numbers):
            if abs(float(x) - float(y)) > tolerance:
                return False
        elif x != y:
            return False
    return True


@functools.lru_cache(maxsize=65536)
def gold_orders_rows(gold_sql: str, dialect: str = "sqlite") -> bool:
    """Whether row order counts for ``gold_sql`` in ``spider`` mode.

    test-suite-sql-eval asks whether the gold text contains ``order by``,
    anywhere, subqueries included. This asks the same of sqlglot's tokens, so
    ``order by`` inside a string literal does not count.
    """
    if "order" not in gold_sql.lower():
        return False  # no ORDER BY token without the word (and no tokenizing)
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    from sqlfoundry.sql.parse import tokens_of

    try:
        tokens = tokens_of(gold_sql, dialect)
    except TokenError:
        return "order by" in gold_sql.lower()
    return any(t.token_type == TokenType.ORDER_BY for t in tokens)
