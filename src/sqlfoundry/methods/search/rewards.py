"""The search's formulas, as pure functions: rewards, returns, priors and UCT.

Scale. SQL-o1 scores with ``100 + log p`` and explores with a UCT weight of 100.
Everything here is that divided by ``scale`` (100 by default): a step is worth
``alpha * (1 + lp / scale)``, so its ranking of nodes is SQL-o1's while the
rewards sit near [0, 1], the range of the execution self-consistency share, and
the two can be mixed. SQL-o1's exploration weight of 100 is ``uct_c = 1``.

SQL-o1's self-reward (``sqlo1``). Along a path of actions ``a_1 .. a_T`` (the
last one completes the query ``q``):

    r_i = alpha * (1 + lp(a_i) / scale)                        for i < T
    r_T = alpha * (1 + lp(a_T) / scale) + (1 - alpha) * (1 + lp(q) / scale)

``lp(a)`` is the sum of the action's token log probabilities as sampled, and
``lp(q)`` the whole query's, scored with ``echo`` where the endpoint allows it,
else summed along the path. A node at depth ``i`` is backed up the mean of the
rewards from itself to the end, ``mean(r_i .. r_T)`` (SQL-o1's ``np.mean`` over
the rest of the path).

Alpha-SQL's execution self-consistency (``consistency``). The completions drawn
at the node where ``q`` was sampled are executed and grouped by result; the
return is the share of them in ``q``'s group (0 when ``q`` fails), the same for
every node of the path. ``mixed`` is ``mix * sqlo1 + (1 - mix) * consistency``.

Execution feedback, in every mode: a query that fails loses ``error_penalty``,
one that returns no rows (or only NULLs) loses ``empty_penalty``.

UCT: ``Q(child) + c * sqrt(ln N(parent) / max(1, N(child)))``, ``Q`` the max or
mean of a child's returns, or its prior while it has none (SQL-o1 scores an
unvisited child by its fast reward the same way). Priors: ``alpha * (1 + lp(a) /
scale)`` for ``sqlo1``, the share of the samples that chose the action for
``consistency``, their mix for ``mixed``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from statistics import fmean

REWARDS = ("sqlo1", "consistency", "mixed")


def step_reward(lp: float, alpha: float, scale: float) -> float:
    """SQL-o1's reward of one action with log probability ``lp``."""
    return alpha * (1.0 + lp / scale)


def sqlo1_returns(
    action_lps: Sequence[float], full_lp: float, alpha: float, scale: float
) -> list[float]:
    """The return backed up to the node after each action: ``mean(r_i .. r_T)``."""
    if not action_lps:
        return []
    rewards = [step_reward(lp, alpha, scale) for lp in action_lps]
    rewards[-1] += (1.0 - alpha) * (1.0 + full_lp / scale)
    return [fmean(rewards[i:]) for i in range(len(rewards))]


def consistency_share(keys: Sequence[Hashable | None], key: Hashable | None) -> float:
    """The share of ``keys`` (one per drawn completion, None when it failed) equal to ``key``;
    0 when ``key`` is None (the query itself failed)."""
    if key is None or not keys:
        return 0.0
    return sum(1 for k in keys if k is not None and k == key) / len(keys)


def execution_penalty(
    status: str, empty: bool, error_penalty: float, empty_penalty: float
) -> float:
    """What a terminal query loses: ``error_penalty`` unless it ran, ``empty_penalty`` when
    it ran and returned nothing."""
    if status != "ok":
        return error_penalty
    return empty_penalty if empty else 0.0


def path_returns(
    reward: str,
    *,
    action_lps: Sequence[float | None],
    full_lp: float | None,
    share: float,
    penalty: float,
    alpha: float,
    mix: float,
    scale: float,
) -> list[float]:
    """The return for the node after each action of a path (``reward`` is one of REWARDS)."""
    count = len(action_lps)
    if reward == "consistency":
        return [share - penalty] * count
    lps = [lp if lp is not None else 0.0 for lp in action_lps]
    total = full_lp if full_lp is not None else math.fsum(lps)
    own = sqlo1_returns(lps, total, alpha, scale)
    if reward == "sqlo1":
        return [g - penalty for g in own]
    return [mix * g + (1.0 - mix) * share - penalty for g in own]


def prior(
    reward: str, lp: float | None, count: int, drawn: int, alpha: float, mix: float, scale: float
) -> float:
    """An unvisited child's value: its fast reward (``sqlo1``), the share of the ``drawn``
    samples that chose it (``consistency``), or their mix."""
    share = count / drawn if drawn else 0.0
    if reward == "consistency":
        return share
    fast = step_reward(lp if lp is not None else 0.0, alpha, scale)
    return fast if reward == "sqlo1" else mix * fast + (1.0 - mix) * share


def uct(q: float, parent_visits: int, visits: int, c: float) -> float:
    """``q + c * sqrt(ln N / max(1, n))``; ``ln`` of at least 1 visit, so a fresh parent gives 0."""
    return q + c * math.sqrt(math.log(max(1, parent_visits)) / max(1, visits))


def aggregate(returns: Sequence[float], how: str) -> float:
    """A node's Q from its returns: ``max`` (SQL-o1) or ``mean``."""
    return max(returns) if how == "max" else fmean(returns)
