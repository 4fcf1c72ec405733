"""``self_consistency``: n samples of any generator, then the execution vote.

A generator that makes one call (``zero_shot``, ...) is asked for the n samples
in that one request; a multi-call one (``din_sql``, ``mac_sql``...) is run n
times whole by ``sample_scaler``. ``exec_vote_selector`` picks the answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.methods.presets import Preset, PresetParams, get_preset


class SelfConsistencyParams(PresetParams):
    """
    Attributes:
        generator: a generator preset (``zero_shot``, ``din_sql``...) or a generator operator.
        generator_params: its parameters.
        n: samples per question.
        temperature: their sampling temperature.
    """

    generator: str = "zero_shot"
    generator_params: dict[str, Any] = Field(default_factory=dict)
    n: int = Field(5, ge=2, le=64)
    temperature: float = Field(0.8, ge=0.0, le=2.0)


def _stages(p: SelfConsistencyParams) -> list[dict]:
    if p.generator == "self_consistency":
        raise ConfigError("self_consistency cannot sample itself")
    preset = get_preset(p.generator)
    if preset is not None:
        stages = preset.stages(p.generator_params)
    else:
        stages = [{"op": p.generator, **p.generator_params}]
    single = len(stages) == 1 and stages[0]["op"] != "retrieval_sql_generator"
    if single and _takes_n(stages[0]["op"]):
        return [{**stages[0], "n": p.n, "temperature": p.temperature}, {"op": "exec_vote_selector"}]
    return [
        {"op": "sample_scaler", "stages": stages, "n": p.n, "temperature": p.temperature},
        {"op": "exec_vote_selector"},
    ]


def _takes_n(op: str) -> bool:
    from sqlfoundry.core.registry import registered

    cls = registered().get(op)
    if cls is None:
        raise ConfigError(f"self_consistency: unknown generator {op!r}")
    return "n" in cls.Params.model_fields


PRESET = Preset(
    name="self_consistency",
    kind="generate",
    description="n samples of any generator + the execution vote",
    Params=SelfConsistencyParams,
    build=_stages,
)
