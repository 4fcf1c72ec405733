"""``sqlfoundry eval`` end to end: report.json, items.jsonl, the HTML report, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sqlfoundry.cli import app

runner = CliRunner()


GOLD = (
    "SELECT count(*) FROM shop\tshop\n"
    "SELECT name FROM shop WHERE city = 'Oslo'\tshop\n"
    "SELECT T1.name, sum(T2.amount) FROM shop AS T1 JOIN sale AS T2 ON T1.id = T2.shop_id "
    "GROUP BY T1.id ORDER BY sum(T2.amount) DESC LIMIT 1\tshop\n"
    "SELECT city FROM shop WHERE staff > 4\tghost\n"
)
PRED = (
    "SELECT count(id) FROM shop\n"
    "SELECT name FROM shop WHERE city = 'Rome'\n"
    "DELETE FROM sale\n"
    "SELECT city FROM shop WHERE staff > 4\n"
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    gold, pred = tmp_path / "gold.sql", tmp_path / "pred.sql"
    gold.write_text(GOLD)
    pred.write_text(PRED)
    return gold, pred


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, ["eval", *args], env=env)


def test_eval_writes_report_items_and_html(files, shop_root: Path, tmp_path: Path):
    gold, pred = files
    out, items, html = tmp_path / "report.json", tmp_path / "items.jsonl", tmp_path / "r.html"
    result = run("--gold", str(gold), "--pred", str(pred), "--db-root", str(shop_root),
                 "--workers", "0", "--out", str(out), "--items", str(items), "--html", str(html))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 items (spider mode," in result.stdout
    assert "EX 25.00%" in result.stdout

    report = json.loads(out.read_text())
    assert {"count", "ex", "by_difficulty", "by_db", "errors"} <= set(report)
    assert "em" not in report
    assert (report["benchmark"], report["mode"], report["count"], report["ex"]) == (
        str(gold), "spider", 4, 0.25,
    )  # fmt: skip
    assert report["by_difficulty"] == {
        "easy": {"count": 3, "ex": 0.3333},
        "extra": {"count": 1, "ex": 0.0},
    }
    assert report["by_db"] == {"ghost": {"count": 1, "ex": 0.0}, "shop": {"count": 3, "ex": 0.3333}}
    assert report["errors"] == [
        {"index": 2, "db_id": "shop",
         "error": "prediction refused, not run: not a query: DELETE statements are refused"},
        {"index": 3, "db_id": "ghost",
         "error": f"database missing: unknown db_id 'ghost': no database under {shop_root}"},
    ]  # fmt: skip
    assert report["warnings"] == []

    lines = [json.loads(x) for x in items.read_text().splitlines()]
    assert [x["index"] for x in lines] == [0, 1, 2, 3]
    assert list(lines[0])[:8] == [
        "index", "db_id", "ex", "error", "hardness", "difficulty", "gold_sql", "pred_sql",
    ]  # fmt: skip
    assert [(x["db_id"], x["ex"], x["hardness"]) for x in lines] == [
        ("shop", True, "easy"), ("shop", False, "easy"), ("shop", False, "extra"),
        ("ghost", False, "easy"),
    ]  # fmt: skip
    assert lines[1]["gold_result"] == {
        "columns": ["name"],
        "row_count": 2,
        "rows": [["Alpha"], ["Beta"]],
    }
    assert lines[1]["pred_result"] == {"columns": ["name"], "row_count": 1, "rows": [["Gamma"]]}
    assert lines[2]["pred_result"] is None

    page = html.read_text()
    # Self-contained: the only URL is the SVG namespace, nothing is loaded from outside.
    urls = re.findall(r"https?://[^\s\"'<>]+", page)
    assert set(urls) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert "<script" not in page and "<link" not in page
    assert page.count("<svg") == 2  # EX by difficulty, EX by database
    assert 'aria-label="EX by difficulty"' in page and 'aria-label="EX by database"' in page
    assert "<h2>Failures (3), by category</h2>" in page
    assert report["failures"] == {"results differ": 1, "prediction refused": 1,
                                  "database missing": 1}  # fmt: skip
    assert "confusion" not in report  # no EM asked for
    assert [x["failure"] for x in lines] == [None, "results differ", "prediction refused",
                                             "database missing"]  # fmt: skip
    assert (
        "wrong: results differ 1 (25.0%) · prediction refused 1 (25.0%) · database missing 1"
        in (result.stdout)
    )
    assert "DELETE statements are refused" in page
    assert "SELECT name FROM shop WHERE city = &#x27;Rome&#x27;" in page


def test_eval_bird_mode_and_warning_for_short_predictions(files, shop_root: Path, tmp_path: Path):
    gold, _ = files
    pred = tmp_path / "short.sql"
    pred.write_text("SELECT count(*) FROM shop\n")
    out = tmp_path / "report.json"
    result = run("--gold", str(gold), "--pred", str(pred), "--db-root", str(shop_root),
                 "--mode", "bird", "--workers", "0", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "the prediction file has 1 entries for 4 gold items" in result.stderr
    report = json.loads(out.read_text())
    assert (report["mode"], report["count"], report["ex"]) == ("bird", 4, 0.25)
    assert report["warnings"] == [
        "the prediction file has 1 entries for 4 gold items: the last 3 count as missing predictions"
    ]


def test_eval_bench_selection(spider_dir: Path, tmp_path: Path):
    pred = tmp_path / "pred.sql"
    lines = (spider_dir / "dev_gold.sql").read_text().splitlines()[:20]
    pred.write_text("".join(x.split("\t")[0] + "\n" for x in lines))
    out = tmp_path / "report.json"
    env = {"SQLFOUNDRY_BENCH_ROOT": str(spider_dir.parent)}
    result = run("--bench", "spider:dev:first-20", "--pred", str(pred), "--workers", "2",
                 "--out", str(out), env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert (report["benchmark"], report["mode"], report["count"], report["ex"]) == (
        "spider:dev", "spider", 20, 1.0,
    )  # fmt: skip
    assert sum(row["count"] for row in report["by_difficulty"].values()) == 20
    assert report["by_db"] == {"concert_singer": {"count": 20, "ex": 1.0}}


def test_eval_bench_without_root_says_what_to_set(tmp_path: Path):
    pred = tmp_path / "pred.sql"
    pred.write_text("SELECT 1\n")
    result = run("--bench", "spider:dev", "--pred", str(pred), env={"SQLFOUNDRY_BENCH_ROOT": ""})
    assert result.exit_code == 2
    assert "no folder known for benchmark 'spider'" in result.stderr
    assert "SQLFOUNDRY_BENCH_ROOT" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--metrics", "ex,bleu"],
            "error: unknown metric(s) bleu (choose from ex, em, ves, linking, ex_squrve)",
        ),
        (["--metrics", "em"], "error: EM needs the benchmark's tables.json (pass --tables FILE)"),
    ],
)
def test_eval_bad_options(files, shop_root: Path, args, message):
    # An unknown --mode is refused by typer with the choices (tests/cli/test_conventions.py).
    gold, pred = files
    result = run("--gold", str(gold), "--pred", str(pred), "--db-root", str(shop_root), *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == message


def test_eval_missing_files(files, shop_root: Path, tmp_path: Path):
    gold, pred = files
    result = run("--gold", str(tmp_path / "nope.sql"), "--pred", str(pred),
                 "--db-root", str(shop_root))  # fmt: skip
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.sql'}" in result.stderr and "error:" in result.stderr
    result = run("--gold", str(gold), "--pred", str(tmp_path / "nope.sql"),
                 "--db-root", str(shop_root))  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.sql'}: no such file"
    result = run("--pred", str(pred))
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: give --gold GOLD (with --db-root) or --bench NAME"
    result = run("--gold", str(gold), "--pred", str(pred), env={"SQLFOUNDRY_DB_ROOT": ""})
    assert result.exit_code == 2
    assert "give --db-root DIR (or set SQLFOUNDRY_DB_ROOT) or --server URL" in result.stderr


# ----------------------------------------------------------------- EM


def test_eval_em_on_spider(spider_dir: Path, tmp_path: Path):
    lines = (spider_dir / "dev_gold.sql").read_text().splitlines()[:20]
    preds = [x.split("\t")[0] for x in lines]
    preds[0] = "SELECT count(*) FROM stadium"  # 9 rows, not 6: EX and EM both wrong
    preds[1] = "SELECT count(*) FROM singer WHERE no_such = 1"  # unreadable for the official parser
    pred = tmp_path / "pred.sql"
    pred.write_text("".join(p + "\n" for p in preds))
    out, items = tmp_path / "report.json", tmp_path / "items.jsonl"
    env = {"SQLFOUNDRY_BENCH_ROOT": str(spider_dir.parent)}
    result = run("--bench", "spider:dev:first-20", "--pred", str(pred), "--metrics", "ex,em",
                 "--out", str(out), "--items", str(items), env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert (report["ex"], report["em"]) == (0.9, 0.9)
    assert all("em" in row for row in report["by_difficulty"].values())
    first, second = map(json.loads, items.read_text().splitlines()[:2])
    assert (first["ex"], first["em"], first.get("em_error")) == (False, False, None)
    assert (second["ex"], second["em"]) == (False, False)
    assert second["em_error"].startswith("the official parser rejects the prediction (")
