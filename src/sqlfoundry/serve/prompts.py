"""Prompt rendering per service type, from template files in ``serve/prompts/``.

- ``base``: ``Question: … <sep> Tables: t: c1 , c2 ; … <sep>`` (one string);
- ``seq2seq``: the same with ``; primary keys: … ; foreign keys: …`` after the tables;
- ``openai`` ``v1``: Codex-style ``# Table t, columns = [ … ]`` lines, the question, ``SELECT``;
- ``openai`` ``v2``: an instruction, the tables as DDL (descriptions and example
  values in comments), the question, ``SQL:``.

A service may name its own template file (the ``sqlfoundry.llm.templates``
format); it can use ``question``, ``schema``, ``dialect``, ``evidence`` and
``db_id``, with the schema rendered as ``schema_format`` (``ddl`` by default).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.db.render import to_codex, to_compact, to_ddl
from sqlfoundry.db.schema import Schema
from sqlfoundry.llm.templates import PromptTemplate, parse_template
from sqlfoundry.serve.config import ServiceConfig

VARIABLES = frozenset({"question", "schema", "dialect", "evidence", "db_id"})

DIALECT_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MySQL", "duckdb": "DuckDB"}


def builtin_template(name: str) -> PromptTemplate:
    """One of ``base``, ``seq2seq``, ``openai_v1``, ``openai_v2``."""
    folder = resources.files("sqlfoundry.serve").joinpath("prompts")
    entry = folder.joinpath(f"{name}.txt")
    return parse_template(entry.read_text(encoding="utf-8"), source=f"serve/prompts/{name}.txt")


def _template_for(service: ServiceConfig) -> tuple[PromptTemplate, str]:
    """The service's template and the schema format it wants."""
    if service.template is not None:
        path = Path(service.template)
        template = parse_template(path.read_text(encoding="utf-8"), source=str(path))
        unknown = set(template.variables) - VARIABLES
        if unknown:
            raise ConfigError(
                f"template {path} uses {', '.join(sorted(unknown))}, which the gateway cannot fill",
                hint=f"use only {', '.join(sorted(VARIABLES))}",
            )
        return template, service.schema_format or "ddl"
    if service.type in ("base", "seq2seq"):
        return builtin_template(service.type), service.schema_format or "compact"
    name = f"openai_{service.version}"
    return builtin_template(name), service.schema_format or (
        "codex" if service.version == "v1" else "ddl"
    )


class PromptBuilder:
    """Renders one service's prompt; built once per service, used for every request.

    Raises:
        ConfigError: the template file is malformed or uses unknown variables.
    """

    def __init__(self, service: ServiceConfig) -> None:
        self.template, self.schema_format = _template_for(service)
        self.keys = service.type != "base"
        self.examples = service.examples
        self.dialect = DIALECT_NAMES.get(service.dialect, service.dialect)
        # Codex-style prompts end in SELECT: the model's answer continues it.
        self.answer_prefix = "SELECT" if self.template.name == "openai_v1" else None

    def schema_text(self, schema: Schema) -> str:
        """The schema as this service's prompt shows it."""
        if self.schema_format == "compact":
            return to_compact(schema, keys=self.keys)
        if self.schema_format == "codex":
            return to_codex(schema, keys=True)
        return to_ddl(schema, examples=self.examples)

    def messages(
        self,
        question: str,
        schema_text: str,
        *,
        evidence: str | None = None,
        db_id: str | None = None,
    ) -> list[dict[str, str]]:
        """The chat messages the upstream model is sent for ``question`` over ``schema_text``."""
        values = {
            "question": " ".join(question.split()),
            "schema": schema_text,
            "dialect": self.dialect,
            "evidence": evidence,
            "db_id": db_id,
        }
        # Empty rather than None: an optional variable's paragraph is dropped, a required
        # one (a custom template's db_id, say) renders empty for DDL-only requests.
        wanted = set(self.template.variables)
        return self.template.render(**{k: v or "" for k, v in values.items() if k in wanted})

    def text(self, messages: list[dict[str, str]]) -> str:
        """The prompt as one string, for ``/completions`` upstreams."""
        return "\n\n".join(m["content"] for m in messages)
