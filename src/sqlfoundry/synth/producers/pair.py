"""ExtractedPair: the question/SQL pair every producer yields, and its conversions.

A pair converts to and from :class:`~sqlfoundry.core.sample.Sample`, so pairs
flow into the synthesis pipeline, the exporters and the evaluator; and to and
from one JSON line in the synthesis input format (``db_id``, ``question``,
``SQL``), which ``sqlfoundry refine --input`` and ``sqlfoundry eval --gold`` read.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sqlfoundry.core.io import sql_of
from sqlfoundry.core.sample import Sample


class ExtractedPair(BaseModel):
    """A natural-language question and the SQL that answers it.

    Attributes:
        question: the question (standalone: a follow-up is resolved).
        sql: the SQL; empty when a producer could not write one (``success`` False).
        context: the conversation turns before the question, oldest first
            (``"User: ..."``, ``"Assistant: ..."``), for multi-turn pairs.
        success: the SQL ran (or was checked) without error.
        db_id: the database the SQL is for.
        evidence: external knowledge the question relies on (vague or
            metaphorical paraphrases pin their meaning down here).
        id: a stable identifier, derived from where the pair came from.
        meta: provenance: ``source`` (file:line, message index), ``error`` for a
            failed pair, ``provenance`` (one entry per producer), engine, usage.
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    sql: str
    context: list[str] = Field(default_factory=list)
    success: bool = True
    db_id: str | None = None
    evidence: str | None = None
    id: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    # ------------------------------------------------------------------ Sample

    def to_sample(self) -> Sample:
        """The pair as a pipeline record; ``success`` and ``context`` ride in ``meta["pair"]``
        (left out when they are the defaults: a success without context)."""
        meta = json.loads(json.dumps(self.meta))
        if not self.success or self.context:
            meta["pair"] = {"success": self.success, "context": list(self.context)}
        return Sample(
            id=self.id or self.key(),
            db_id=self.db_id or "",
            question=self.question,
            sql=self.sql,
            evidence=self.evidence,
            meta=meta,
        )

    @classmethod
    def from_sample(cls, sample: Sample) -> ExtractedPair:
        """A pipeline record as a pair (a record without ``meta["pair"]`` counts as a success)."""
        meta = json.loads(json.dumps(sample.meta))
        info = meta.pop("pair", None) or {}
        return cls(
            question=sample.question or "",
            sql=sample.sql or "",
            context=list(info.get("context") or []),
            success=bool(info.get("success", True)),
            db_id=sample.db_id or None,
            evidence=sample.evidence,
            id=sample.id,
            meta=meta,
        )

    # ------------------------------------------------------------------ records

    def to_record(self) -> dict[str, Any]:
        """One JSON line: the synthesis input fields (``SQL``...), ``success``, ``context``, ``meta``."""
        record: dict[str, Any] = {
            "id": self.id or self.key(),
            "db_id": self.db_id,
            "question": self.question,
            "SQL": self.sql,
        }
        if self.evidence:
            record["evidence"] = self.evidence
        record["success"] = self.success
        if self.context:
            record["context"] = list(self.context)
        if self.meta:
            record["meta"] = self.meta
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ExtractedPair:
        """Read a JSON record (``SQL``, ``sql`` or ``query``; the output of :meth:`to_record`).

        Raises:
            ValueError: the record has no question or no SQL text.
        """
        question, sql = record.get("question"), sql_of(record)
        if not isinstance(question, str) or not question.strip():
            raise ValueError("missing field: question")
        if not isinstance(sql, str):
            raise ValueError("missing field: SQL")
        context = record.get("context") or []
        meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
        db_id = record.get("db_id")
        evidence = record.get("evidence")
        return cls(
            question=question,
            sql=sql,
            context=[str(turn) for turn in context] if isinstance(context, list) else [],
            success=bool(record.get("success", True)),
            db_id=str(db_id) if db_id else None,
            evidence=evidence if isinstance(evidence, str) and evidence else None,
            id=str(record["id"]) if record.get("id") else None,
            meta=dict(meta),
        )

    # ------------------------------------------------------------------ identity

    def key(self) -> str:
        """A content hash of what the pair says (db, question, SQL, context, evidence)."""
        return content_hash(
            [self.db_id, self.question, self.sql, self.context, self.evidence, self.success]
        )

    def failed(self, error: str) -> ExtractedPair:
        """A copy marked unsuccessful, with ``error`` in ``meta``."""
        return self.model_copy(update={"success": False, "meta": {**self.meta, "error": error}})


def content_hash(value: Any, length: int = 16) -> str:
    """A short SHA-256 of ``value``'s canonical JSON."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def provenance(pair: ExtractedPair, producer: str, engine: str, **info: Any) -> ExtractedPair:
    """Record in ``meta`` that ``producer`` made or changed ``pair`` (in place; returns it)."""
    pair.meta["engine"] = engine
    pair.meta.setdefault("provenance", []).append({"producer": producer, "engine": engine, **info})
    return pair
