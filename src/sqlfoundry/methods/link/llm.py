"""``llm_linker``: one prompt names the tables, columns and literal values a question needs.

The answer is a JSON object ``{"tables", "columns", "values"}`` (template
``schema_linking``); names the schema does not have are dropped and kept in
``meta["unknown_names"]``.
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
from sqlfoundry.methods.link.common import links_from_names, note_unknown
from sqlfoundry.methods.schema_view import SchemaTexts
from sqlfoundry.methods.stage import Stage, StageError
from sqlfoundry.synth.prompt_generator import dialect_name


class LLMLinkerParams(Params):
    """
    Attributes:
        template: the packaged prompt (variables dialect, schema, question, evidence).
        examples: example values per column in the DDL.
    """

    template: str = "schema_linking"
    examples: int = Field(3, ge=0, le=10)


@register
class LLMLinker(Stage):
    """Writes ``schema_links`` from one LLM answer."""

    name = "llm_linker"
    kind = "parse"
    method = "llm"
    inputs = ("question", "db_id")
    uses = ("evidence", "schema_subset")
    outputs = ("schema_links",)
    needs = frozenset({"llm", "databases"})
    Params = LLMLinkerParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.texts = SchemaTexts(self.params.examples)

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        schema = self.texts.schema(ctx, sample)
        messages = render_prompt(
            self.params.template, dialect=dialect_name(schema.dialect),
            schema=self.texts.text(ctx, sample), question=sample.question, evidence=sample.evidence,
        )  # fmt: skip
        (text,) = await ask(ctx, sample, self.name, messages)
        answer = json_of(text, dict, "schema links")
        names = [*_strings(answer.get("tables")), *_strings(answer.get("columns"))]
        if not names:
            raise StageError("unparsable schema links: no tables or columns named", kind="parse",
                             raw=text)  # fmt: skip
        sample.schema_links, unknown = links_from_names(
            schema, names, _strings(answer.get("values"))
        )
        note_unknown(sample, self.name, unknown)


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return []
