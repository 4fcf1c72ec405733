"""BIRD's execution scorer (bird-bench/mini_dev ``evaluation/evaluation_ex.py``), run as it is.

    python benchmarks/peers/bird.py CHECKOUT --gold G --pred P --db-root DIR [--cpus N]

The Spider-format gold (``SQL<TAB>db_id`` per line) is BIRD's own format; the
predictions (one SQL per line) are written as BIRD's JSON
(``{"0": "SQL\\t----- bird -----\\tdb_id", ...}``), and each pair gets a
difficulty (Spider hardness easy -> simple, medium -> moderate, else
challenging; BIRD divides by the size of each group, so none may be empty).
Then the checkout's ``evaluation_ex.py`` runs unchanged with ``--num_cpus N``
(default: every core) and its 30 s ``meta_time_out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    from _peer import PeerMissing, checkout, need_modules
except ImportError:
    from ._peer import PeerMissing, checkout, need_modules

MARKER = "evaluation/evaluation_ex.py"
MODULES = ("func_timeout", "psycopg2", "pymysql")
LEVELS = {"easy": "simple", "medium": "moderate"}


def prepare(gold: Path, pred: Path, folder: Path, hardness: list[str | None]) -> tuple[Path, Path]:
    """Write BIRD's prediction JSON and difficulty JSONL for ``gold``/``pred`` into ``folder``."""
    pairs = [line.rsplit("\t", 1) for line in gold.read_text().splitlines() if line.strip()]
    sqls = pred.read_text().splitlines()
    predictions = {str(i): f"{sqls[i] if i < len(sqls) else ''}\t----- bird -----\t{db}"
                   for i, (_, db) in enumerate(pairs)}  # fmt: skip
    bird_pred = folder / "bird_pred.json"
    bird_pred.write_text(json.dumps(predictions))
    diff = folder / "bird_difficulty.jsonl"
    diff.write_text("".join(json.dumps({"difficulty": LEVELS.get(h or "", "challenging")}) + "\n"
                            for h in hardness))  # fmt: skip
    return bird_pred, diff


def command(
    gold: Path,
    bird_pred: Path,
    diff: Path,
    db_root: Path,
    log: Path,
    peer: str | Path | None = None,
    cpus: int | None = None,
) -> tuple[list[str], Path]:
    """The command line (and its working folder) running the peer's ``evaluation_ex.py``.

    Raises:
        PeerMissing: no checkout, or one of its packages is not installed.
    """
    path = checkout("bird", peer, marker=MARKER)
    need_modules("bird", *MODULES)
    cmd = [sys.executable, "evaluation_ex.py", "--predicted_sql_path", str(bird_pred),
           "--ground_truth_path", str(gold), "--db_root_path", f"{db_root}/",
           "--num_cpus", str(cpus or os.cpu_count() or 1), "--diff_json_path", str(diff),
           "--output_log_path", str(log)]  # fmt: skip
    return cmd, path / "evaluation"


def execution_accuracy(stdout: str) -> float | None:
    """The total EX (0-1) that ``evaluation_ex.py`` prints in its ``EX`` row."""
    for line in stdout.splitlines():
        words = line.split()
        if words[:1] == ["EX"] and len(words) == 5:
            return float(words[-1]) / 100
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout")
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--pred", type=Path, required=True)
    parser.add_argument("--db-root", type=Path, required=True)
    parser.add_argument("--cpus", type=int)
    args = parser.parse_args()
    from sqlfoundry.sql.hardness import spider_hardness

    hardness = []
    for line in args.gold.read_text().splitlines():
        if line.strip():
            try:
                hardness.append(spider_hardness(line.rsplit("\t", 1)[0]))
            except Exception:
                hardness.append(None)
    with tempfile.TemporaryDirectory() as tmp:
        bird_pred, diff = prepare(args.gold, args.pred, Path(tmp), hardness)
        try:
            cmd, cwd = command(args.gold, bird_pred, diff, args.db_root, Path(tmp) / "log.txt",
                               args.checkout, args.cpus)  # fmt: skip
        except PeerMissing as missing:
            print(f"skipped: {missing}")
            return
        subprocess.run(cmd, cwd=cwd, check=True)


if __name__ == "__main__":
    main()
