"""``din_sql_linker``: DIN-SQL's schema linking (template ``din_sql_link``).

The model reasons phrase by phrase in the pattern of the prompt's examples and
ends with ``Schema_links: [t.a, t.b = u.c, 'Canada', 20]``. Items of that list
are read as: a ``t.a = u.b`` pair is a join (both columns linked), a name the
schema has is a table (``t.*``) or a column, anything else is a value.
Squrve's ``DINSQLCoTParser``.
"""

from __future__ import annotations

from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.schema import Schema
from sqlfoundry.llm.parse import strip_thinking
from sqlfoundry.llm.templates import render_prompt
from sqlfoundry.methods.calls import ask
from sqlfoundry.methods.link.common import links_from_names, note_unknown
from sqlfoundry.methods.schema_view import SchemaTexts, resolve
from sqlfoundry.methods.stage import Stage, StageError

MARKER = "schema_links:"


def split_items(text: str) -> list[str]:
    """The comma-separated items of a bracketed list; commas inside quotes stay."""
    body = text.strip()
    if body.startswith("["):
        body = body[1:]
    if body.endswith("]"):
        body = body[:-1]
    items, current, quote = [], [], ""
    for ch in body:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ",":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    return [i for i in items if i]


def links_list(text: str) -> list[str]:
    """The items of the last ``Schema_links: [...]`` line of an answer.

    Raises:
        StageError: no such line.
    """
    body = strip_thinking(text or "")
    for line in reversed(body.splitlines()):
        low = line.lower()
        at = low.find(MARKER)
        if at >= 0:
            rest = line[at + len(MARKER) :].strip()
            if rest.startswith("="):
                rest = rest[1:].strip()
            return split_items(rest)
    raise StageError("unparsable schema links: no 'Schema_links: [...]' line", kind="parse",
                     raw=text)  # fmt: skip


def read_links(schema: Schema, items: list[str]) -> tuple[dict[str, list], list[str]]:
    """``schema_links`` from a DIN-SQL list, and the dotted names the schema lacks."""
    names: list[str] = []
    joins: list[str] = []
    values: list[Any] = []
    unknown: list[str] = []
    for item in items:
        left, eq, right = item.partition("=")
        if eq and "." in left and "." in right:
            _, cols, bad = resolve(schema, [left.strip(), right.strip()])
            if len(cols) == 2:
                joins.append(f"{cols[0]} = {cols[1]}")
                names.extend(cols)
            else:
                unknown.extend(bad)
            continue
        if _is_value(item):
            values.append(item.strip().strip("'\""))
            continue
        tables, cols, bad = resolve(schema, [item])
        if tables or cols:
            names.append(item)
        elif "." in item and schema.table(item.rpartition(".")[0].strip('`"')) is not None:
            unknown.extend(bad)
        else:
            values.append(item.strip("'\""))
    links, more_unknown = links_from_names(schema, names, values, joins)
    return links, unknown + more_unknown


def _is_value(item: str) -> bool:
    text = item.strip()
    if text[:1] in "'\"":
        return True
    try:
        float(text)
        return True
    except ValueError:
        return False


@register
class DinSqlLinker(Stage):
    """Writes ``schema_links`` (with ``joins``) by DIN-SQL's chain-of-thought linking."""

    name = "din_sql_linker"
    kind = "parse"
    method = "din_sql"
    inputs = ("question", "db_id")
    uses = ("evidence", "schema_subset")
    outputs = ("schema_links",)
    needs = frozenset({"llm", "databases"})

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.texts = SchemaTexts(examples=0)

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        messages = render_prompt("din_sql_link", schema=self.texts.text(ctx, sample, "din"),
                                 question=sample.question, evidence=sample.evidence)  # fmt: skip
        (text,) = await ask(ctx, sample, self.name, messages)
        links, unknown = read_links(self.texts.schema(ctx, sample), links_list(text))
        sample.schema_links = links
        note_unknown(sample, self.name, unknown)
