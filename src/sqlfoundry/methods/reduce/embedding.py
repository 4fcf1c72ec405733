"""``embedding_reducer``: LinkAlign's first step, retrieval of schema items by embedding.

Each column becomes a short document (table and column names read as words,
type, description, a few example values) and is embedded once per database
(the run's local embedder, or the endpoint's ``/embeddings``). A question keeps
the ``top_k`` columns most similar to it (or ``keep_ratio`` of all columns,
whichever is more), and the tables they belong to; the keys that join kept
tables are added when the subset is rendered. Squrve's ``LinkAlignReducer``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.schema import Schema
from sqlfoundry.llm.similarity import top_k
from sqlfoundry.methods.calls import embed
from sqlfoundry.methods.stage import Stage
from sqlfoundry.synth.naming import humanize


class EmbeddingReducerParams(Params):
    """
    Attributes:
        top_k: columns kept per question.
        keep_ratio: keep at least this share of the database's columns (0..1).
        examples: example values in each column's document.
    """

    top_k: int = Field(20, ge=1, le=10_000)
    keep_ratio: float | None = Field(None, gt=0.0, le=1.0)
    examples: int = Field(3, ge=0, le=10)


def column_document(table: str, column: Any, examples: int) -> str:
    """The text a column is embedded as."""
    parts = [f"{humanize(table)} {humanize(column.name)}", f"({table}.{column.name}"]
    parts[-1] += f", {column.type})" if column.type else ")"
    if column.description:
        parts.append(str(column.description))
    if examples and column.samples:
        parts.append("e.g. " + ", ".join(str(v) for v in column.samples[:examples]))
    return " ".join(parts)


@register
class EmbeddingReducer(Stage):
    """Writes ``schema_subset``: the columns nearest the question by embedding, and their tables."""

    name = "embedding_reducer"
    kind = "reduce"
    method = "embedding"
    inputs = ("question", "db_id")
    outputs = ("schema_subset",)
    needs = frozenset({"databases", "embedder"})
    Params = EmbeddingReducerParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._columns: dict[tuple[int, str], tuple[list[tuple[str, str]], Any]] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    def check_context(self, ctx: RunContext | None) -> None:
        super().check_context(ctx)
        if ctx is not None and ctx.embedder is None and ctx.llm is None:
            from sqlfoundry.core.errors import ConfigError

            raise ConfigError(
                f"stage {self.name} needs embeddings: the local embedder or an LLM endpoint",
                hint="install sqlfoundry[embed], or configure [llm] for /v1/embeddings",
            )

    async def _index(self, ctx: RunContext, db_id: str) -> tuple[list[tuple[str, str]], Any]:
        key = (id(ctx.databases), db_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._columns:
                schema: Schema = ctx.schema(db_id, sample_values=max(self.params.examples, 1))
                names = [(t.name, c.name) for t in schema.tables for c in t.columns]
                docs = [column_document(t.name, c, self.params.examples)
                        for t in schema.tables for c in t.columns]  # fmt: skip
                self._columns[key] = (names, await embed(ctx, docs, self.name))
        return self._columns[key]

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        names, vectors = await self._index(ctx, sample.db_id)
        if not names:
            sample.schema_subset = {}
            return
        query = (await embed(ctx, [sample.question or ""], self.name))[0]
        keep = self.params.top_k
        if self.params.keep_ratio is not None:
            keep = max(keep, math.ceil(self.params.keep_ratio * len(names)))
        subset: dict[str, list[str]] = {}
        for index, _ in top_k(query, vectors, min(keep, len(names))):
            table, column = names[index]
            subset.setdefault(table, []).append(column)
        # Tables keep their schema order, so the rendered DDL reads as the database does.
        order = {t: i for i, (t, _) in enumerate(names)}
        sample.schema_subset = {t: subset[t] for t in sorted(subset, key=order.__getitem__)}
