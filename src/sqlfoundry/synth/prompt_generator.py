"""PromptGenerator: the training prompt for each record, from a format file.

A format is a template in the ``sqlfoundry.llm`` template syntax: an optional
``# name / # variables / # optional`` header, ``@user`` (and possibly
``@system``) sections, and the placeholders ``$dialect``, ``$schema``,
``$evidence`` and ``$question``. The built-in ones are the files in
``sqlfoundry/synth/formats/`` (``omnisql``, ``plain``); ``template`` may also be
the path of a user's file: a full template, or plain text with placeholders
(a file without ``@user`` / ``@system`` lines is one user section). A paragraph holding ``$evidence`` is left out when a
record has no evidence. The template is read and checked when the operator is
built, so a typo in a placeholder stops the run before any work.

A built-in format ``NAME`` that asks for reasoning before the SQL has an SQL-only
twin ``NAME_sql`` (``omnisql`` / ``omnisql_sql``) that differs only in fixed
paragraphs; :func:`sql_only_prompt` turns a prompt rendered from the one into the
prompt the other would render, which is what a training export answering with the
SQL alone needs.

The schema is DDL with example values (:func:`sqlfoundry.db.render.to_ddl`),
rendered once per database (or per table subset with ``schema_subset_only``).
A record without a question, or whose database the run does not have, is
dropped with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError, TemplateError
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.render import to_ddl
from sqlfoundry.db.schema import Schema
from sqlfoundry.llm.templates import PromptTemplate, parse_template
from sqlfoundry.synth.base import changed_copy, stamp

VARIABLES = ("dialect", "schema", "evidence", "question")
REQUIRED = ("schema", "question")

# How prompts name the engines (the Schema model uses sqlglot-style names).
DIALECT_NAMES = {
    "sqlite": "SQLite",
    "postgres": "PostgreSQL",
    "postgresql": "PostgreSQL",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "duckdb": "DuckDB",
}


def dialect_name(dialect: str | None) -> str:
    """``"sqlite"`` -> ``"SQLite"``, as a prompt writes it."""
    key = (dialect or "sqlite").lower()
    return DIALECT_NAMES.get(key, dialect or "SQLite")


def format_names() -> list[str]:
    """The built-in prompt formats."""
    folder = resources.files("sqlfoundry.synth").joinpath("formats")
    return sorted(e.name[:-4] for e in folder.iterdir() if e.name.endswith(".txt"))


def load_format(template: str) -> PromptTemplate:
    """A built-in format by name, or a template file by path.

    Raises:
        ConfigError: no such format or file, an unknown placeholder, or a format
            without ``$schema`` and ``$question``.
    """
    builtin = resources.files("sqlfoundry.synth").joinpath("formats", f"{template}.txt")
    if builtin.is_file():
        text, source = builtin.read_text(encoding="utf-8"), f"synth/formats/{template}.txt"
    else:
        path = Path(template).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"prompt template {template!r} is neither a built-in format nor a file",
                hint=f"built-in formats: {', '.join(format_names())}",
            )
        text, source = path.read_text(encoding="utf-8"), str(path)
    if not any(line.rstrip() in ("@system", "@user", "@assistant") for line in text.split("\n")):
        text = _headed(text, source)  # a bare prompt: one user section
    parsed = parse_template(text, source=source)
    unknown = sorted(set(parsed.variables) - set(VARIABLES))
    if unknown:
        raise TemplateError(
            f"unknown placeholder(s) {', '.join('$' + u for u in unknown)} in prompt template",
            file=source,
            hint="a prompt format may use $dialect, $schema, $evidence and $question",
        )
    missing = [v for v in REQUIRED if v not in parsed.variables]
    if missing:
        raise TemplateError(
            f"prompt template lacks {', '.join('$' + m for m in missing)}", file=source
        )
    return parsed


SQL_ONLY_SUFFIX = "_sql"


def sql_only_prompt(prompt: str, template: str | None) -> str | None:
    """``prompt``, rendered from the built-in format ``template``, as its SQL-only twin
    would render it (no "reason step by step", no "give your reasoning first").

    Returns:
        The prompt itself when the format asks for the SQL alone already; the
        rewritten prompt; or None when ``template`` is not a built-in format or the
        prompt does not hold the format's fixed paragraphs (edited, or from another
        template of the same name).
    """
    if template is None or template not in format_names():
        return None
    for old, new in _sql_only_edits(template):
        if prompt.count(old) != 1:
            return None
        prompt = prompt.replace(old, new)
    return prompt


@cache
def _sql_only_edits(template: str) -> tuple[tuple[str, str], ...]:
    """The paragraph replacements from ``template`` to ``template_sql`` (none without a twin).

    Raises:
        TemplateError: the two formats differ in more than fixed paragraphs.
    """
    twin = template + SQL_ONLY_SUFFIX
    if template.endswith(SQL_ONLY_SUFFIX) or twin not in format_names():
        return ()
    edits = []
    for (_, cot), (_, sql) in zip(load_format(template).sections, load_format(twin).sections,
                                  strict=True):  # fmt: skip
        before, after = cot.split("\n\n"), sql.split("\n\n")
        matcher = SequenceMatcher(None, before, after, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            old, new = "\n\n".join(before[i1:i2]), "\n\n".join(after[j1:j2])
            if tag != "replace" or "$" in old or "$" in new:
                raise TemplateError(
                    f"{twin} may only replace fixed paragraphs of {template}",
                    file=f"synth/formats/{twin}.txt",
                )
            edits.append((old, new))
    return tuple(edits)


def _headed(text: str, source: str) -> str:
    """A bare template file as one user section, declaring the placeholders it uses."""
    template = Template(text)
    if not template.is_valid():
        raise TemplateError("invalid placeholder (write a literal dollar as $$)", file=source)
    used = [v for v in dict.fromkeys(template.get_identifiers())]
    header = [f"# name: {Path(source).stem}", f"# variables: {', '.join(used)}"]
    if "evidence" in used:
        header.append("# optional: evidence")
    return "\n".join([*header, "@user", text])


class SchemaText:
    """DDL with example values per database (or table subset), rendered once."""

    def __init__(self, examples: int = 3, max_value_chars: int = 40) -> None:
        self.examples = examples
        self.max_value_chars = max_value_chars
        self._cache: dict[tuple, str] = {}

    def schema(self, ctx: RunContext, db_id: str) -> Schema:
        """The database's schema with ``examples`` values per column."""
        return ctx.schema(db_id, sample_values=self.examples)

    def ddl(self, ctx: RunContext, db_id: str, tables: Sequence[str] | None = None) -> str:
        """The database's DDL; only ``tables`` (and the keys between them) when given."""
        subset = tuple(sorted(t.lower() for t in tables)) if tables is not None else None
        # Keyed by the run's database manager too: one operator may serve several runs.
        key = (id(ctx.databases), db_id, subset)
        if key not in self._cache:
            schema = self.schema(ctx, db_id)
            if tables is not None:
                schema = _subset(schema, {t.lower() for t in tables})
            self._cache[key] = to_ddl(
                schema, examples=self.examples, max_chars=self.max_value_chars
            )
        return self._cache[key]


def _subset(schema: Schema, tables: set[str]) -> Schema:
    kept = []
    for table in schema.tables:
        if table.name.lower() not in tables:
            continue
        links = [fk for fk in table.foreign_keys if fk.ref_table.lower() in tables]
        kept.append(table.model_copy(update={"foreign_keys": links}))
    return schema.model_copy(update={"tables": kept})


class PromptParams(Params):
    """
    Attributes:
        template: a built-in format (``omnisql``, ``plain``) or the path of a template file.
        examples: example values shown per column in the DDL.
        max_value_chars: longer example values are cut to this many characters.
        schema_subset_only: render only the tables in the record's ``schema_subset``
            (records without one get the whole schema).
    """

    template: str = "omnisql"
    examples: int = Field(3, ge=0)
    max_value_chars: int = Field(40, ge=4)
    schema_subset_only: bool = False


@register
class PromptGenerator(Operator):
    """Writes ``prompt``: instructions, DDL schema, evidence and question; see the module doc."""

    name = "prompt_generator"
    inputs = ("question", "db_id", "evidence")
    outputs = ("prompt",)
    Params = PromptParams

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.format = load_format(self.params.template)
        self._schemas = SchemaText(self.params.examples, self.params.max_value_chars)

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        for sample in batch:
            if not sample.question or not sample.question.strip():
                out.rejects.append(self.reject(sample, "missing field: question"))
                continue
            if not ctx.has_database(sample.db_id):
                out.rejects.append(self.reject(sample, f"unknown database: {sample.db_id}"))
                continue
            record = changed_copy(sample)
            record.prompt = self.format_input(record, ctx)
            out.samples.append(stamp(record, self.name, "offline", template=self.format.name))
        return out

    def format_input(self, sample: Sample, ctx: RunContext) -> str:
        """The prompt text for one record."""
        tables = None
        if self.params.schema_subset_only and sample.schema_subset:
            tables = list(sample.schema_subset)
        values = {
            "dialect": dialect_name(self._schemas.schema(ctx, sample.db_id).dialect),
            "schema": self._schemas.ddl(ctx, sample.db_id, tables),
            "evidence": (sample.evidence or "").strip(),
            "question": sample.question.strip(),
        }
        used = {k: v for k, v in values.items() if k in self.format.variables}
        return self.format.render_text(**used)
