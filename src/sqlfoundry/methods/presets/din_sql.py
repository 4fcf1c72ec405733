"""``din_sql``: DIN-SQL's four calls: linking, classification, generation, self-correction."""

from __future__ import annotations

from pydantic import Field

from sqlfoundry.methods.presets import Preset, PresetParams


class DinSqlParams(PresetParams):
    """
    Attributes:
        correct: run the self-correction call (the fourth).
        examples: example values per column in the corrector's DDL.
    """

    correct: bool = True
    examples: int = Field(3, ge=0, le=10)


def _stages(p: DinSqlParams) -> list[dict]:
    stages = [{"op": "din_sql_linker"}, {"op": "din_sql_classifier"}, {"op": "din_sql_generator"}]
    if p.correct:
        stages.append({"op": "din_sql_corrector", "examples": p.examples})
    return stages


PRESET = Preset(
    name="din_sql",
    kind="generate",
    description="DIN-SQL: schema-linking CoT, EASY/NON-NESTED/NESTED classification, "
    "class-specific generation, self-correction (4 calls)",
    Params=DinSqlParams,
    build=_stages,
)
