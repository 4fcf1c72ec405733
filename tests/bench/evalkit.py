"""Helpers shared by the evaluation tests: where the public data is, and a scoring shortcut."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sqlfoundry.bench.evaluate import EvalRun, align, evaluate
from sqlfoundry.bench.inputs import read_gold_file, read_predictions
from sqlfoundry.db.manager import DatabaseManager

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO.parent / "shared" / "benchmarks"
FIXTURES = REPO / "tests" / "fixtures" / "eval"


def missing(reason: str) -> None:
    """Skip loudly, or fail under ``CI=true`` where the data must be present."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(f"!!! SKIPPED: {reason} !!!")


def score(
    gold: Path, pred: Path, manager: DatabaseManager, mode: str = "spider", **kwargs
) -> EvalRun:
    """What ``sqlfoundry eval --gold GOLD --pred PRED`` computes, through the library."""
    items, warnings, by_index = align(read_gold_file(gold), read_predictions(pred))
    run = evaluate(items, manager, mode=mode, predictions=by_index, **kwargs)
    run.warnings = warnings
    return run


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
