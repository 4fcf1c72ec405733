"""``mac_sql``: MAC-SQL's three agents: Selector, Decomposer, Refiner."""

from __future__ import annotations

from pydantic import Field

from sqlfoundry.methods.presets import Preset, PresetParams


class MacSqlParams(PresetParams):
    """
    Attributes:
        prune_above: the Selector prunes schemas with more columns than this.
        max_rounds: the Refiner's repairs at most.
    """

    prune_above: int = Field(30, ge=0)
    max_rounds: int = Field(3, ge=1, le=10)


PRESET = Preset(
    name="mac_sql",
    kind="generate",
    description="MAC-SQL: selector (prune a large schema) -> decomposer (sub-questions and SQL "
    "in one call) -> refiner (execute; fix errors and empty results)",
    Params=MacSqlParams,
    build=lambda p: [
        {"op": "mac_sql_selector", "prune_above": p.prune_above},
        {"op": "mac_sql_decomposer"},
        {"op": "execution_refiner", "template": "mac_sql_refine", "max_rounds": p.max_rounds},
    ],
)
