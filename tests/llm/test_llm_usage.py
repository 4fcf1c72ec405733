"""Usage accounting and its summary table."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from sqlfoundry.llm import Price, Usage, UsageTracker, print_usage, render_usage


def tracker() -> UsageTracker:
    usage = UsageTracker(prices={"big": Price(input=10.0, output=30.0)})
    usage.record_call("question_generation", "big", Usage(1000, 200))
    usage.record_call("question_generation", "big", Usage(500, 100))
    usage.record_cache_hits("question_generation", 3)
    usage.record_retry("consistency_judge")
    usage.record_failure("consistency_judge")
    usage.record_call("consistency_judge", "small", Usage(100, 10))
    return usage


def test_totals_and_cost():
    usage = tracker()
    qg = usage.stats("question_generation")
    assert (qg.calls, qg.prompt_tokens, qg.completion_tokens, qg.cache_hits) == (2, 1500, 300, 3)
    assert qg.cost_usd == pytest.approx((1500 * 10 + 300 * 30) / 1e6)
    judge = usage.stats("consistency_judge")
    assert judge.cost_usd is None and judge.unpriced_calls == 1
    total = usage.total
    assert (total.calls, total.retries, total.failures, total.total_tokens) == (3, 1, 1, 1910)
    assert total.cost_usd == pytest.approx(qg.cost_usd)
    assert usage.stats("never-used").calls == 0


def test_to_dict_is_json_ready():
    import json

    data = tracker().to_dict()
    json.dumps(data)
    assert set(data) == {"total", "operators"}
    assert data["operators"]["question_generation"]["total_tokens"] == 1800
    assert data["total"]["calls"] == 3 and data["total"]["cost_usd"] == pytest.approx(0.024)


def test_merge():
    a, b = tracker(), tracker()
    a.merge(b)
    assert a.stats("question_generation").calls == 4
    assert a.total.cost_usd == pytest.approx(2 * b.total.cost_usd)


def test_summary_table():
    out = io.StringIO()
    print_usage(tracker(), Console(file=out, width=140))
    text = out.getvalue()
    assert "question_generation" in text and "consistency_judge" in text and "total" in text
    assert "1,500" in text and "0.0240+" in text  # "+": some calls had no price
    assert render_usage(UsageTracker()).row_count == 1  # just the (empty) total


def test_usage_from_tolerant_dict():
    assert Usage.from_dict(None) == Usage()
    assert Usage.from_dict({"prompt_tokens": None, "completion_tokens": "7"}) == Usage(0, 7)
    assert Usage(1, 2).to_dict() == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
