"""``lexical_linker``: schema linking with no model.

Reuses the offline method's readers (:mod:`sqlfoundry.methods.retrieval`):

- names and synonyms: :class:`~sqlfoundry.methods.retrieval.linking.SchemaLexicon`
  links the question's terms to tables and columns through their English names
  (nouns, roles, readable names, descriptions, superlatives such as "oldest" ->
  age); a table or column whose name the question uses at least ``threshold``
  of is linked;
- database values: :func:`~sqlfoundry.methods.retrieval.values.find_values`
  finds the question's quoted strings, numbers and values stored in the
  database; a stored value links the column holding it;
- the foreign keys joining the linked tables are listed in ``joins`` and their
  columns linked.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.retrieval.linking import SchemaLexicon, terms
from sqlfoundry.methods.retrieval.values import ValueIndex, find_values
from sqlfoundry.methods.stage import Stage


class LexicalLinkerParams(Params):
    """
    Attributes:
        threshold: the share of a name's words the question must use for a link.
        values: look the question's words up among the database's values.
    """

    threshold: float = Field(0.99, gt=0.0, le=1.0)
    values: bool = True


class _Lexicons:
    """Per database: its lexicon and value index, built once (thread-safe)."""

    def __init__(self) -> None:
        self._built: dict[tuple[int, str], tuple[Schema, SchemaLexicon, ValueIndex | None]] = {}
        self._lock = threading.Lock()

    def get(self, ctx: RunContext, db_id: str, values: bool):
        key = (id(ctx.databases), db_id)
        with self._lock:
            if key not in self._built:
                schema = ctx.schema(db_id, sample_values=5)
                index = None
                if values:
                    with ctx.databases.open(db_id) as database:
                        index = ValueIndex.build(database, schema)
                self._built[key] = (schema, SchemaLexicon(schema), index)
            return self._built[key]


@register
class LexicalLinker(Stage):
    """Writes ``schema_links`` from the question's words and values; no model."""

    name = "lexical_linker"
    kind = "parse"
    method = "lexical"
    inputs = ("question", "db_id")
    outputs = ("schema_links",)
    needs = frozenset({"databases"})
    Params = LexicalLinkerParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._lexicons = _Lexicons()

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        schema, lexicon, index = await asyncio.to_thread(
            self._lexicons.get, ctx, sample.db_id, self.params.values
        )
        sample.schema_links = link_question(sample.question or "", schema, lexicon, index,
                                            self.params.threshold)  # fmt: skip


def link_question(
    question: str,
    schema: Schema,
    lexicon: SchemaLexicon,
    index: ValueIndex | None,
    threshold: float = 0.99,
) -> dict[str, list[str]]:
    """The ``schema_links`` of one question (see the module doc)."""
    links = lexicon.link(terms(question), question)
    names = {t.name.lower(): t for t in schema.tables}
    tables: list[str] = []
    columns: list[str] = []

    def add_column(table_key: str, column_key: str) -> None:
        table = names.get(table_key)
        column = table.column(column_key) if table else None
        if table is None or column is None:
            return
        if table.name not in tables:
            tables.append(table.name)
        name = f"{table.name}.{column.name}"
        if name not in columns:
            columns.append(name)

    for table_key, strength in sorted(links.tables.items(), key=lambda kv: -kv[1]):
        if strength >= threshold and table_key in names and names[table_key].name not in tables:
            tables.append(names[table_key].name)
    for (table_key, column_key), strength in sorted(links.columns.items(), key=lambda kv: -kv[1]):
        if strength >= threshold:
            add_column(table_key, column_key)
    values: list[str] = []
    for value in find_values(question, index):
        if value.text not in values:
            values.append(value.text)
        for table_key, column_key in sorted(value.columns):
            add_column(table_key, column_key)
    joins = []
    kept = {t.lower() for t in tables}
    for t, c, rt, rc in schema.foreign_key_pairs():
        if t.lower() in kept and rt.lower() in kept and t.lower() != rt.lower():
            joins.append(f"{t}.{c} = {rt}.{rc}")
            add_column(t.lower(), c.lower())
            add_column(rt.lower(), rc.lower())
    out: dict[str, list[str]] = {"tables": tables, "columns": columns, "values": values}
    if joins:
        out["joins"] = joins
    return out
