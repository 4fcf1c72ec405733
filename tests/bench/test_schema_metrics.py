"""Reducer and linker scores against the gold SQL's references, and Squrve's looser match."""

from __future__ import annotations

import pytest

from sqlfoundry.bench.schema_metrics import SchemaItem, gold_refs, link_scores, subset_scores
from sqlfoundry.db.compare import squrve_equal

SCHEMA = {"singer": ["singer_id", "name", "age", "country"], "concert": ["concert_id", "year"],
          "singer_in_concert": ["singer_id", "concert_id"]}  # fmt: skip
GOLD = ("SELECT T1.name FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.singer_id = T2.singer_id "
        "WHERE T1.country = 'France' AND T1.age > 30 ORDER BY T1.age LIMIT 3")  # fmt: skip


def test_gold_references_resolve_aliases_and_keep_values_but_not_limits():
    refs = gold_refs(GOLD, SCHEMA)
    assert refs.tables == {"singer", "singer_in_concert"}
    assert refs.columns == {("singer", "name"), ("singer", "singer_id"), ("singer", "country"),
                            ("singer", "age"), ("singer_in_concert", "singer_id")}  # fmt: skip
    assert refs.values == {"france", "30"}


def test_subset_scores_are_micro_recall_precision_and_the_reduction_rate():
    kept = SchemaItem(GOLD, SCHEMA, {"singer", "concert"},
                      {("singer", c) for c in SCHEMA["singer"]} | {("concert", "year")})  # fmt: skip
    scores = subset_scores([kept])
    assert scores["tables"] == {"recall": 0.5, "precision": 0.5, "exact": 0.0, "count": 1}
    # 4 of 5 gold columns kept; 4 of the 5 kept are gold.
    assert scores["columns"]["recall"] == 0.8 and scores["columns"]["precision"] == 0.8
    assert scores["reduction_rate"] == round(1 - 5 / 8, 4) and scores["kept_rate"] == round(
        5 / 8, 4
    )


def test_link_scores_add_value_recall():
    links = SchemaItem(GOLD, SCHEMA, {"singer"}, {("singer", "name"), ("singer", "country")},
                       {"france", "paris"})  # fmt: skip
    scores = link_scores([links])
    assert scores["values"] == {"recall": 0.5, "gold_values": 2}
    assert scores["columns"]["recall"] == 0.4 and scores["columns"]["precision"] == 1.0


def test_an_unparsable_gold_is_left_out_not_guessed():
    assert subset_scores([SchemaItem("SELEC nonsense (", SCHEMA, {"singer"}, set())])["count"] == 0


@pytest.mark.parametrize(
    ("gold", "pred", "widths", "equal"),
    [
        ([(1, "a")], [(1, "a")], (2, 2), True),
        ([(1,)], [("x", 1)], (1, 2), True),  # an extra predicted column is allowed
        ([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], (2, 2), False),  # rows in order
        ([(1.004,)], [(1.0,)], (1, 1), True),  # within 0.01
        ([(1.5,)], [(1.0,)], (1, 1), False),
        ([(None,)], [(None,)], (1, 1), True),
        ([(1, 1)], [(1, 2)], (2, 2), False),  # each gold column needs its own predicted one
        ([], [], (1, 1), True),
    ],
)
def test_squrve_equal(gold, pred, widths, equal):
    assert squrve_equal(gold, pred, *widths) is equal
