"""classify: all 8,659 Spider train gold queries through the real command, start-up included."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from _common import SPIDER, machine, need, timed

from sqlfoundry.core.io import read_gold
from sqlfoundry.sql.classify import classify_record

CLI = Path(sys.executable).with_name("sqlfoundry")


def main() -> None:
    gold = need(SPIDER / "train_gold.sql")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "classified.jsonl"

        def run() -> None:
            subprocess.run(
                [str(CLI), "classify", str(gold), str(out)], check=True, capture_output=True
            )

        wall, runs = timed(run, repeat=3)
        count = sum(1 for _ in out.open())
    records = [line.data for line in read_gold(gold)]
    lib, _ = timed(lambda: [classify_record(r) for r in records], repeat=3)
    print(
        f"sqlfoundry classify, {count} queries: median {wall:.2f} s wall "
        f"(runs {', '.join(f'{r:.2f}' for r in runs)}), target < 10 s"
    )
    print(f"library classify_record only: median {lib:.2f} s ({lib / count * 1e3:.3f} ms/query)")


if __name__ == "__main__":
    main()
