"""Sample: the one record type every operator, loader and metric works on."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Sample(BaseModel):
    """One Text-to-SQL record, serialisable to one JSON line.

    ``hardness`` is the Spider hardness computed from ``sql``; ``difficulty``
    is a label the data came with (BIRD's simple / moderate / challenging);
    ``component_difficulty`` and ``execution_difficulty`` are the synthesis
    classifiers' labels (from SQL components, and from the pass rate of model
    generations).
    ``meta`` holds provenance: the operator, seed, engine, source file:line and
    LLM usage.
    """

    model_config = ConfigDict(validate_assignment=False)

    id: str
    db_id: str
    question: str | None = None
    sql: str | None = None
    evidence: str | None = None
    prompt: str | None = None
    cot: str | None = None
    hardness: str | None = None
    difficulty: str | None = None
    component_difficulty: str | None = None
    execution_difficulty: str | None = None
    pred_sql: str | None = None
    candidates: list[str] = Field(default_factory=list)
    schema_subset: dict[str, list[str]] | None = None
    schema_links: dict[str, Any] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """A compact dict: fields left at their empty defaults are dropped."""
        return self.model_dump(exclude_defaults=True)
