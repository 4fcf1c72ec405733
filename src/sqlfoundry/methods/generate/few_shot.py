"""``few_shot_generator``: DAIL-SQL-style few-shot Text-to-SQL (template ``few_shot``).

The ``k`` pairs of the pool most like the question (:mod:`.pool`: masked
question similarity, and skeleton similarity to the record's preliminary
``pred_sql`` when an earlier stage wrote one) are shown as question/SQL pairs
before the schema and the question, DAIL-SQL's organisation. The pool is read
once, when the first batch arrives. Squrve's ``DAILSQLGenerator``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.calls import embed
from sqlfoundry.methods.generate.pool import PoolRanker, mask_question, read_pool, schema_words
from sqlfoundry.methods.generate.template import GeneratorParams, TemplateGenerator


class FewShotParams(GeneratorParams):
    """
    Attributes:
        pool: where the example pairs come from: a benchmark (``spider:train``), a synth
            or refine run directory, or a JSON/JSONL file of question/SQL records.
        k: examples shown.
        similarity: ``lexical`` (BM25 over the masked questions), ``embedding`` (the local
            embedder, else the endpoint's ``/embeddings``), or ``auto`` (embedding when a
            local embedder is loaded, else lexical).
        skeleton_threshold: pairs whose SQL skeleton is at least this similar to the
            preliminary SQL's come first.
    """

    template: str = "few_shot"
    pool: str
    k: int = Field(5, ge=1, le=50)
    similarity: Literal["auto", "lexical", "embedding"] = "auto"
    skeleton_threshold: float = Field(0.85, ge=0.0, le=1.0)


@register
class FewShotGenerator(TemplateGenerator):
    """Writes ``pred_sql`` from a prompt with the pool's most similar question/SQL pairs."""

    name = "few_shot_generator"
    method = "few_shot"
    uses = ("evidence", "schema_subset", "pred_sql")
    Params = FewShotParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._ranker: PoolRanker | None = None
        self._lock = asyncio.Lock()

    def extra_variables(self) -> tuple[str, ...]:
        return ("examples",)

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        self.check_context(ctx)
        await self._ensure_pool(ctx)  # a bad pool stops the run here, before any record
        return await super().process(batch, ctx)

    def _use_embeddings(self, ctx: RunContext) -> bool:
        if self.params.similarity == "auto":
            return ctx.embedder is not None
        return self.params.similarity == "embedding"

    async def _ensure_pool(self, ctx: RunContext) -> None:
        async with self._lock:
            if self._ranker is not None:
                return
            pairs = await asyncio.to_thread(read_pool, self.params.pool, ctx.databases)
            vectors = None
            if self._use_embeddings(ctx):
                vectors = await embed(ctx, [p.masked for p in pairs], self.name)
            self._ranker = PoolRanker(pairs, vectors)

    async def extra_values(self, sample: Sample, ctx: RunContext) -> dict[str, Any]:
        """The examples chosen for ``sample``'s masked question, as template values."""
        assert self._ranker is not None
        words = schema_words(ctx.schema(sample.db_id, sample_values=0))
        masked = mask_question(sample.question or "", words)
        vector = None
        if self._ranker.vectors is not None:
            vector = await embed(ctx, [masked], self.name)
        chosen = self._ranker.rank(masked, sample.pred_sql, self.params.k, question_vector=vector,
                                   skeleton_threshold=self.params.skeleton_threshold,
                                   exclude_question=sample.question)  # fmt: skip
        sample.meta["few_shot"] = [{"question": p.question, "db_id": p.db_id} for p in chosen]
        return {"examples": "\n\n".join(f"/* Answer the following: {p.question} */\n{p.sql}"
                                        for p in chosen)}  # fmt: skip
