"""The evaluation report: the EX x EM confusion, failure categories, grouped EX/EM bars,
whole names; on hand-made verdicts and on Spider itself."""

from __future__ import annotations

import re

import pytest

from server_data import SPIDER, missing
from sqlfoundry.bench.evaluate import build_report
from sqlfoundry.bench.execution import FAILURE_CATEGORIES, ItemVerdict, failure_category
from sqlfoundry.bench.html import render_html

LONG = "a_database_with_a_rather_long_name_2024"


def verdict(index: int, db_id: str, ex: bool, em: bool, error: str | None = None) -> ItemVerdict:
    return ItemVerdict(index=index, db_id=db_id, ex=ex, error=error, hardness="easy",
                       difficulty=None, gold_sql="SELECT 1", pred_sql="SELECT 2", em=em)  # fmt: skip


VERDICTS = [
    verdict(0, "shop", True, True),
    verdict(1, "shop", True, False),
    verdict(2, "shop", False, True),  # the exact-set match that returns other rows
    verdict(3, LONG, False, True),
    verdict(4, LONG, False, False, "prediction failed: no such column: nme"),
    verdict(5, LONG, False, False, "prediction timed out: stopped after the 30 s timeout"),
    verdict(6, "ghost", False, False, "database missing: unknown db_id 'ghost'"),
    verdict(7, "shop", False, False, "missing prediction: the prediction file has fewer entries"),
    verdict(8, "shop", False, False, "prediction refused, not run: 2 statements given"),
    verdict(9, "shop", False, False, "gold query failed: no such table: x"),
]


def test_categories_and_confusion_are_counted_exactly():
    report = build_report(VERDICTS, mode="spider", shown=["ex", "em"], name="t")
    assert report["confusion"] == {"ex_em": 1, "ex_not_em": 1, "em_not_ex": 2, "neither": 6}
    assert report["failures"] == {
        "results differ": 2, "prediction failed": 1, "prediction refused": 1,
        "no prediction": 1, "timed out": 1, "database missing": 1, "gold query failed": 1,
    }  # fmt: skip
    assert list(report["failures"]) == list(FAILURE_CATEGORIES)
    assert failure_category("gold query timed out: stopped") == "timed out"
    assert failure_category("pred.jsonl:3: invalid JSON: Expecting value") == "no prediction"
    assert VERDICTS[2].to_dict()["failure"] == "results differ"
    assert VERDICTS[0].to_dict()["failure"] is None
    no_em = build_report(VERDICTS, mode="spider", shown=["ex"], name="t")
    assert "confusion" not in no_em


def test_html_has_the_table_the_categories_and_grouped_whole_named_bars():
    report = build_report(VERDICTS, mode="spider", shown=["ex", "em"], name="t")
    page = render_html(report, VERDICTS)
    assert "<h2>EX × EM</h2>" in page
    assert "<tr><th>EX wrong</th><td>2 <span class='muted'>(20.0%)</span></td>" in page
    assert (
        "2 predictions are exact-set matches of the gold query (EM) yet return other rows" in page
    )
    assert "<a href='#fail-timed-out'>timed out</a></td><td>1</td><td>10.0%</td>" in page
    assert page.count("id='fail-") == 7  # each category's first failure is a link target
    by_db = re.search(r'<svg role="img" aria-label="EX and EM by database".*?</svg>', page).group(0)
    assert f">{LONG}</text>" in by_db  # the whole name
    width = int(re.search(r'width="(\d+)"', by_db).group(1))
    assert width > 480 + 7 * len(LONG)
    # One EX bar and one EM bar per database, in two colours, with a legend.
    assert by_db.count('fill="#3b7dd8"') == 3 + 1 and by_db.count('fill="#e08a2c"') == 3 + 1
    assert ">EX</text>" in by_db and ">EM</text>" in by_db
    assert f"EM {100 * 1 / 3:.1f}% (n=3)" in by_db  # LONG: 1 of 3 EM-right


def test_spider_exact_set_matches_that_return_other_rows(tmp_path):
    if not (SPIDER / "tables.json").is_file():
        missing(f"the Spider benchmark is not at {SPIDER}")
    import sqlfoundry

    gold = [
        {"db_id": "concert_singer", "SQL": "SELECT count(*) FROM singer WHERE age > 20"},
        {"db_id": "concert_singer", "SQL": "SELECT name FROM singer ORDER BY age DESC"},
        {"db_id": "concert_singer", "SQL": "SELECT count(*) FROM stadium"},
    ]
    preds = [
        "SELECT count(*) FROM singer WHERE age > 40",  # EM ignores values: EM right, EX wrong
        "SELECT name FROM singer ORDER BY age DESC",
        "SELECT count(*) FROM stadiums",
    ]
    run = sqlfoundry.evaluate(preds, gold, databases=SPIDER / "database", metrics=["ex", "em"],
                              tables=SPIDER / "tables.json", workers=0)  # fmt: skip
    assert [(v.ex, v.em) for v in run.verdicts] == [(False, True), (True, True), (False, False)]
    assert run.report["confusion"] == {"ex_em": 1, "ex_not_em": 0, "em_not_ex": 1, "neither": 1}
    assert run.report["failures"] == {"results differ": 1, "prediction failed": 1}
    (tmp_path / "report.html").write_text(run.html())


@pytest.mark.parametrize("error", [None, "prediction failed: x"])
def test_a_right_item_has_no_category(error):
    assert verdict(0, "shop", True, True, error).category is None
