"""``sqlfoundry eval``: the whole command, start-up included, on the public Spider data.

Rows, each the median wall time of separate runs of the real command:
- the 972 runnable Spider dev pairs, gold as prediction (the issue's target: < 0.4 s);
- 2,916 generated predictions for them (``tests/bench/eval_perturb.py``: a mix of
  right and wrong, with refusals and errors);
- the 8,659 Spider train pairs, gold as prediction (3 gold queries fail and 96
  have no database: they count as wrong).

Only when scratch copies of the official scorers are present (they are never part
of this repository; see ``tests/fixtures/eval/README.md``), the same run also times
test-suite-sql-eval ``evaluation.py --etype exec`` and a BIRD ``evaluation_ex.py``
reimplementation on the same 972 pairs. Their folder and interpreter come from
``SQLFOUNDRY_OFFICIAL_DIR`` (default ``/tmp/official_exec``) and
``SQLFOUNDRY_OFFICIAL_PYTHON`` (default ``/tmp/offvenv/bin/python``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, SPIDER, machine, need, spider_dev_gold, timed

CLI = Path(sys.executable).with_name("sqlfoundry")
OFFICIAL_DIR = Path(os.environ.get("SQLFOUNDRY_OFFICIAL_DIR", "/tmp/official_exec"))
OFFICIAL_PY = Path(os.environ.get("SQLFOUNDRY_OFFICIAL_PYTHON", "/tmp/offvenv/bin/python"))
TARGET = 0.4


def perturbed_files(folder: Path) -> tuple[Path, Path, int]:
    """The parity tests' generated predictions, written as a gold file and a prediction file."""
    sys.path.insert(0, str(REPO / "tests" / "bench"))
    from eval_perturb import generate

    tables = json.loads(need(SPIDER / "tables.json").read_text())
    cases = generate(spider_dev_gold(), {e["db_id"]: e for e in tables})
    gold, pred = folder / "perturbed_gold.sql", folder / "perturbed_pred.sql"
    gold.write_text("".join(f"{c.gold}\t{c.db_id}\n" for c in cases))
    pred.write_text("".join(c.pred + "\n" for c in cases))
    return gold, pred, len(cases)


def gold_as_pred(gold: Path, folder: Path) -> Path:
    pred = folder / f"{gold.stem}_as_pred.sql"
    lines = [line.rsplit("\t", 1)[0] for line in gold.read_text().splitlines() if line.strip()]
    pred.write_text("".join(sql + "\n" for sql in lines))
    return pred


def eval_command(gold: Path, pred: Path, out: Path, em: bool = False) -> list[str]:
    extra = ["--metrics", "ex,em", "--tables", str(SPIDER / "tables.json")] if em else []
    return [str(CLI), "eval", "--gold", str(gold), "--pred", str(pred),
            "--db-root", str(SPIDER / "database"), "--out", str(out), *extra]  # fmt: skip


def run(cmd: list[str], cwd: Path | None = None) -> None:
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd)


def main() -> None:
    dev = need(SPIDER / "dev_without_wta_1_gold.sql")
    train = need(SPIDER / "train_gold.sql")
    print(f"machine: {machine()}")
    rows: list[tuple[str, int, float, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        out = folder / "report.json"
        dev_pred = gold_as_pred(dev, folder)
        pert_gold, pert_pred, n_pert = perturbed_files(folder)
        train_pred = gold_as_pred(train, folder)

        for label, gold, pred, repeat, em in [
            ("sqlfoundry eval, dev gold as pred", dev, dev_pred, 5, False),
            ("sqlfoundry eval, dev perturbed", pert_gold, pert_pred, 5, False),
            ("sqlfoundry eval, train gold as pred", train, train_pred, 3, False),
            ("sqlfoundry eval --metrics ex,em, dev perturbed", pert_gold, pert_pred, 5, True),
        ]:
            wall, runs = timed(lambda g=gold, p=pred, e=em: run(eval_command(g, p, out, e)), repeat)
            report = json.loads(out.read_text())
            result = f"EX {report['ex']:.4f}" + (f" EM {report['em']:.4f}" if em else "")
            rows.append((label, report["count"], wall, result,
                         ", ".join(f"{r:.2f}" for r in runs)))  # fmt: skip

        official = OFFICIAL_DIR / "evaluation.py"
        if official.is_file() and OFFICIAL_PY.is_file():
            cmd = [str(OFFICIAL_PY), "evaluation.py", "--gold", str(dev), "--pred", str(dev_pred),
                   "--db", str(SPIDER / "database"), "--table", str(SPIDER / "tables.json"),
                   "--etype", "exec"]  # fmt: skip
            wall, runs = timed(lambda: run(cmd, cwd=OFFICIAL_DIR), 5)
            rows.append(("official test-suite evaluation.py --etype exec", 972, wall, "",
                         ", ".join(f"{r:.2f}" for r in runs)))  # fmt: skip
        else:
            print(f"(no scratch test-suite scorer at {official}: its row is skipped)")
        bird = OFFICIAL_DIR / "bird_ex.py"
        if bird.is_file() and OFFICIAL_PY.is_file():
            cmd = [str(OFFICIAL_PY), "bird_ex.py", "--predicted_sql_path", str(dev_pred),
                   "--ground_truth_path", str(dev), "--db_root_path", f"{SPIDER / 'database'}/"]  # fmt: skip
            wall, runs = timed(lambda: run(cmd, cwd=OFFICIAL_DIR), 5)
            rows.append(("BIRD evaluation_ex.py (reimplementation)", 972, wall, "",
                         ", ".join(f"{r:.2f}" for r in runs)))  # fmt: skip
        else:
            print(f"(no scratch BIRD scorer at {bird}: its row is skipped)")

    width = max(len(r[0]) for r in rows)
    print(f"\n{'what':<{width}}  {'pairs':>6}  {'median':>8}  result  runs")
    for label, count, wall, result, runs in rows:
        print(f"{label:<{width}}  {count:>6}  {wall:>7.3f}s  {result:<22}  {runs}")
    dev_wall = rows[0][2]
    verdict = "met" if dev_wall < TARGET else "NOT met"
    print(f"\ntarget: dev gold-as-pred under {TARGET} s wall, start-up included: {verdict} "
          f"({dev_wall:.3f} s)")  # fmt: skip
    print(f"perturbed set: {n_pert} pairs")


if __name__ == "__main__":
    main()
