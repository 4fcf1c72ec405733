"""``sqlfoundry eval`` against the official scorers, side by side, in the same run.

The 972 runnable Spider dev pairs, gold as prediction, scored by:
- ``sqlfoundry eval`` (the whole command, start-up included; spider mode);
- test-suite-sql-eval's ``evaluation.py --etype exec`` (``peers/testsuite.py``);
- BIRD's ``evaluation_ex.py`` with ``--num_cpus`` = every core (``peers/bird.py``).
The three take turns in each of ``--repeat`` rounds; medians, spread and the ratios
of the medians are printed, with each scorer's accuracy (all three must say 100%).
The peers' rows are skipped, with a message, when their checkouts are absent (see
``peers/_peer.py``: ``--peers DIR`` or ``$SQLFOUNDRY_PEERS``).

Then sqlfoundry alone on larger inputs: 2,916 generated predictions for the dev
pairs (``tests/bench/eval_perturb.py``: right and wrong, refusals and errors),
the same with EM, and the 8,659 Spider train pairs, gold as prediction.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, SPIDER, load, machine, need, side_by_side, spider_dev_gold, spread
from peers import bird, testsuite
from peers._peer import FOLDERS, PEERS, PeerMissing

CLI = Path(sys.executable).with_name("sqlfoundry")


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


def eval_command(gold: Path, pred: Path, out: Path, em: bool = False,
                 mode: str | None = None) -> list[str]:  # fmt: skip
    extra = ["--metrics", "ex,em", "--tables", str(SPIDER / "tables.json")] if em else []
    extra += ["--mode", mode] if mode else []
    return [str(CLI), "eval", "--gold", str(gold), "--pred", str(pred),
            "--db-root", str(SPIDER / "database"), "--out", str(out), *extra]  # fmt: skip


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd,
                          env=env).stdout  # fmt: skip


def cache_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "SQLFOUNDRY_CACHE_DIR": str(folder)}


def cold(cmd: list[str], folder: Path) -> str:
    """``cmd`` with an empty cache folder: nothing graded before."""
    shutil.rmtree(folder, ignore_errors=True)
    return run(cmd, env=cache_env(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, default=PEERS, help="folder of the peers' checkouts")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    dev = need(SPIDER / "dev_without_wta_1_gold.sql")
    train = need(SPIDER / "train_gold.sql")
    print(f"machine: {machine()}")
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        out = folder / "report.json"
        dev_pred = gold_as_pred(dev, folder)
        warm_env = cache_env(folder / "cache")
        runners = {
            "sqlfoundry eval": lambda: run(eval_command(dev, dev_pred, out), env=warm_env),
            "sqlfoundry eval, cold": lambda: cold(eval_command(dev, dev_pred, out),
                                                  folder / "cold-cache"),
            # BIRD's semantics (sets of rows, the queries as written), as the BIRD peer scores.
            "sqlfoundry eval --mode bird": lambda: run(eval_command(dev, dev_pred, out,
                                                                    mode="bird"), env=warm_env),
        }  # fmt: skip
        ours_ex = lambda: json.loads(out.read_text())["ex"]  # noqa: E731
        accuracy = {name: ours_ex for name in runners}
        try:
            ts_cmd = testsuite.command(dev, dev_pred, SPIDER / "database", SPIDER / "tables.json",
                                       args.peers / FOLDERS["test-suite"])  # fmt: skip
            runners["test-suite evaluation.py"] = lambda: run(ts_cmd)
            accuracy["test-suite evaluation.py"] = lambda: testsuite.execution_accuracy(run(ts_cmd))
        except PeerMissing as missing:
            print(f"skipped: {missing}")
        try:
            items = folder / "items.jsonl"
            run([*eval_command(dev, dev_pred, out), "--items", str(items)])
            hardness = [json.loads(x)["hardness"] for x in items.read_text().splitlines()]
            bird_pred, diff = bird.prepare(dev, dev_pred, folder, hardness)
            bird_cmd, cwd = bird.command(dev, bird_pred, diff, SPIDER / "database",
                                         folder / "bird.log", args.peers / FOLDERS["bird"])  # fmt: skip
            runners["BIRD evaluation_ex.py"] = lambda: run(bird_cmd, cwd)
            accuracy["BIRD evaluation_ex.py"] = lambda: bird.execution_accuracy(run(bird_cmd, cwd))
        except PeerMissing as missing:
            print(f"skipped: {missing}")
        run(eval_command(dev, dev_pred, out), env=warm_env)  # grades the gold once
        cpu: dict[str, list[float]] = {}
        runs = side_by_side(runners, args.repeat, cpu)
        ours = statistics.median(runs["sqlfoundry eval"])
        ours_cold = statistics.median(runs["sqlfoundry eval, cold"])
        print(f"\n972 Spider dev pairs, gold as prediction, {args.repeat} rounds taking turns")
        print("(sqlfoundry eval: the gold's hardness graded by an earlier run and read from the "
              "cache; cold: an empty cache folder, every gold parsed)")  # fmt: skip
        print(f"{'scorer':<26} {'EX':>7}  {'wall':<34} {'CPU':>8}  sqlfoundry faster by"
              " (cached / cold)")  # fmt: skip
        for name, times in runs.items():
            ex = accuracy[name]()
            median = statistics.median(times)
            print(f"{name:<28} {ex:>7.4f}  {spread(times):<34} "
                  f"{statistics.median(cpu[name]):>6.3f} s  "
                  f"{median / ours:.2f}x / {median / ours_cold:.2f}x")  # fmt: skip
        if "BIRD evaluation_ex.py" in runs:
            bird_mode = statistics.median(runs["sqlfoundry eval --mode bird"])
            print(f"BIRD evaluation_ex.py against sqlfoundry in bird mode (the same semantics): "
                  f"{statistics.median(runs['BIRD evaluation_ex.py']) / bird_mode:.2f}x")  # fmt: skip

        pert_gold, pert_pred, n_pert = perturbed_files(folder)
        train_pred = gold_as_pred(train, folder)
        print("\nsqlfoundry alone")
        for label, gold, pred, em in [
            (f"eval, {n_pert} perturbed dev predictions", pert_gold, pert_pred, False),
            (f"eval --metrics ex,em, {n_pert} perturbed", pert_gold, pert_pred, True),
            ("eval, 8,659 train pairs, gold as pred", train, train_pred, False),
        ]:
            times = side_by_side({label: lambda g=gold, p=pred, e=em: run(
                eval_command(g, p, out, e))}, 3)[label]  # fmt: skip
            report = json.loads(out.read_text())
            result = f"EX {report['ex']:.4f}" + (f" EM {report['em']:.4f}" if em else "")
            print(f"{label:<44} {report['count']:>6}  {spread(times):<34} {result}")
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
