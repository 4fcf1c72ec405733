"""``few_shot``: DAIL-SQL-style few-shot prompting over a pair pool.

The offline method first writes a preliminary SQL (no model), whose skeleton
ranks the pool's pairs together with the masked question; then one call with
the ``k`` best pairs as examples. Squrve's ``DAILSQLGenerator``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sqlfoundry.methods.presets import Preset, PresetParams


class FewShotParams(PresetParams):
    """
    Attributes:
        pool: a benchmark (``spider:train``), a synth / refine run directory, or a
            JSON/JSONL file of question/SQL records.
        k: examples per prompt.
        similarity: ``auto``, ``lexical`` or ``embedding`` (see ``few_shot_generator``).
        preliminary: write a preliminary SQL with the offline method for skeleton ranking.
        num_per_db: pairs the offline method synthesizes per database.
    """

    pool: str
    k: int = Field(5, ge=1, le=50)
    similarity: Literal["auto", "lexical", "embedding"] = "auto"
    preliminary: bool = True
    num_per_db: int = Field(300, ge=1)


def _stages(p: FewShotParams) -> list[dict]:
    stages: list[dict] = []
    if p.preliminary:
        stages.append({"op": "retrieval_sql_generator", "num_per_db": p.num_per_db})
    stages.append({"op": "few_shot_generator", "pool": p.pool, "k": p.k,
                   "similarity": p.similarity})  # fmt: skip
    return stages


PRESET = Preset(
    name="few_shot",
    kind="generate",
    description="DAIL-SQL: k similar question/SQL pairs (masked question + skeleton) -> SQL",
    Params=FewShotParams,
    build=_stages,
)
