"""SQL-o1's schema-aware prompt: one template, rendered the same at training and at inference.

The prompt (template ``sqlo1`` in the prompt library) holds the instruction, a
``CREATE TABLE`` line per table with coarse types and the real primary and
foreign keys, the first rows of each table (3 for Spider-like data, 1 for BIRD;
long strings cut), the hint (BIRD's evidence), the question, and last the
incomplete SQL query: empty for a whole query, a prefix of one for progressive
SQL generation and for every step of the tree search. Because the incomplete
query is the last line, :func:`with_incomplete` puts a prefix into a rendered
prompt and gives exactly what rendering with that prefix would give.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlfoundry.core.errors import DatabaseError, TemplateError
from sqlfoundry.db.render import rows_text, to_coarse_ddl
from sqlfoundry.llm.templates import load_template
from sqlfoundry.sql.parse import sqlglot_dialect

TEMPLATE = "sqlo1"
# The last line of a prompt whose incomplete query is empty.
SLOT = "The incomplete SQL query:"
# Rows per table: SQL-o1's choice for Spider-like data and for BIRD's wide, long-valued tables.
ROWS_SPIDER = 3
ROWS_BIRD = 1
MAX_CHARS = 100

_DIALECT_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MySQL"}


@dataclass(frozen=True)
class SchemaText:
    """What the prompt shows of one database."""

    db_id: str
    dialect: str
    schema: str
    sample_rows: str


def render(
    schema: SchemaText, question: str, evidence: str | None = None, incomplete_sql: str = ""
) -> str:
    """The prompt text for a question (one user message)."""
    return load_template(TEMPLATE).render_text(
        dialect=_DIALECT_NAMES.get(schema.dialect, schema.dialect),
        schema=schema.schema,
        sample_rows=schema.sample_rows,
        evidence=evidence,
        question=question,
        incomplete_sql=incomplete_sql.strip(),
    )


def with_incomplete(prompt: str, prefix: str) -> str:
    """A rendered prompt (empty incomplete query) with ``prefix`` as its incomplete query.

    Raises:
        TemplateError: ``prompt`` does not end with the empty incomplete-query slot.
    """
    check_prompt(prompt)
    prefix = prefix.strip()
    return f"{prompt}\n{prefix}" if prefix else prompt


def completion_prompt(prompt: str, prefix: str) -> str:
    """The raw text a base model continues through ``/v1/completions``: the prompt with the
    prefix on its last line; for an empty prefix, the line break the query starts after."""
    check_prompt(prompt)
    return f"{prompt}\n{prefix.strip()}"


def check_prompt(prompt: str) -> None:
    """Raise TemplateError unless ``prompt`` is a rendered ``sqlo1`` prompt with an empty slot."""
    if not prompt.rstrip("\n").endswith(SLOT):
        raise TemplateError(
            "the prompt is not SQL-o1's schema-aware prompt with an empty incomplete query",
            hint=f"its last line must be {SLOT!r}; render it with sqlfoundry prepare-sft",
        )


def messages(prompt_text: str) -> list[dict[str, str]]:
    """The chat messages of a prompt: one user message, as at training."""
    return [{"role": "user", "content": prompt_text}]


class SchemaPrompts:
    """The schema text of each database, read once (schema and first rows) and shared.

    Args:
        databases: a ``DatabaseManager``.
        rows: rows shown per table.
        max_chars: longer strings in those rows are cut.
    """

    def __init__(self, databases: Any, rows: int = ROWS_SPIDER, max_chars: int = MAX_CHARS):
        self.databases = databases
        self.rows = rows
        self.max_chars = max_chars
        self._texts: dict[str, SchemaText] = {}
        self._lock = threading.Lock()

    def get(self, db_id: str) -> SchemaText:
        """The schema text of ``db_id``; raises DatabaseNotFoundError / DatabaseError."""
        with self._lock:
            text = self._texts.get(db_id)
            if text is None:
                text = self._texts[db_id] = self._read(db_id)
            return text

    def prompt(self, db_id: str, question: str, evidence: str | None = None) -> str:
        """The prompt for a question, with an empty incomplete query."""
        return render(self.get(db_id), question, evidence)

    def _read(self, db_id: str) -> SchemaText:
        schema = self.databases.schema(db_id, sample_values=0)
        blocks = []
        if not self.rows:
            return SchemaText(db_id=db_id, dialect=schema.dialect, schema=to_coarse_ddl(schema),
                              sample_rows="(none shown)")  # fmt: skip
        with self.databases.open(db_id) as db:
            dialect = sqlglot_dialect(db.dialect)
            for table in schema.tables:
                query = exp.select("*").from_(exp.to_table(table.name, quoted=True))
                sql = query.limit(self.rows).sql(dialect=dialect)
                result = db.execute(sql, max_rows=self.rows)
                if not result.ok:
                    raise DatabaseError(
                        f"cannot read the first rows of {table.name}: {result.error}",
                        db_id=db_id,
                        sql=sql,
                    )
                blocks.append(rows_text(table, result.rows, max_chars=self.max_chars))
        return SchemaText(db_id=db_id, dialect=schema.dialect, schema=to_coarse_ddl(schema),
                          sample_rows="\n\n".join(blocks))  # fmt: skip


_SHARED: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], SchemaPrompts]] = (
    weakref.WeakKeyDictionary()
)
_SHARED_LOCK = threading.Lock()


def schema_prompts(
    databases: Any, rows: int = ROWS_SPIDER, max_chars: int = MAX_CHARS
) -> SchemaPrompts:
    """The :class:`SchemaPrompts` of ``databases`` for these settings, one per manager, so
    the steps of a run (and the runs of a process) read each database once."""
    with _SHARED_LOCK:
        per_manager = _SHARED.setdefault(databases, {})
        if (rows, max_chars) not in per_manager:
            per_manager[(rows, max_chars)] = SchemaPrompts(databases, rows, max_chars)
        return per_manager[(rows, max_chars)]


def default_rows(benchmark_id: str | None) -> int:
    """Rows per table for a benchmark: 1 for BIRD, 3 otherwise (SQL-o1's choice)."""
    return ROWS_BIRD if benchmark_id and benchmark_id.startswith("bird") else ROWS_SPIDER


__all__ = [
    "MAX_CHARS",
    "ROWS_BIRD",
    "ROWS_SPIDER",
    "SLOT",
    "TEMPLATE",
    "SchemaPrompts",
    "SchemaText",
    "check_prompt",
    "completion_prompt",
    "default_rows",
    "messages",
    "render",
    "schema_prompts",
    "with_incomplete",
]
