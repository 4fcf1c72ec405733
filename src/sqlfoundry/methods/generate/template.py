"""Generators that fill one prompt template and read SQL from the answer.

:class:`TemplateGenerator` renders a packaged template with whatever of these
variables it declares, each taken from the record:

- ``dialect``, ``schema`` (the record's ``schema_subset`` of the database, in
  the generator's schema ``form``), ``question``, ``evidence``, ``db_id``;
- ``links`` (``schema_links`` as DIN-SQL writes them), ``values`` (the database
  values CHESS's retrieval found), ``sub_questions`` (from a decomposer);

then asks for ``n`` completions and reads the SQL of each. With ``n`` > 1 the
parsable answers go to ``candidates`` (``pred_sql`` is the first), which is how
self-consistency asks once for several samples.

``zero_shot_generator`` is the plain case: the ``text2sql`` prompt (DDL with
example values, evidence, question), the same one sqlfoundry's synthesis writes
as the training prompt.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.templates import load_template
from sqlfoundry.methods.calls import ask, sql_of
from sqlfoundry.methods.schema_view import SchemaTexts, format_links
from sqlfoundry.methods.stage import Stage, StageError, add_error
from sqlfoundry.synth.prompt_generator import dialect_name

KNOWN_VARIABLES = frozenset(
    {"dialect", "schema", "question", "evidence", "db_id", "links", "values", "sub_questions"}
)


class GeneratorParams(Params):
    """
    Attributes:
        template: the packaged prompt to fill (see the module doc for its variables).
        n: completions asked for in one request; more than 1 fills ``candidates``.
        temperature: sampling temperature (the ``[llm]`` setting when unset).
        max_tokens: answer length limit (the ``[llm]`` setting when unset).
        examples: example values per column in the schema text.
    """

    template: str = "text2sql"
    n: int = Field(1, ge=1, le=64)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1)
    examples: int = Field(3, ge=0, le=10)


def values_text(sample: Sample) -> str:
    """``table.column: 'value'`` lines for the values CHESS's retrieval found."""
    lines = []
    for hit in sample.meta.get("retrieved_values") or ():
        lines.append(
            f"{hit['table']}.{hit['column']}: {json.dumps(hit['value'], ensure_ascii=False)}"
        )
    return "\n".join(lines)


def sub_questions_text(sample: Sample) -> str:
    """The decomposition's sub-questions of ``sample`` as JSON, or an empty string."""
    found = (sample.meta.get("decomposition") or {}).get("sub_questions") or []
    return json.dumps(found, ensure_ascii=False) if found else ""


class TemplateGenerator(Stage):
    """Fill ``params.template`` from the record, ask, read the SQL (module doc)."""

    kind = "generate"
    inputs: ClassVar[tuple[str, ...]] = ("question", "db_id")
    uses: ClassVar[tuple[str, ...]] = ("evidence", "schema_subset", "schema_links")
    outputs: ClassVar[tuple[str, ...]] = ("pred_sql", "candidates")
    needs = frozenset({"llm", "databases"})
    Params = GeneratorParams
    # The schema text's form: ddl, din or mac (schema_view.FORMS).
    schema_form: ClassVar[str] = "ddl"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.template = load_template(self.params.template)  # a bad name fails here
        unknown = set(self.template.variables) - KNOWN_VARIABLES - set(self.extra_variables())
        if unknown:
            from sqlfoundry.core.errors import ConfigError

            raise ConfigError(
                f"template {self.template.name!r} needs {', '.join(sorted(unknown))}, which "
                f"{self.name} cannot fill",
                hint=f"a generator fills {', '.join(sorted(KNOWN_VARIABLES))}",
            )
        self.texts = SchemaTexts(self.params.examples)

    def extra_variables(self) -> tuple[str, ...]:
        """Variables a subclass fills itself (see :meth:`extra_values`)."""
        return ()

    async def extra_values(self, sample: Sample, ctx: RunContext) -> dict[str, Any]:
        """Values a subclass adds to the template for ``sample`` (none here)."""
        return {}

    async def messages(
        self, sample: Sample, ctx: RunContext, template=None
    ) -> list[dict[str, str]]:
        """The chat messages for ``sample`` (``template`` defaults to the generator's)."""
        template = template or self.template
        wanted = set(template.variables)
        values: dict[str, Any] = {}
        if "dialect" in wanted:
            values["dialect"] = dialect_name(self.texts.schema(ctx, sample).dialect)
        if "schema" in wanted:
            values["schema"] = self.texts.text(ctx, sample, self.schema_form)
        if "question" in wanted:
            values["question"] = sample.question
        if "evidence" in wanted:
            values["evidence"] = sample.evidence
        if "db_id" in wanted:
            values["db_id"] = sample.db_id
        if "links" in wanted:
            values["links"] = format_links(sample.schema_links) or "[]"
        if "values" in wanted:
            values["values"] = values_text(sample)
        if "sub_questions" in wanted:
            values["sub_questions"] = sub_questions_text(sample)
        values.update(await self.extra_values(sample, ctx))
        return template.render(**{k: v for k, v in values.items() if k in wanted})

    async def answers(self, sample: Sample, ctx: RunContext, template=None) -> list[str]:
        """The ``n`` raw answers for ``sample``."""
        return await ask(ctx, sample, self.name, await self.messages(sample, ctx, template),
                         n=self.params.n, temperature=self.params.temperature,
                         max_tokens=self.params.max_tokens)  # fmt: skip

    def read_answers(self, sample: Sample, texts: list[str]) -> list[str]:
        """The SQL of each answer that parses; StageError when none does (others noted)."""
        found, problems = [], []
        for text in texts:
            try:
                found.append(sql_of(text, "SQL answer"))
            except StageError as err:
                problems.append(err)
        if not found:
            first = problems[0]
            raise StageError(first.message, kind=first.kind, raw=first.raw)
        for err in problems:  # some samples parsed: the others are noted, not fatal
            add_error(sample, self.name, err.message, kind=err.kind, raw=err.raw)
        return found

    async def generate(self, sample: Sample, ctx: RunContext, template=None) -> list[str]:
        """Ask ``n`` completions and return the SQL of each that parses."""
        return self.read_answers(sample, await self.answers(sample, ctx, template))

    def keep(self, sample: Sample, found: list[str]) -> None:
        """``pred_sql`` is the first SQL; with ``n`` > 1 all of them join ``candidates``."""
        sample.pred_sql = found[0]
        if self.params.n > 1:
            sample.candidates = [*sample.candidates, *found]

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        self.keep(sample, await self.generate(sample, ctx))


@register
class ZeroShotGenerator(TemplateGenerator):
    """Writes ``pred_sql`` from the ``text2sql`` prompt: DDL with example values, evidence, question."""

    name = "zero_shot_generator"
    method = "zero_shot"
