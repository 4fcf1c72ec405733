"""The synth report's labels: nothing shows as ``None``; samples spread over levels and
databases; per-database counts."""

from __future__ import annotations

from sqlfoundry.core.pipeline import RunResult
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.report import render_report, spread_samples, summarize


def _sample(i: int, db_id: str, level: str | None) -> Sample:
    return Sample(id=f"s{i}", db_id=db_id, question=f"q{i}?", sql="SELECT 1",
                  component_difficulty=level)  # fmt: skip


def test_no_label_reads_none_and_every_database_is_counted():
    samples = [_sample(0, "a", "easy"), _sample(1, "a", "easy"), _sample(2, "b", None),
               _sample(3, "b", "hard")]  # fmt: skip
    summary = summarize(RunResult(samples, [], []), mode="refine", engine="offline",
                        seconds=1.0, input_count=4)  # fmt: skip
    assert summary["component_difficulty"] == {"easy": 2, "hard": 1,
                                               "unclassified (SQL not parsed)": 1}  # fmt: skip
    assert summary["execution_difficulty"] == {"not graded (offline engine)": 4}
    assert summary["per_database"] == {"a": 2, "b": 2}
    html = render_report(summary, samples)
    assert ">None<" not in html and "not graded (offline engine)" in html
    assert "<td>a</td><td>2</td>" in html and "<td>b</td><td>2</td>" in html
    # three shown: one of each level, not three of the first database
    shown = spread_samples(samples, 3)
    assert sorted(str(s.component_difficulty) for s in shown) == ["None", "easy", "hard"]
    assert {s.db_id for s in shown} == {"a", "b"}
