"""Start-up: a one-item command against bare Python, side by side, in the same run.

Each takes turns in each of ``--repeat`` rounds, as separate processes:
- the floor: ``python -c "import sqlite3"``;
- ``sqlfoundry --version``;
- ``sqlfoundry exec`` of one Spider query (``SELECT count(*) FROM singer``);
- ``sqlfoundry eval`` of that one pair, gold as prediction.
Medians, spread and the time above the floor are printed (the issue's target:
at most 0.08 s above bare Python), then the modules the one-item commands import,
by package, from ``python -X importtime``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _common import SPIDER, load, machine, need, side_by_side, spider_dev_gold, spread

CLI = Path(sys.executable).with_name("sqlfoundry")
TARGET = 0.08


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def imports(cmd: list[str]) -> Counter:
    """Self time (ms) of the modules ``cmd`` imports, by top-level package."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sqlfoundry", *cmd[1:]],
                          capture_output=True, text=True, check=True)  # fmt: skip
    total: Counter = Counter()
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if found:
            total[found[2].split(".")[0]] += int(found[1]) / 1000
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"load average before: {load()}")
    sql, db_id = spider_dev_gold()[0]
    root = need(SPIDER / "database")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gold, pred = folder / "gold.sql", folder / "pred.sql"
        gold.write_text(f"{sql}\t{db_id}\n")
        pred.write_text(f"{sql}\n")
        commands = {
            "python -c 'import sqlite3' (floor)": [sys.executable, "-c", "import sqlite3"],
            "sqlfoundry --version": [str(CLI), "--version"],
            "sqlfoundry exec, one query": [str(CLI), "exec", str(gold), str(folder / "out.jsonl"),
                                           "--db-root", str(root)],
            "sqlfoundry eval, one pair": [str(CLI), "eval", "--gold", str(gold), "--pred",
                                          str(pred), "--db-root", str(root)],
        }  # fmt: skip
        cpu: dict[str, list[float]] = {}
        runs = side_by_side({k: lambda c=c: run(c) for k, c in commands.items()}, args.repeat,
                            cpu)  # fmt: skip
        floor = statistics.median(next(iter(runs.values())))
        cpu_floor = statistics.median(next(iter(cpu.values())))
        print(f"\n{args.repeat} rounds taking turns; wall, then CPU (user + system)")
        for name, times in runs.items():
            above = statistics.median(times) - floor
            cpu_above = statistics.median(cpu[name]) - cpu_floor
            print(f"{name:<36} {spread(times):<36} +{above:.3f} s above the floor · CPU "
                  f"{statistics.median(cpu[name]):.3f} s, +{cpu_above:.3f} s")  # fmt: skip
        for name in ("sqlfoundry exec, one query", "sqlfoundry eval, one pair"):
            top = imports(commands[name]).most_common(8)
            print(f"\n{name} imports (self ms by package): "
                  + ", ".join(f"{k} {v:.0f}" for k, v in top))  # fmt: skip
    print(f"\ntarget: at most {TARGET} s above the floor")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
