"""PromptGenerator on the demo databases: the exact prompt, formats, template files."""

from __future__ import annotations

from pathlib import Path

import pytest
from synth_testing import run

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.prompt_generator import PromptGenerator, dialect_name, format_names

OMNISQL_AUTHORS = """\
Task Overview:
You are an expert in data analysis and SQL. You are given the schema of a database and a question asked in plain language. Read the schema carefully, then write one valid SQL query that answers the question.

Database Engine:
SQLite

Database Schema:
CREATE TABLE authors (
    author_id INTEGER, -- example: [1, 2, 3]
    first_name TEXT, -- example: ['Aisha', 'Lucas', 'Hana']
    last_name TEXT, -- example: ['Smith', 'Fischer', 'Johansson']
    birth_year INTEGER, -- example: [1967, 1992, 1928]
    country TEXT, -- example: ['Brazil', 'United States', 'Argentina']
    PRIMARY KEY (author_id)
);
These statements describe the tables and their columns, the primary and foreign keys that link them, and a few example values of each column.

External Knowledge:
born after 1970 means birth_year > 1970

Question:
Which authors from Japan were born after 1970?

Instructions:
- Return exactly what the question asks for: select only the columns it needs, and leave out anything it does not ask about.
- Leave nothing out either: every value, condition and ordering the question mentions must be in the query.
- Use only the tables and columns that appear in the schema, and write literal values in the form the example values show.
- Before writing the final query, reason step by step about which tables, joins, conditions and aggregations the question needs.

Output Format:
Give your reasoning first, then the final SQL query in a single code block:
```sql
-- the SQL query
```

Think it through one step at a time to reach the correct SQL query."""


def authors_record(**update) -> Sample:
    fields = {
        "id": "a1",
        "db_id": "bookshop",
        "question": "Which authors from Japan were born after 1970?",
        "evidence": "born after 1970 means birth_year > 1970",
        "sql": "SELECT first_name FROM authors WHERE country = 'Japan' AND birth_year > 1970",
        "schema_subset": {"authors": ["first_name", "country", "birth_year"]},
    }
    fields.update(update)
    return Sample(**fields)


def test_the_exact_omnisql_prompt_for_a_demo_record(demo_ctx):
    out = run(PromptGenerator(schema_subset_only=True).process([authors_record()], demo_ctx))
    record = out.samples[0]
    assert record.prompt == OMNISQL_AUTHORS
    assert record.meta["provenance"] == [
        {"operator": "prompt_generator", "engine": "offline", "template": "omnisql"}
    ]
    assert record.sql == authors_record().sql  # nothing else changes


def test_without_evidence_its_section_is_left_out(demo_ctx):
    out = run(PromptGenerator(schema_subset_only=True).process([authors_record(evidence=None)],
                                                               demo_ctx))  # fmt: skip
    prompt = out.samples[0].prompt
    assert "External Knowledge" not in prompt
    assert "\n\n\n" not in prompt
    assert prompt.replace("Question:\n", "") == OMNISQL_AUTHORS.replace(
        "External Knowledge:\nborn after 1970 means birth_year > 1970\n\n", ""
    ).replace("Question:\n", "")


def test_plain_format_and_the_whole_schema(demo_ctx):
    op = build("prompt_generator", {"template": "plain", "examples": 1})
    out = run(op.process([authors_record(evidence=None)], demo_ctx))
    prompt = out.samples[0].prompt
    assert prompt.startswith("SQLite database schema:\nCREATE TABLE authors (\n")
    assert prompt.endswith(
        "Question: Which authors from Japan were born after 1970?\n\n"
        "Answer with one SQLite SQL query in a ```sql block."
    )
    assert prompt.count("CREATE TABLE") == 7  # schema_subset_only is off: every table
    assert "    first_name TEXT, -- example: ['Aisha']" in prompt  # one example value per column
    assert (
        "    CONSTRAINT fk_books_author_id FOREIGN KEY (author_id) REFERENCES authors (author_id)"
        in prompt
    )


def test_subset_keeps_only_links_between_kept_tables(demo_ctx):
    record = authors_record(schema_subset={"books": ["title"], "publishers": ["name"]})
    prompt = (
        run(PromptGenerator(schema_subset_only=True).process([record], demo_ctx)).samples[0].prompt
    )
    assert prompt.count("CREATE TABLE") == 2
    assert "REFERENCES publishers (publisher_id)" in prompt
    assert "REFERENCES authors" not in prompt  # authors is not in the subset


def test_records_without_question_or_database_are_dropped(demo_ctx):
    batch = [authors_record(id="q", question="  "), authors_record(id="d", db_id="nope"),
             authors_record(id="ok")]  # fmt: skip
    out = run(PromptGenerator().process(batch, demo_ctx))
    assert [s.id for s in out.samples] == ["ok"]
    assert {r.sample.id: r.reason for r in out.rejects} == {
        "q": "missing field: question",
        "d": "unknown database: nope",
    }


def test_schema_is_rendered_once_per_database(demo_ctx):
    op = PromptGenerator()
    batch = [authors_record(id=str(i), db_id=db) for i, db in
             enumerate(["bookshop", "clinic", "bookshop", "clinic", "airline"])]  # fmt: skip
    out = run(op.process(batch, demo_ctx))
    assert len(out.samples) == 5
    assert len(op._schemas._cache) == 3
    assert (
        out.samples[0].prompt.split("Question:")[0] == out.samples[2].prompt.split("Question:")[0]
    )


def test_a_users_template_file(demo_ctx, tmp_path: Path):
    bare = tmp_path / "mine.txt"
    bare.write_text("### $dialect schema\n$schema\n\nHint: $evidence\n\n### Q: $question\n### SQL:")
    op = PromptGenerator(template=str(bare), examples=0, schema_subset_only=True)
    out = run(op.process([authors_record(evidence=None)], demo_ctx))
    assert out.samples[0].prompt == (
        "### SQLite schema\nCREATE TABLE authors (\n    author_id INTEGER,\n    first_name TEXT,\n"
        "    last_name TEXT,\n    birth_year INTEGER,\n    country TEXT,\n"
        "    PRIMARY KEY (author_id)\n);\n\n"
        "### Q: Which authors from Japan were born after 1970?\n### SQL:"
    )
    assert out.samples[0].meta["provenance"][-1]["template"] == "mine"


def test_bad_templates_fail_when_the_operator_is_built(tmp_path: Path):
    typo = tmp_path / "typo.txt"
    typo.write_text("$schema\n$questoin")
    with pytest.raises(ConfigError, match=r"unknown placeholder\(s\) \$questoin"):
        PromptGenerator(template=str(typo))
    no_question = tmp_path / "noq.txt"
    no_question.write_text("$schema only")
    with pytest.raises(ConfigError, match=r"lacks \$question"):
        PromptGenerator(template=str(no_question))
    with pytest.raises(ConfigError, match="neither a built-in format nor a file"):
        PromptGenerator(template="omnisq")
    with pytest.raises(ConfigError, match="bad parameters"):
        PromptGenerator(examples=-1)


def test_builtin_formats_and_dialect_names():
    assert format_names() == ["omnisql", "omnisql_sql", "plain"]
    assert [dialect_name(d) for d in ("sqlite", "postgres", "mysql", None)] == [
        "SQLite", "PostgreSQL", "MySQL", "SQLite",
    ]  # fmt: skip
