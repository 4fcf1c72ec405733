"""test-suite-sql-eval (taoyds), the official Spider execution scorer, run as it is.

    python benchmarks/peers/testsuite.py CHECKOUT --gold G --pred P --db DIR --table T

runs the checkout's ``evaluation.py --etype exec`` on one database per pair (no
test-suite variants, no value plugging, ``keep_distinct`` off). One thing differs
from a plain ``python evaluation.py``: NLTK's ``word_tokenize`` is called with
``preserve_line=True``, because the punkt data it would otherwise load is a
download this machine cannot make; the parser sees the same tokens for SQL.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

try:
    from _peer import PeerMissing, checkout, need_modules
except ImportError:  # imported as benchmarks.peers.testsuite
    from ._peer import PeerMissing, checkout, need_modules

MARKER = "evaluation.py"
MODULES = ("nltk", "sqlparse", "tqdm")


def command(
    gold: Path, pred: Path, db_root: Path, tables: Path, peer: str | Path | None = None
) -> list[str]:
    """The command line that scores ``pred`` against ``gold`` with the peer's code.

    Raises:
        PeerMissing: no checkout, or one of its packages is not installed.
    """
    path = checkout("test-suite", peer, marker=MARKER)
    need_modules("test-suite", *MODULES)
    return [sys.executable, __file__, str(path), "--gold", str(gold), "--pred", str(pred),
            "--db", str(db_root), "--table", str(tables), "--etype", "exec"]  # fmt: skip


def execution_accuracy(stdout: str) -> float | None:
    """The overall execution accuracy ``evaluation.py`` prints (its ``execution`` row)."""
    for line in stdout.splitlines():
        words = line.split()
        if words[:1] == ["execution"]:
            return float(words[-1])
    return None


def _run(path: Path, argv: list[str]) -> None:
    import nltk

    plain = nltk.word_tokenize

    def word_tokenize(text: str, language: str = "english", preserve_line: bool = True):
        return plain(text, language=language, preserve_line=True)

    nltk.word_tokenize = word_tokenize
    sys.path.insert(0, str(path))
    sys.argv = [str(path / MARKER), *argv]
    runpy.run_path(str(path / MARKER), run_name="__main__")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    try:
        _path = checkout("test-suite", sys.argv[1], marker=MARKER)
        need_modules("test-suite", *MODULES)
    except PeerMissing as missing:
        print(f"skipped: {missing}")
        sys.exit(0)
    _run(_path, sys.argv[2:])
