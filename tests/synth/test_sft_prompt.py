"""SQL-o1's schema-aware prompt: real keys, coarse types, sample rows, the incomplete-query slot."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sqlfoundry.core.errors import TemplateError
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.render import coarse_type, rows_text
from sqlfoundry.db.schema import Column, Table
from sqlfoundry.synth.sft.prompt import (
    SchemaPrompts,
    check_prompt,
    completion_prompt,
    render,
    with_incomplete,
)


def test_spider_prompt_has_the_real_keys_and_three_rows(spider_root: Path):
    prompts = SchemaPrompts(DatabaseManager(root=spider_root / "database"))
    text = prompts.prompt("concert_singer", "How many singers do we have?")
    schema = text.split("Database schema:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert schema[0] == (
        "CREATE TABLE stadium (Stadium_ID NUMBER, Location TEXT, Name TEXT, Capacity NUMBER, "
        "Highest NUMBER, Lowest NUMBER, Average NUMBER, PRIMARY KEY (Stadium_ID));"
    )  # one key column, not every column as SQL-o1's prompt has it
    assert schema[3] == (
        "CREATE TABLE singer_in_concert (concert_ID NUMBER, Singer_ID TEXT, PRIMARY KEY "
        "(concert_ID, Singer_ID), FOREIGN KEY (concert_ID) REFERENCES concert (concert_ID), "
        "FOREIGN KEY (Singer_ID) REFERENCES singer (Singer_ID));"
    )
    rows = text.split("Sample rows of each table:\n", 1)[1].split("\n\nQuestion:", 1)[0]
    singer = rows.split("\n\n")[1].splitlines()
    assert singer == [
        "singer (Singer_ID, Name, Country, Song_Name, Song_release_year, Age, Is_male):",
        "(1, 'Joe Sharp', 'Netherlands', 'You', '1992', 52, 'F')",
        "(2, 'Timbaland', 'United States', 'Dangerous', '2008', 32, 'T')",
        "(3, 'Justin Brown', 'France', 'Hey Oh', '2013', 29, 'T')",
    ]
    assert "Hint:" not in text  # no evidence, no hint paragraph
    assert text.endswith("Question:\nHow many singers do we have?\n\nAnswer with the SQL query "
                         "only, no explanation.\n\nThe incomplete SQL query:")  # fmt: skip


@pytest.fixture
def wide_db(tmp_path: Path) -> DatabaseManager:
    path = tmp_path / "wide" / "wide.sqlite"
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT, blob BLOB, flag BOOLEAN, "
                 "at DATETIME, misc)")  # fmt: skip
    conn.execute("INSERT INTO doc VALUES (1, ?, x'00ff', 1, '2020-01-01', NULL)", ("x" * 150,))
    conn.execute("INSERT INTO doc VALUES (2, 'it''s', NULL, 0, NULL, 2.5)")
    conn.commit()
    conn.close()
    return DatabaseManager(root=tmp_path)


def test_bird_style_one_row_long_strings_cut_and_the_evidence_as_a_hint(wide_db):
    text = SchemaPrompts(wide_db, rows=1).prompt("wide", "Longest body?", "body means the text")
    assert (
        "CREATE TABLE doc (id NUMBER, body TEXT, blob OTHERS, flag BOOLEAN, at TIME, misc TEXT, "
        "PRIMARY KEY (id));" in text
    )
    assert (
        f"doc (id, body, blob, flag, at, misc):\n(1, '{'x' * 100}...', '00ff', 1, '2020-01-01', NULL)\n\n"
        in text
    )
    assert "(2," not in text
    assert "Hint:\nbody means the text\n\nQuestion:\nLongest body?" in text


def test_rows_text_writes_sql_literals():
    table = Table(name="t", columns=[Column(name="a"), Column(name="b c")])
    assert rows_text(table, [("it's", None)]) == "t (a, \"b c\"):\n('it''s', NULL)"
    assert rows_text(table, []) == 't (a, "b c"):\n(no rows)'


@pytest.mark.parametrize(
    "declared, coarse",
    [("INTEGER", "NUMBER"), ("varchar(40)", "TEXT"), ("", "TEXT"), ("REAL", "NUMBER"),
     ("numeric(10,2)", "NUMBER"), ("DATE", "TIME"), ("timestamp without time zone", "TIME"),
     ("bool", "BOOLEAN"), ("BLOB", "OTHERS"), ("tinytext", "TEXT"), ("character varying", "TEXT")],
)  # fmt: skip
def test_coarse_types(declared, coarse):
    assert coarse_type(declared) == coarse


def test_a_prefix_put_into_a_rendered_prompt_is_the_prompt_rendered_with_it(wide_db):
    schema = SchemaPrompts(wide_db).get("wide")
    empty = render(schema, "Q?", "E")
    for prefix in ("SELECT id", "SELECT id FROM doc WHERE body = 'a\nb'", "  SELECT 1  "):
        assert with_incomplete(empty, prefix) == render(schema, "Q?", "E", incomplete_sql=prefix)
    assert with_incomplete(empty, "") == empty
    assert completion_prompt(empty, "SELECT id") == empty + "\nSELECT id"
    assert completion_prompt(empty, "") == empty + "\n"


def test_only_sqlo1_prompts_with_an_empty_slot_are_accepted(wide_db):
    schema = SchemaPrompts(wide_db).get("wide")
    with pytest.raises(TemplateError, match="not SQL-o1's schema-aware prompt"):
        check_prompt(render(schema, "Q?", incomplete_sql="SELECT id"))
    with pytest.raises(TemplateError):
        with_incomplete("Question: how many?", "SELECT")
