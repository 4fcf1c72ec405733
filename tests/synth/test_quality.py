"""The quality figures of a set of records."""

from __future__ import annotations

from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.quality import check_counts, text_figures, words_by_level


def test_text_figures():
    figures = text_figures(["What are the names of singers whose age is 30?",
                            "How many singers are there?", ""])  # fmt: skip
    assert figures == {"questions": 2, "mean_words": 7.5, "whose_share": 0.5,
                       "distinct_1": 0.8667, "distinct_2": 1.0}  # fmt: skip
    assert text_figures([]) == {"questions": 0}


def test_words_by_level_and_check_counts():
    samples = [Sample(id="a", db_id="d", question="How many books?", hardness="easy"),
               Sample(id="b", db_id="d", question="List the books by price.", hardness="medium"),
               Sample(id="c", db_id="d", question="How many authors are there?", hardness="easy")]  # fmt: skip
    assert words_by_level(samples) == {"easy": 4.0, "medium": 5.0}
    rejects = [{"operator": "sql_semantic_filter", "reason": "fan-out: 3 row(s) repeat ..."},
               {"operator": "sql_semantic_filter", "reason": "tie at the LIMIT cutoff: row 2 ..."},
               {"operator": "sql_execution_filter", "reason": "empty result"}]  # fmt: skip
    counts = check_counts(rejects, checked=10)
    assert counts["checked"] == 10
    assert counts["dropped"] == {"ties": 1, "fan_out": 1, "degenerate": 0, "tautology": 0,
                                 "contrived": 0}  # fmt: skip
    assert counts["dropped_share"]["fan_out"] == 0.1
