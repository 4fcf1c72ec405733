"""``sql_o1``: SQL-o1's Monte Carlo tree search over partial SQL, with execution in the loop.

One stage, ``mcts_search`` (``sqlfoundry.methods.search``): the model completes
the schema-aware prompt that ``prepare-sft`` trains on, the search grows a tree of
clause segments, rewards whole queries by log probability, execution
self-consistency or both, and never reads the gold. Every parameter of the
search can be set here (``iterations``, ``reward``, ``choose``, ``api``...).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from sqlfoundry.core.errors import ConfigError, validation_problems
from sqlfoundry.methods.presets import Preset, PresetParams


class SqlO1Params(PresetParams):
    """Any parameter of ``mcts_search`` (see ``MCTSParams``); checked when the config is read."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _stages(p: SqlO1Params) -> list[dict[str, Any]]:
    from pydantic import ValidationError

    from sqlfoundry.methods.search.operator import MCTSParams

    params = dict(p.model_extra or {})
    try:
        MCTSParams(**params)
    except ValidationError as err:
        problems = validation_problems(err).replace("unknown key", "unknown parameter")
        raise ConfigError(f"bad parameters for method sql_o1: {problems}") from None
    return [{"op": "mcts_search", **params}]


PRESET = Preset(
    name="sql_o1",
    kind="generate",
    description="SQL-o1's MCTS over partial SQL: log-probability and execution rewards",
    Params=SqlO1Params,
    build=_stages,
)
