"""Aiming at a Spider hardness level: which shapes and knobs to draw for each.

Spider's hardness counts clauses (WHERE, GROUP BY, ORDER BY, LIMIT, joins, OR,
LIKE), nested queries and set operations, and "others" (several select items,
aggregates, conditions or group keys); see :mod:`sqlfoundry.sql.hardness`. The
distributions below make a draw for a level land on that level most of the
time; the sampler measures the real hardness of every query anyway and files
it where it belongs.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlfoundry.synth.sampling.builder import Builder, Draft
from sqlfoundry.synth.sampling.compose import Plan, compose
from sqlfoundry.synth.sampling.nested import (
    conditional_share,
    membership,
    scalar_comparison,
    set_operation,
    spread,
)
from sqlfoundry.synth.sampling.structures import children_set_operation, group_against_average

Special = Callable[[Builder, bool], Draft | None]

# level -> (probability, shape, rich) tried before the common composer. Hard and
# extra come mostly from structures that mean something (subqueries, NOT IN,
# HAVING against the whole, set operations over one population), not from
# filters stacked until the clause count is high enough.
_SPECIALS: dict[str, list[tuple[float, Special, bool]]] = {
    "easy": [],
    "medium": [(0.02, conditional_share, False), (0.05, spread, False)],
    "hard": [
        (0.08, scalar_comparison, False),
        (0.08, membership, False),
        (0.08, set_operation, False),
        (0.12, children_set_operation, False),
        (0.1, group_against_average, False),
        (0.02, conditional_share, False),
    ],
    "extra": [
        (0.06, scalar_comparison, True),
        (0.08, membership, True),
        (0.08, set_operation, True),
        (0.24, children_set_operation, True),
        (0.18, group_against_average, True),
        (0.02, conditional_share, True),
    ],
}


def _choice(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def plan_for(level: str, rng: random.Random) -> Plan:
    """Knobs for :func:`~.compose.compose` that usually give a ``level`` query.

    At most two filters and two joins at any level: a query gets harder by what
    it computes (groups, HAVING, rankings), not by piling up conditions.
    """
    if level == "easy":
        mode = _choice(rng, {"rows": 0.55, "aggregate": 0.45})
        conditions = _choice(rng, {0: 0.3, 1: 0.7})
        return Plan(
            mode=mode,  # type: ignore[arg-type]
            columns=1,
            conditions=conditions,  # type: ignore[arg-type]
            order=mode == "rows" and conditions == 0 and rng.random() < 0.15,
            distinct=rng.random() < 0.08,
        )
    if level == "medium":
        return Plan(
            joins=_choice(rng, {0: 0.5, 1: 0.5}),  # type: ignore[arg-type]
            mode=_choice(rng, {"rows": 0.45, "aggregate": 0.2, "group": 0.35}),  # type: ignore[arg-type]
            columns=_choice(rng, {1: 0.5, 2: 0.45, 3: 0.05}),  # type: ignore[arg-type]
            conditions=_choice(rng, {0: 0.35, 1: 0.5, 2: 0.15}),  # type: ignore[arg-type]
            use_or=rng.random() < 0.1,
            like=rng.random() < 0.05,
            order=rng.random() < 0.35,
            limit=rng.random() < 0.85,
            having=rng.random() < 0.3,
        )
    if level == "hard":
        return Plan(
            joins=_choice(rng, {0: 0.3, 1: 0.5, 2: 0.2}),  # type: ignore[arg-type]
            mode=_choice(rng, {"rows": 0.4, "aggregate": 0.1, "group": 0.5}),  # type: ignore[arg-type]
            columns=_choice(rng, {1: 0.6, 2: 0.4}),  # type: ignore[arg-type]
            conditions=_choice(rng, {0: 0.6, 1: 0.35, 2: 0.05}),  # type: ignore[arg-type]
            use_or=rng.random() < 0.15,
            like=rng.random() < 0.05,
            order=rng.random() < 0.6,
            limit=rng.random() < 0.85,
            having=rng.random() < 0.4,
        )
    return Plan(
        joins=_choice(rng, {0: 0.15, 1: 0.5, 2: 0.35}),  # type: ignore[arg-type]
        mode=_choice(rng, {"rows": 0.2, "aggregate": 0.05, "group": 0.75}),  # type: ignore[arg-type]
        columns=_choice(rng, {1: 0.65, 2: 0.35}),  # type: ignore[arg-type]
        conditions=_choice(rng, {0: 0.7, 1: 0.28, 2: 0.02}),  # type: ignore[arg-type]
        use_or=rng.random() < 0.15,
        like=rng.random() < 0.05,
        order=rng.random() < 0.7,
        limit=rng.random() < 0.95,
        having=rng.random() < 0.55,
    )


def draw(builder: Builder, level: str) -> Draft | None:
    """One draft aimed at ``level``: a special shape now and then, else a composed one."""
    rng = builder.rng
    roll = rng.random()
    for probability, shape, rich in _SPECIALS[level]:
        if roll < probability:
            draft = shape(builder, rich)
            if draft is not None:
                return draft
            break
        roll -= probability
    return compose(builder, plan_for(level, rng))
