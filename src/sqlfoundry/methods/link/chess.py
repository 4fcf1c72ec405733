"""CHESS's information retrieval: keywords from the question, then database values for them.

- ``chess_keywords``: the ``chess_keywords`` prompt lists the question's and
  hint's keywords, key phrases and named entities as a Python list; they go to
  ``meta["keywords"]``.
- ``chess_values``: each keyword (or, without keywords, each run of up to three
  words of the question) is looked up in the database's MinHash LSH over its
  text values (:mod:`.value_lsh`, built once per database and cached); the
  values found are added to ``schema_links`` (``values``, and the columns that
  hold them) and listed in ``meta["retrieved_values"]`` for the generator.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.templates import render_prompt
from sqlfoundry.methods.calls import ask, list_of
from sqlfoundry.methods.link.value_lsh import ValueIndexes, require_datasketch
from sqlfoundry.methods.retrieval.linking import STOP_WORDS, words
from sqlfoundry.methods.stage import Stage


@register
class ChessKeywords(Stage):
    """Writes ``meta["keywords"]``: what a search over the database should look for."""

    name = "chess_keywords"
    kind = "parse"
    method = "chess_keywords"
    inputs = ("question",)
    uses = ("evidence",)
    outputs = ("meta.keywords",)
    needs = frozenset({"llm"})

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        messages = render_prompt("chess_keywords", question=sample.question,
                                 evidence=sample.evidence)  # fmt: skip
        (text,) = await ask(ctx, sample, self.name, messages)
        sample.meta["keywords"] = list(dict.fromkeys(list_of(text, "keyword list")))


class ChessValuesParams(Params):
    """
    Attributes:
        min_score: the edit similarity (0..1) a value needs to count as found.
        per_keyword: values kept per keyword.
        cache_dir: where the value indexes are kept (default ``$SQLFOUNDRY_CACHE_DIR/values``).
    """

    min_score: float = Field(0.6, ge=0.0, le=1.0)
    per_keyword: int = Field(3, ge=1, le=50)
    cache_dir: str | None = None


def question_phrases(question: str, longest: int = 3) -> list[str]:
    """Runs of up to ``longest`` words of the question that do not start or end with a stop word."""
    found = words(question)
    out = []
    for n in range(longest, 0, -1):
        for i in range(len(found) - n + 1):
            span = found[i : i + n]
            if span[0] in STOP_WORDS or span[-1] in STOP_WORDS:
                continue
            out.append(" ".join(span))
    return list(dict.fromkeys(out))


@register
class ChessValues(Stage):
    """Adds the database values the question names to ``schema_links`` (MinHash LSH)."""

    name = "chess_values"
    kind = "parse"
    method = "chess_values"
    inputs = ("question", "db_id")
    uses = ("meta.keywords", "schema_links")
    outputs = ("schema_links", "meta.retrieved_values")
    merge = {"schema_links": "union"}
    needs = frozenset({"databases"})
    Params = ChessValuesParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        require_datasketch()  # the extra is checked when the stage is built, before any work
        cache = Path(self.params.cache_dir) if self.params.cache_dir else None
        self.indexes = ValueIndexes(cache)

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        index = await asyncio.to_thread(self.indexes.get, ctx.databases, sample.db_id)
        keywords = sample.meta.get("keywords") or question_phrases(sample.question or "")
        hits = {}
        for keyword in keywords:
            for hit in index.search(str(keyword), min_score=self.params.min_score,
                                    limit=self.params.per_keyword):  # fmt: skip
                key = (hit.table, hit.column, hit.value)
                if key not in hits or hits[key].score < hit.score:
                    hits[key] = hit
        found = sorted(hits.values(), key=lambda h: (-h.score, h.table, h.column, h.value))
        sample.meta["retrieved_values"] = [h.to_dict() for h in found]
        links = dict(sample.schema_links or {"tables": [], "columns": [], "values": []})
        tables = list(links.get("tables") or [])
        columns = list(links.get("columns") or [])
        values = list(links.get("values") or [])
        for hit in found:
            if hit.table not in tables:
                tables.append(hit.table)
            if f"{hit.table}.{hit.column}" not in columns:
                columns.append(f"{hit.table}.{hit.column}")
            if hit.value not in values:
                values.append(hit.value)
        sample.schema_links = {**links, "tables": tables, "columns": columns, "values": values}
