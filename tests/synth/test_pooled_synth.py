"""Offline synthesis on the worker pool writes what the in-process run writes, byte for
byte (records, rejects, every checkpoint), with the same summary, and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlfoundry.core.executors.local import LocalExecutor
from sqlfoundry.core.executors.pool import can_fork
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.synth.pipelines import SynthSettings
from sqlfoundry.synth.records import database_seeds
from sqlfoundry.synth.run import run_mode

pytestmark = pytest.mark.skipif(not can_fork(), reason="the pool forks its workers")

DATABASES = ["bookshop", "clinic", "airline"]


def _run(root: Path, run_dir: Path, executor: LocalExecutor):
    settings = SynthSettings(num_per_db=24, seed=11, batch_size=16, workers=2)
    return run_mode("synth", database_seeds(DATABASES), DatabaseManager(root=root), settings,
                    run_dir, executor=executor)  # fmt: skip


def _files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes()
            for p in sorted(run_dir.rglob("*.jsonl"))}  # fmt: skip


def _figures(summary: dict) -> dict:
    """The summary without its timings (and the settings, which name no executor)."""
    out = {k: v for k, v in summary.items() if k not in ("seconds", "samples_per_second")}
    out["steps"] = [{k: v for k, v in s.items() if k != "seconds"} for s in summary["steps"]]
    return out


def _examples(report: str) -> str:
    return report[report.index("<h2>Samples") :]


def test_the_pool_writes_the_bytes_the_in_process_run_writes(demo_root: Path, tmp_path: Path):
    pooled = LocalExecutor(processes=2)
    try:
        a = _run(demo_root, tmp_path / "pooled", pooled)
        assert pooled._pool is not None and pooled._pool._workers  # it did use the workers
    finally:
        pooled.close()
    b = _run(demo_root, tmp_path / "here", LocalExecutor())
    files_a, files_b = _files(tmp_path / "pooled"), _files(tmp_path / "here")
    assert files_a.keys() == files_b.keys()
    assert sum(k.startswith("steps/") for k in files_a) > 9 * 4  # many batches of every step
    assert files_a == files_b
    assert len(a) == len(b) > 40
    assert _figures(a.summary) == _figures(b.summary)
    assert a.summary["quality"]["distinct_2"] > 0 and a.summary["components"]["JOIN"] > 0
    report_a = (tmp_path / "pooled" / "report.html").read_text()
    report_b = (tmp_path / "here" / "report.html").read_text()
    assert _examples(report_a) == _examples(report_b)
    assert report_a.count("<pre>") == 12


def test_a_pooled_run_resumes_from_its_checkpoints(demo_root: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    with_pool = LocalExecutor(processes=2)
    try:
        first = _run(demo_root, run_dir, with_pool)
        data = (run_dir / "data.jsonl").read_bytes()
        # An interrupted step: its marker and one finished batch gone.
        step = sorted((run_dir / "steps").iterdir())[4]
        (step / "done").unlink()
        for name in ("batch-00002.jsonl", "rejects-00002.jsonl"):
            (step / name).unlink()
        again = _run(demo_root, run_dir, with_pool)
    finally:
        with_pool.close()
    reused = [s["reused"] for s in again.summary["steps"]]
    assert reused == [True] * 4 + [False] + [True] * 4
    assert (step / "batch-00002.jsonl").exists() and (step / "done").exists()
    assert (run_dir / "data.jsonl").read_bytes() == data
    # The tally of a run made of new batches and batches read back is the first run's.
    figures, before = _figures(again.summary), _figures(first.summary)
    assert {k: v for k, v in figures.items() if k != "steps"} == {
        k: v for k, v in before.items() if k != "steps"
    }
    assert figures["records"] == first.summary["records"] and figures["quality"]["distinct_2"] > 0
    assert json.loads((run_dir / "manifest.json").read_text())["records"] == len(first)
