"""Aggregate metrics: pass@k and oracle, schema linking, VES, breakdowns."""

from __future__ import annotations

import json
from math import sqrt
from pathlib import Path

import pytest
from evalkit import score

from sqlfoundry.bench import metrics as m
from sqlfoundry.bench.execution import ItemVerdict
from sqlfoundry.bench.ves import clean_outliers


def verdict(index=0, ex=True, candidates=(), ratio=None, hardness="easy", db_id="shop"):
    return ItemVerdict(index=index, db_id=db_id, ex=ex, error=None, hardness=hardness,
                       difficulty=None, gold_sql="SELECT 1", pred_sql="SELECT 1",
                       candidates_correct=list(candidates), ves_ratio=ratio)  # fmt: skip


# ----------------------------------------------------------------- pass@k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 0.4),
        (5, 2, 2, 0.7),  # 1 - C(3,2) / C(5,2)
        (5, 2, 3, 0.9),  # 1 - C(3,3) / C(5,3)
        (5, 2, 4, 1.0),  # fewer wrong samples than k
        (5, 0, 3, 0.0),
        (4, 1, 8, 1.0),  # k above n is taken as n
        (10, 3, 5, 1 - 21 / 252),
    ],
)
def test_pass_at_k(n, c, k, expected):
    assert m.pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_oracle_block_only_with_candidates():
    assert m.oracle_metrics([verdict(), verdict(1, ex=False)]) is None
    oracle = m.oracle_metrics(
        [
            verdict(0, candidates=[True, False, False, False]),
            verdict(1, candidates=[False, False, False, False]),
            verdict(2),  # no candidates: a miss, the denominator stays 3
        ]
    )
    assert oracle == {
        "note": "oracle metrics: an item counts if any of its k candidates is right; not EX",
        "items_with_candidates": 2,
        "candidates_per_item": 4,
        "pass@1": 0.0833,
        "pass@2": 0.1667,
        "pass@4": 0.3333,
        "oracle_best_of_4": 0.3333,
    }


def test_oracle_in_the_report_from_jsonl_candidates(shop, tmp_path: Path):
    gold = tmp_path / "gold.sql"
    gold.write_text(
        "SELECT count(*) FROM shop\tshop\nSELECT name FROM shop WHERE staff > 4\tshop\n"
    )
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        json.dumps({"pred_sql": "SELECT 4", "candidates": ["SELECT 4", "SELECT 3"]}) + "\n"
        + json.dumps({"pred_sql": "SELECT 1", "candidates": ["SELECT 1",
                      "SELECT name FROM shop WHERE staff >= 5"]}) + "\n"
    )  # fmt: skip
    report = score(gold, pred, shop, workers=0).report
    assert report["ex"] == 0.5
    assert {k: v for k, v in report["oracle"].items() if k != "note"} == {
        "items_with_candidates": 2,
        "candidates_per_item": 2,
        "pass@1": 0.5,
        "pass@2": 1.0,
        "oracle_best_of_2": 1.0,
    }
    no_candidates = tmp_path / "plain.sql"
    no_candidates.write_text("SELECT 4\nSELECT 1\n")
    assert "oracle" not in score(gold, no_candidates, shop, workers=0).report


# ----------------------------------------------------------------- schema linking


def test_linking_scores_on_hand_made_predictions(shop, tmp_path: Path):
    gold = tmp_path / "gold.sql"
    gold.write_text(
        "SELECT name FROM shop WHERE city = 'Oslo'\tshop\n"
        "SELECT sum(amount) FROM sale JOIN shop ON sale.shop_id = shop.id "
        "WHERE shop.city = 'Rome'\tshop\n"
        "SELECT count(*) FROM shop\tshop\n"
    )
    pred = tmp_path / "pred.jsonl"
    records = [
        {"pred_sql": "SELECT 1", "pred_tables": ["Shop", "sale"],
         "pred_columns": ["shop.name", "SHOP.city"]},
        {"pred_sql": "SELECT 1", "schema_links": {"tables": ["sale"],
         "columns": ["sale.amount", "shop.city", "shop.name"]}},
        {"pred_sql": "SELECT 1"},  # no links: left out of the linking scores
    ]  # fmt: skip
    pred.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = score(gold, pred, shop, workers=0, metrics=("ex", "linking")).report
    # tables: {shop} vs {shop, sale}; {sale, shop} vs {sale} -> tp 2, fp 1, fn 1
    # columns: exact on the first; 2 of 4 gold found and 1 extra on the second
    assert report["schema_linking"] == {
        "tables": {"recall": 0.6667, "precision": 0.6667, "exact": 0.0, "count": 2},
        "columns": {"recall": 0.6667, "precision": 0.8, "exact": 0.5, "count": 2},
    }


def test_linking_scores_function():
    assert m.linking_scores([({"a", "b"}, {"a"}), (set(), set())]) == {
        "recall": 0.5, "precision": 1.0, "exact": 0.5, "count": 2,
    }  # fmt: skip
    assert m.linking_scores([]) == {"recall": 0.0, "precision": 0.0, "exact": 0.0, "count": 0}


# ----------------------------------------------------------------- VES


@pytest.mark.parametrize(
    ("ratio", "reward"),
    [(None, 0.0), (0.0, 0.0), (0.1, 0.25), (0.25, 0.5), (0.49, 0.5), (0.5, 0.75),
     (0.99, 0.75), (1.0, 1.0), (1.99, 1.0), (2.0, 1.25), (50.0, 1.25)],
)  # fmt: skip
def test_reward_buckets(ratio, reward):
    assert m.reward(ratio) == reward


def test_ves_scores_exact():
    verdicts = [
        verdict(0, ratio=4.0),
        verdict(1, ratio=1.0),
        verdict(2, ratio=0.3),
        verdict(3, ex=False, ratio=None),
    ]
    ves = (sqrt(4.0) * 100 + sqrt(1.0) * 100 + sqrt(0.3) * 100) / 4
    r_ves = (sqrt(1.25) * 100 + sqrt(1.0) * 100 + sqrt(0.5) * 100) / 4
    assert m.ves_scores(verdicts) == {"ves": round(ves, 2), "r_ves": round(r_ves, 2)}
    assert m.ves_scores(verdicts) == {"ves": 88.69, "r_ves": 70.63}
    assert m.ves_scores([]) == {"ves": 0.0, "r_ves": 0.0}


@pytest.mark.parametrize(
    ("values", "kept"),
    [
        ([1.0] * 20 + [100.0], [1.0] * 20),  # 100 lies beyond mean + 3 sd (5.71 + 63.25)
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
        # All equal: the spread is 0 and the bounds are strict, so nothing is kept
        # (BIRD's clean_abnormal does the same; measure_time_ratios then uses them all).
        ([2.0, 2.0, 2.0], []),
        ([], []),
    ],
)
def test_clean_outliers(values, kept):
    assert clean_outliers(values) == kept


def test_ves_on_a_small_set(shop, tmp_path: Path):
    gold = tmp_path / "gold.sql"
    gold.write_text(
        "SELECT count(*) FROM shop\tshop\n"
        "SELECT name FROM shop WHERE city = 'Oslo'\tshop\n"
        "SELECT sum(amount) FROM sale\tshop\n"
    )
    pred = tmp_path / "pred.sql"
    pred.write_text(
        "SELECT count(id) FROM shop\nSELECT name FROM shop WHERE city = 'Rome'\n"
        "SELECT sum(amount) FROM sale WHERE shop_id IN (SELECT id FROM shop)\n"
    )
    run = score(gold, pred, shop, workers=0, metrics=("ex", "ves"), ves_iterations=7)
    ratios = [v.ves_ratio for v in run.verdicts]
    assert [v.ex for v in run.verdicts] == [True, False, True]
    assert ratios[1] is None and ratios[0] > 0 and ratios[2] > 0
    report = run.report
    assert report["ves_iterations"] == 7
    assert report["ves"] == round((sqrt(ratios[0]) + sqrt(ratios[2])) * 100 / 3, 2)
    rewards = [m.reward(ratios[0]), 0.0, m.reward(ratios[2])]
    assert report["r_ves"] == round(sum(sqrt(r) * 100 for r in rewards) / 3, 2)
    assert run.verdicts[0].to_dict()["ves_time_ratio"] == round(ratios[0], 4)
    assert "ves_time_ratio" not in run.verdicts[1].to_dict()


# ----------------------------------------------------------------- breakdowns


def test_breakdown_order_and_counts():
    verdicts = [
        verdict(0, hardness="extra"),
        verdict(1, ex=False, hardness="easy"),
        verdict(2, hardness="easy"),
        verdict(3, ex=False, hardness=None),
        verdict(4, hardness="medium", db_id="a_db"),
    ]
    assert m.breakdown(verdicts, "hardness", ["ex"]) == {
        "easy": {"count": 2, "ex": 0.5},
        "medium": {"count": 1, "ex": 1.0},
        "extra": {"count": 1, "ex": 1.0},
        "unknown": {"count": 1, "ex": 0.0},
    }
    assert list(m.breakdown(verdicts, "db_id", ["ex"])) == ["a_db", "shop"]
