"""``zero_shot``: DDL with example values (and evidence) in, SQL out; one call."""

from __future__ import annotations

from pydantic import Field

from sqlfoundry.methods.presets import Preset, PresetParams


class ZeroShotParams(PresetParams):
    """
    Attributes:
        template: the prompt (``text2sql`` by default; any with the generator's variables).
        n: samples asked for in one call (more than 1 fills ``candidates``).
        temperature: sampling temperature (the ``[llm]`` setting when unset).
        examples: example values per column in the DDL.
    """

    template: str = "text2sql"
    n: int = Field(1, ge=1, le=64)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    examples: int = Field(3, ge=0, le=10)


PRESET = Preset(
    name="zero_shot",
    kind="generate",
    description="DDL with example values (+ evidence) -> SQL, one call",
    Params=ZeroShotParams,
    build=lambda p: [{"op": "zero_shot_generator", **p.model_dump(exclude_none=True)}],
)
