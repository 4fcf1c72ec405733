"""Post-processing: extract, validate, transpile, preview; write SQL never runs."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from gateway_testing import answer, upstream

from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.serve.config import PostprocessConfig
from sqlfoundry.serve.postprocess import PostProcessor, PreviewRunner, SchemaNames


@pytest.fixture(scope="module")
def manager(concerts_root) -> DatabaseManager:
    return DatabaseManager(root=concerts_root)


@pytest.fixture(scope="module")
def schema(manager):
    return manager.schema("concerts", sample_values=3)


def run(processor: PostProcessor, text: str, schema, db_id: str | None = None):
    return asyncio.run(
        processor.run(
            text, names=SchemaNames(schema), db_id=db_id, db_dialect="sqlite" if db_id else None
        )
    )


@pytest.mark.parametrize(
    "text, sql",
    [
        ("```sql\nSELECT name FROM singer;\n```", "SELECT name FROM singer"),
        ("Let me think.\n```sqlite\nSELECT 1\n```\nSo:\n```sql\nSELECT name FROM singer\n```", "SELECT name FROM singer"),
        ("SQL: SELECT name FROM singer", "SELECT name FROM singer"),
        ("<think>maybe SELECT 1</think>\nSELECT name FROM singer;;", "SELECT name FROM singer"),
    ],
)  # fmt: skip
def test_extraction(schema, text, sql):
    outcome = run(PostProcessor(PostprocessConfig(), "sqlite"), text, schema)
    assert (outcome.sql, outcome.valid, outcome.errors, outcome.reply("sql")) == (
        sql,
        True,
        [],
        sql,
    )


def test_a_codex_answer_continues_the_prompts_select(schema):
    processor = PostProcessor(PostprocessConfig(), "sqlite", answer_prefix="SELECT")
    outcome = run(processor, " name FROM singer WHERE country = 'Chile'", schema)
    assert outcome.sql == "SELECT name FROM singer WHERE country = 'Chile'"
    # a stream already showed " name FROM …": the full query follows it
    assert outcome.suffix() == "\n\n-- sqlite:\nSELECT name FROM singer WHERE country = 'Chile'"


@pytest.mark.parametrize(
    "text, errors",
    [
        ("SELECT nme FROM singer", ["unknown column singer.nme"]),
        ("SELECT s.name FROM singers AS s", ["unknown table singers"]),
        ("SELECT name FROM singer WHERE",
         ["not valid sqlite: Required keyword: 'this' missing for <class 'sqlglot.expressions.query.Where'> (line 1, col 29)"]),
        ("SELECT 1; SELECT 2", ["not valid sqlite: expected one statement, got 2"]),
        ("I cannot answer that.",
         ["no SQL in the answer: no SQL found: no ```sql block and the text does not start with SELECT/WITH"]),
    ],
)  # fmt: skip
def test_invalid_sql_is_answered_with_a_warning_not_an_http_error(schema, text, errors):
    outcome = run(PostProcessor(PostprocessConfig(), "sqlite"), text, schema)
    assert outcome.valid is False and outcome.errors == errors
    body = outcome.sql if outcome.sql is not None else text + "\n"
    assert outcome.reply("sql") == body + "\n" + "\n".join(f"-- warning: {e}" for e in errors)


def test_transpile_from_sqlite_to_postgres(schema):
    processor = PostProcessor(PostprocessConfig(transpile_to="postgres"), "sqlite")
    outcome = run(
        processor, "SELECT SUBSTR(name, 1, 2), IFNULL(country, 'n/a') FROM singer", schema
    )
    assert (outcome.sql, outcome.dialect) == (
        "SELECT SUBSTRING(name FROM 1 FOR 2), COALESCE(country, 'n/a') FROM singer",
        "postgres",
    )
    assert outcome.reply("sql") == outcome.sql
    assert (
        outcome.suffix()
        == "\n\n-- postgres:\nSELECT SUBSTRING(name FROM 1 FOR 2), COALESCE(country, 'n/a') FROM singer"
    )


def test_preview_is_appended_as_comment_lines(manager, schema):
    previews = PreviewRunner(manager)
    try:
        processor = PostProcessor(
            PostprocessConfig(execute=True, preview_rows=2), "sqlite", previews=previews
        )
        outcome = run(
            processor, "SELECT title, year FROM concert ORDER BY concert_id", schema, "concerts"
        )
        assert outcome.reply("sql") == (
            "SELECT title, year FROM concert ORDER BY concert_id\n"
            "-- preview: first 2 rows\n-- title | year\n-- Spring | 2019\n-- Summer | 2020"
        )
        assert outcome.preview["truncated"] is True and outcome.preview["rows"] == [
            ["Spring", 2019],
            ["Summer", 2020],
        ]
        # transpiled for the client, run in the database's own dialect
        processor = PostProcessor(
            PostprocessConfig(execute=True, transpile_to="postgres"), "sqlite", previews=previews
        )
        outcome = run(
            processor,
            "SELECT IFNULL(country, 'none') AS c FROM singer WHERE singer_id = 2",
            schema,
            "concerts",
        )
        assert outcome.reply("sql") == (
            "SELECT COALESCE(country, 'none') AS c FROM singer WHERE singer_id = 2\n-- preview: 1 row\n-- c\n-- Chile"
        )
    finally:
        previews.close()


@pytest.mark.parametrize(
    "text, note",
    [
        ("DELETE FROM singer", "-- not executed: not a query: DELETE statements are refused"),
        ("SELECT 1; DELETE FROM singer", "-- not executed: 2 statements given; only a single query is run"),
        ("WITH gone AS (DELETE FROM singer RETURNING *) SELECT * FROM gone",
         "-- not executed: query contains DELETE; only read-only queries run"),
        ("DROP TABLE singer", "-- not executed: not a query: DROP statements are refused"),
    ],
)  # fmt: skip
def test_write_sql_is_never_executed(concerts_root, manager, schema, text, note):
    previews = PreviewRunner(manager)
    try:
        config = PostprocessConfig(execute=True, extract_sql=False)
        outcome = run(PostProcessor(config, "sqlite", previews=previews), text, schema, "concerts")
    finally:
        previews.close()
    assert note in outcome.notes
    assert outcome.preview["status"] == "rejected"
    con = sqlite3.connect(concerts_root / "concerts" / "concerts.sqlite")
    assert con.execute("SELECT count(*) FROM singer").fetchone() == (3,)
    con.close()


def test_end_to_end_delete_answer_is_reported_not_run(fake, gateways, concerts_root):
    running = gateways({"gateway": {"db_root": str(concerts_root)},
                        "services": {"s": {"type": "openai", "db_id": "concerts", "upstream": upstream(fake),
                                           "postprocess": {"execute": True}}}})  # fmt: skip
    answer(fake, "```sql\nDELETE FROM singer WHERE country = 'France';\n```")
    reply = running.client().chat.completions.create(
        model="s", messages=[{"role": "user", "content": "Remove the French singers"}])  # fmt: skip
    assert reply.choices[0].message.content == (
        "DELETE FROM singer WHERE country = 'France'\n"
        "-- warning: not a query: DELETE statements are refused\n"
        "-- not executed: not a query: DELETE statements are refused"
    )
    assert reply.choices[0].sqlfoundry["preview"]["status"] == "rejected"
    assert reply.choices[0].sqlfoundry["valid"] is False
    con = sqlite3.connect(concerts_root / "concerts" / "concerts.sqlite")
    assert con.execute("SELECT count(*) FROM singer WHERE country = 'France'").fetchone() == (2,)
    con.close()


def test_end_to_end_ddl_question_transpiled_to_postgres(fake, gateways):
    running = gateways({"services": {"pg": {"type": "openai", "upstream": upstream(fake),
                                            "postprocess": {"transpile_to": "postgres"}}}})  # fmt: skip
    answer(fake, 'SELECT name FROM singer WHERE country = "France" LIMIT 2')
    content = (
        "CREATE TABLE singer (id int PRIMARY KEY, name text, country text);\nTwo French singers?"
    )
    reply = running.client().chat.completions.create(
        model="pg", messages=[{"role": "user", "content": content}]
    )
    assert (
        reply.choices[0].message.content
        == "SELECT name FROM singer WHERE country = 'France' LIMIT 2"
    )
    assert reply.choices[0].sqlfoundry["dialect"] == "postgres"
    assert reply.sqlfoundry["schema_source"] == "ddl" and reply.sqlfoundry["db_id"] is None
