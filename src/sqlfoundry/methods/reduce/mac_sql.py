"""``mac_sql_selector``: MAC-SQL's Selector, pruning a large schema (template ``mac_sql_select``).

When the database has more than ``prune_above`` columns, the model marks each
table ``keep_all``, ``drop_all`` or lists the columns to keep; the answer
becomes ``schema_subset`` (and ``schema_links``: the tables kept and the
columns named). A small schema is kept whole without a call, as MAC-SQL does.
Squrve's ``MACSQLCoTParser``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.templates import render_prompt
from sqlfoundry.methods.calls import ask, json_of
from sqlfoundry.methods.link.common import note_unknown
from sqlfoundry.methods.schema_view import SchemaTexts, column_count, whole_subset
from sqlfoundry.methods.stage import Stage, StageError


class MacSqlSelectorParams(Params):
    """
    Attributes:
        prune_above: schemas with more columns than this are pruned; smaller ones kept whole.
        examples: example values per column in the schema text.
    """

    prune_above: int = Field(30, ge=0)
    examples: int = Field(3, ge=0, le=10)


@register
class MacSqlSelector(Stage):
    """Writes ``schema_subset`` (and ``schema_links``) from MAC-SQL's keep / drop answer."""

    name = "mac_sql_selector"
    kind = "reduce"
    method = "mac_sql"
    inputs = ("question", "db_id")
    uses = ("evidence",)
    outputs = ("schema_subset", "schema_links")
    needs = frozenset({"llm", "databases"})
    Params = MacSqlSelectorParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.texts = SchemaTexts(self.params.examples)

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        schema = self.texts.schema(ctx, sample, use_subset=False)
        if column_count(schema) <= self.params.prune_above:
            sample.schema_subset = whole_subset(schema)
            sample.meta["selector"] = "kept whole: small schema"
            return
        messages = render_prompt(
            "mac_sql_select", db_id=sample.db_id, question=sample.question,
            schema=self.texts.text(ctx, sample, "mac", use_subset=False), evidence=sample.evidence,
        )  # fmt: skip
        (text,) = await ask(ctx, sample, self.name, messages)
        answer = json_of(text, dict, "table selection")
        subset: dict[str, list[str]] = {}
        columns: list[str] = []
        unknown: list[str] = []
        for name, choice in answer.items():
            table = schema.table(str(name))
            if table is None:
                unknown.append(str(name))
                continue
            if choice == "keep_all":
                subset[table.name] = [c.name for c in table.columns]
            elif isinstance(choice, list):
                kept = []
                for col in choice:
                    column = table.column(str(col))
                    if column is None:
                        unknown.append(f"{table.name}.{col}")
                    else:
                        kept.append(column.name)
                        columns.append(f"{table.name}.{column.name}")
                if kept:
                    subset[table.name] = kept
            elif choice != "drop_all":
                unknown.append(f"{name}: {choice!r}")
        if not subset:
            raise StageError("unparsable table selection: no table kept", kind="parse", raw=text)
        order = {t.name: i for i, t in enumerate(schema.tables)}
        sample.schema_subset = {t: subset[t] for t in sorted(subset, key=order.__getitem__)}
        sample.schema_links = {"tables": list(sample.schema_subset), "columns": columns,
                               "values": []}  # fmt: skip
        note_unknown(sample, self.name, unknown)
