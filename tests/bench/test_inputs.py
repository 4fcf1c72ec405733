"""Reading gold and prediction files, and pairing them by position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalkit import score

from sqlfoundry.bench.evaluate import align, grade_hardness
from sqlfoundry.bench.execution import MISSING
from sqlfoundry.bench.inputs import read_gold_file, read_predictions
from sqlfoundry.core.errors import InputError

GOLD = (
    "SELECT count(*) FROM shop\tshop\n"
    "SELECT name FROM shop WHERE city = 'Oslo'\tshop\n"
    "\n"  # blank gold lines are skipped, as the official scorers do
    "SELECT max(staff) FROM shop\tshop\n"
)


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    path = tmp_path / "gold.sql"
    path.write_text(GOLD)
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_gold_file(gold: Path):
    entries = read_gold_file(gold)
    assert [(e.db_id, e.sql, e.where) for e in entries] == [
        ("shop", "SELECT count(*) FROM shop", f"{gold}:1"),
        ("shop", "SELECT name FROM shop WHERE city = 'Oslo'", f"{gold}:2"),
        ("shop", "SELECT max(staff) FROM shop", f"{gold}:4"),
    ]


def test_gold_line_without_db_id_stops_the_run(tmp_path: Path):
    path = write(tmp_path, "gold.sql", "SELECT 1\tshop\nSELECT 2\n")
    with pytest.raises(InputError) as info:
        read_gold_file(path)
    assert (info.value.file, info.value.line) == (str(path), 2)


def test_plain_text_predictions(tmp_path: Path):
    path = write(
        tmp_path,
        "pred.sql",
        "SELECT count(*) FROM shop \n\n  SELECT name FROM shop\tshop\nSELECT 1",
    )
    preds = read_predictions(path)
    # An empty line stays an (empty) entry; a tab ends the SQL, as in Spider's format.
    assert [p.sql for p in preds] == [
        "SELECT count(*) FROM shop",
        "",
        "SELECT name FROM shop",
        "SELECT 1",
    ]
    assert all(p.error is None for p in preds)


def test_jsonl_predictions(tmp_path: Path):
    lines = [
        json.dumps({"pred_sql": "SELECT 1", "candidates": ["SELECT 1", "SELECT 2"]}),
        "{not json",
        json.dumps(["SELECT 1"]),
        json.dumps({"question": "no prediction"}),
        "",
        json.dumps({"sql": "SELECT 3", "pred_tables": ["Shop"], "pred_columns": ["shop.Name"]}),
    ]
    path = write(tmp_path, "pred.jsonl", "\n".join(lines) + "\n")
    preds = read_predictions(path)
    assert [(p.sql, p.error) for p in preds] == [
        ("SELECT 1", None),
        (None, f"{path}:2: invalid JSON: Expecting property name enclosed in double quotes"),
        (None, f"{path}:3: line is not a JSON object"),
        (None, f"{path}:4: record has no prediction (pred_sql)"),
        ("", None),
        ("SELECT 3", None),
    ]
    assert preds[0].candidates == ["SELECT 1", "SELECT 2"]
    assert preds[5].tables == {"shop"} and preds[5].columns == {("shop", "name")}


def test_bird_json_predictions(tmp_path: Path):
    data = {
        "1": "SELECT 2\t----- bird -----\tshop",
        "0": "SELECT 1\t----- bird -----\tshop",
        "2": None,
    }
    preds = read_predictions(write(tmp_path, "predict_dev.json", json.dumps(data)))
    assert [p.sql for p in preds] == ["SELECT 1", "SELECT 2", ""]


def test_missing_prediction_file(tmp_path: Path):
    with pytest.raises(InputError) as info:
        read_predictions(tmp_path / "nope.sql")
    assert info.value.message == "no such file"


# ----------------------------------------------------------------- alignment


def test_fewer_predictions_are_missing_items_with_a_warning(gold: Path, tmp_path: Path, shop):
    pred = write(tmp_path, "pred.sql", "SELECT count(*) FROM shop\n")
    run = score(gold, pred, shop, workers=0)
    assert run.warnings == [
        "the prediction file has 1 entries for 3 gold items: the last 2 count as missing predictions"
    ]
    assert [(v.index, v.ex, v.error) for v in run.verdicts] == [
        (0, True, None),
        (1, False, MISSING),
        (2, False, MISSING),
    ]
    assert run.report["count"] == 3 and run.report["ex"] == 0.3333


def test_more_predictions_warn_and_are_ignored(gold: Path, tmp_path: Path, shop):
    pred = write(tmp_path, "pred.sql", "SELECT count(*) FROM shop\nSELECT 1\nSELECT 2\nSELECT 3\n")
    run = score(gold, pred, shop, workers=0)
    assert run.warnings == [
        "the prediction file has 1 more entries than the gold file (3); the extra ones are ignored"
    ]
    assert run.report["count"] == 3


def test_empty_line_is_a_wrong_prediction_and_never_shifts_the_rest(
    gold: Path, tmp_path: Path, shop
):
    pred = write(
        tmp_path,
        "pred.sql",
        "SELECT count(*) FROM shop\n\nSELECT max(staff) FROM shop\n",
    )
    run = score(gold, pred, shop, workers=0)
    assert run.warnings == []
    assert [(v.ex, v.error) for v in run.verdicts] == [
        (True, None),
        (False, "empty prediction"),
        (True, None),
    ]


def test_invalid_jsonl_line_is_wrong_with_file_and_line(gold: Path, tmp_path: Path, shop):
    pred = write(
        tmp_path,
        "pred.jsonl",
        '{"pred_sql": "SELECT count(*) FROM shop"}\n{"pred_sql": \n'
        '{"pred_sql": "SELECT max(staff) FROM shop"}\n',
    )
    run = score(gold, pred, shop, workers=0)
    assert [v.ex for v in run.verdicts] == [True, False, True]
    assert run.verdicts[1].error == f"{pred}:2: invalid JSON: Expecting value"
    assert run.report["errors"] == [
        {"index": 1, "db_id": "shop", "error": f"{pred}:2: invalid JSON: Expecting value"}
    ]


def test_align_keeps_gold_order_and_hardness(gold: Path, tmp_path: Path):
    pred = write(tmp_path, "pred.sql", "SELECT 1\nSELECT 2\nSELECT 3\n")
    items, warnings, by_index = align(read_gold_file(gold), read_predictions(pred))
    assert all(i.grade and i.hardness is None for i in items)  # read while the queries run
    grade_hardness(items)()
    assert [(i.index, i.pred, i.hardness) for i in items] == [
        (0, "SELECT 1", "easy"),
        (1, "SELECT 2", "easy"),
        (2, "SELECT 3", "easy"),
    ]
    assert warnings == [] and sorted(by_index) == [0, 1, 2]


def test_hardness_read_in_another_process_equals_this_process(spider_root: Path):
    gold = read_gold_file(spider_root / "dev_without_wta_1_gold.sql")
    here, there = (align(gold, [])[0] for _ in range(2))
    grade_hardness(here, workers=0, cache=False)()
    grade_hardness(there, workers=2, cache=False)()  # 532 distinct golds: in a forked process
    assert [i.hardness for i in there] == [i.hardness for i in here]
    assert {i.hardness for i in here} == {"easy", "medium", "hard", "extra"}


def test_grades_are_remembered_and_equal_the_parsed_ones(spider_root: Path, tmp_path: Path):
    gold = read_gold_file(spider_root / "dev_without_wta_1_gold.sql")
    parsed, first, second = (align(gold, [])[0] for _ in range(3))
    grade_hardness(parsed, cache=False)()
    grade_hardness(first, cache=tmp_path)()
    assert len(list(tmp_path.glob("hardness-*.json"))) == 1
    import sqlfoundry.bench.evaluate as evaluate

    real, evaluate._hardness_of = evaluate._hardness_of, None  # nothing may be parsed now
    try:
        grade_hardness(second, cache=tmp_path)()
    finally:
        evaluate._hardness_of = real
    assert (
        [i.hardness for i in second] == [i.hardness for i in first] == [i.hardness for i in parsed]
    )
    # An unreadable file is no cache: grades are parsed again.
    next(tmp_path.glob("hardness-*.json")).write_text("{not json")
    again = align(gold[:3], [])[0]
    grade_hardness(again, cache=tmp_path)()
    assert [i.hardness for i in again] == [i.hardness for i in parsed[:3]]
