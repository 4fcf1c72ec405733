"""The search's formulas on small cases computed by hand."""

from __future__ import annotations

import math

import pytest

from sqlfoundry.methods.search import rewards as R


def test_step_reward_is_sqlo1s_divided_by_its_offset():
    # SQL-o1: alpha * (100 + lp) with lp = -2.5, alpha = 0.4 -> 38.999...; here / 100.
    assert R.step_reward(-2.5, 0.4, 100.0) == pytest.approx(0.4 * 97.5 / 100)


def test_sqlo1_returns_are_means_of_the_rest_of_the_path():
    # actions lp -0.2, -0.4; the whole query -0.6; alpha 0.4, scale 100
    r1 = 0.4 * (1 - 0.002)  # 0.3992
    r2 = 0.4 * (1 - 0.004) + 0.6 * (1 - 0.006)  # 0.3984 + 0.5964
    returns = R.sqlo1_returns([-0.2, -0.4], -0.6, 0.4, 100.0)
    assert returns == [pytest.approx((r1 + r2) / 2), pytest.approx(r2)]
    assert returns[0] == pytest.approx(0.697)


def test_consistency_share_counts_the_querys_result_group():
    keys = ["a", "a", "b", None]  # None: that completion failed
    assert R.consistency_share(keys, "a") == 0.5
    assert R.consistency_share(keys, "b") == 0.25
    assert R.consistency_share(keys, None) == 0.0  # the query itself failed
    assert R.consistency_share([], "a") == 0.0


@pytest.mark.parametrize(
    "status, empty, expected",
    [("ok", False, 0.0), ("ok", True, 0.5), ("error", True, 1.0), ("timeout", True, 1.0)],
)
def test_execution_penalty(status, empty, expected):
    assert R.execution_penalty(status, empty, 1.0, 0.5) == expected


def test_path_returns_by_reward():
    common = dict(action_lps=[-0.2, -0.4], full_lp=None, share=0.75, penalty=0.0, alpha=0.4,
                  mix=0.5, scale=100.0)  # fmt: skip
    sqlo1 = R.path_returns("sqlo1", **common)
    # without a scored whole query, its log probability is the path's sum (-0.6)
    assert sqlo1 == pytest.approx(R.sqlo1_returns([-0.2, -0.4], -0.6, 0.4, 100.0))
    assert R.path_returns("consistency", **common) == [0.75, 0.75]
    mixed = R.path_returns("mixed", **common)
    assert mixed == pytest.approx([0.5 * g + 0.5 * 0.75 for g in sqlo1])
    penalised = R.path_returns("sqlo1", **{**common, "penalty": 1.0})
    assert penalised == pytest.approx([g - 1.0 for g in sqlo1])
    echo = R.path_returns("sqlo1", **{**common, "full_lp": -3.0})
    assert echo[1] == pytest.approx(0.4 * (1 - 0.004) + 0.6 * (1 - 0.03))


def test_priors():
    assert R.prior("sqlo1", -1.0, 1, 4, 0.4, 0.5, 100.0) == pytest.approx(0.396)
    assert R.prior("consistency", -1.0, 3, 4, 0.4, 0.5, 100.0) == 0.75
    assert R.prior("mixed", -1.0, 3, 4, 0.4, 0.5, 100.0) == pytest.approx(0.5 * 0.396 + 0.5 * 0.75)


def test_uct():
    # Q + c * sqrt(ln N / n)
    assert R.uct(0.5, 4, 2, 1.0) == pytest.approx(0.5 + math.sqrt(math.log(4) / 2))
    assert R.uct(0.5, 4, 0, 2.0) == pytest.approx(0.5 + 2 * math.sqrt(math.log(4)))
    assert R.uct(0.5, 0, 0, 1.0) == 0.5  # a parent not yet visited explores nothing
    assert R.uct(0.5, 1, 0, 1.0) == 0.5


def test_q_is_the_max_or_the_mean():
    assert R.aggregate([0.2, 0.8, 0.5], "max") == 0.8
    assert R.aggregate([0.2, 0.8, 0.5], "mean") == pytest.approx(0.5)
