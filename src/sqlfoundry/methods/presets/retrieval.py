"""``retrieval``: sqlfoundry's offline method (no model), as a generator like the others."""

from __future__ import annotations

from pydantic import Field

from sqlfoundry.methods.presets import Preset, PresetParams


class RetrievalParams(PresetParams):
    """
    Attributes:
        num_per_db: question/SQL pairs synthesized per database.
        candidates: also keep this many next-best answers in ``candidates`` (for a selector).
        cache_dir: where the pairs are kept (default ``$SQLFOUNDRY_CACHE_DIR/retrieval``).
    """

    num_per_db: int = Field(300, ge=1, le=100_000)
    candidates: int = Field(0, ge=0, le=50)
    cache_dir: str | None = None


PRESET = Preset(
    name="retrieval",
    kind="generate",
    description="offline: retrieval over pairs synthesized from the database, values substituted",
    Params=RetrievalParams,
    build=lambda p: [{"op": "retrieval_sql_generator", **p.model_dump(exclude_none=True)}],
)
