"""``chess``: CHESS-style: keywords, value retrieval, candidates, revision, selection."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sqlfoundry.methods.presets import Preset, PresetParams


class ChessParams(PresetParams):
    """
    Attributes:
        candidates: candidate queries sampled per question.
        temperature: their sampling temperature.
        revise_rounds: repairs of each failing candidate.
        selector: ``llm`` (pairwise, as CHESS) or ``exec_vote``.
        min_score: edit similarity a database value needs to be retrieved.
    """

    candidates: int = Field(3, ge=1, le=32)
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    revise_rounds: int = Field(1, ge=1, le=5)
    selector: Literal["llm", "exec_vote"] = "llm"
    min_score: float = Field(0.6, ge=0.0, le=1.0)


def _stages(p: ChessParams) -> list[dict]:
    selector = ({"op": "llm_selector", "mode": "pairwise"} if p.selector == "llm"
                else {"op": "exec_vote_selector"})  # fmt: skip
    return [
        {"op": "chess_keywords"},
        {"op": "chess_values", "min_score": p.min_score},
        # One request with n samples: the candidates share the prompt, as in CHESS.
        {"op": "chess_generator", "n": p.candidates, "temperature": p.temperature},
        {"op": "execution_refiner", "template": "chess_revise", "scope": "candidates",
         "max_rounds": p.revise_rounds},
        selector,
    ]  # fmt: skip


PRESET = Preset(
    name="chess",
    kind="generate",
    description="CHESS: keyword extraction -> value retrieval (MinHash LSH) -> candidates -> "
    "revision of failing candidates -> selection",
    Params=ChessParams,
    build=_stages,
)
