"""Spider ``tables.json``: export, import, round trips, and agreement with the real Spider data."""

from __future__ import annotations

import json

import pytest

from sqlfoundry.core.errors import InputError
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table
from sqlfoundry.db.spider_tables import (
    load_tables_json,
    schema_from_spider,
    schema_to_spider,
    spider_type,
    write_tables_json,
)


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INTEGER", "number"),
        ("int(11)", "number"),
        ("REAL", "number"),
        ("numeric(12,2)", "number"),
        ("DOUBLE PRECISION", "number"),
        ("bigserial", "number"),
        ("VARCHAR(40)", "text"),
        ("character varying(60)", "text"),
        ("TEXT", "text"),
        ("tinytext", "text"),
        ("", "text"),
        ("DATE", "time"),
        ("DATETIME", "time"),
        ("timestamp without time zone", "time"),
        ("YEAR", "time"),
        ("BOOLEAN", "boolean"),
        ("bool", "boolean"),
        ("BLOB", "others"),
        ("json", "others"),
    ],
)
def test_spider_type(declared, expected):
    assert spider_type(declared) == expected


def library() -> Schema:
    return Schema(
        db_id="library",
        tables=[
            Table(
                name="Author",
                primary_key=["author_id"],
                columns=[
                    Column(name="author_id", type="INTEGER", primary_key=True),
                    Column(name="Full_Name", type="VARCHAR(80)", readable_name="author name"),
                ],
            ),
            Table(
                name="book_author",
                primary_key=["book_id", "author_id"],
                columns=[
                    Column(name="book_id", type="INTEGER", primary_key=True),
                    Column(name="author_id", type="INTEGER", primary_key=True),
                    Column(name="Published", type="DATE"),
                ],
                foreign_keys=[
                    ForeignKey(
                        columns=["author_id"], ref_table="author", ref_columns=["Author_ID"]
                    ),
                    ForeignKey(columns=["editor_id"], ref_table="nobody", ref_columns=["id"]),
                ],
            ),
        ],
    )


LIBRARY_ENTRY = {
    "db_id": "library",
    "table_names_original": ["Author", "book_author"],
    "table_names": ["author", "book author"],
    "column_names_original": [
        [-1, "*"],
        [0, "author_id"],
        [0, "Full_Name"],
        [1, "book_id"],
        [1, "author_id"],
        [1, "Published"],
    ],
    "column_names": [
        [-1, "*"],
        [0, "author id"],
        [0, "author name"],
        [1, "book id"],
        [1, "author id"],
        [1, "published"],
    ],
    "column_types": ["text", "number", "text", "number", "number", "time"],
    # A single-column key is a number, a composite one a list.
    "primary_keys": [1, [3, 4]],
    # Matched ignoring case; the link to a table that does not exist is left out.
    "foreign_keys": [[4, 1]],
}


def test_schema_to_spider_exact():
    assert schema_to_spider(library()) == LIBRARY_ENTRY


def test_entry_to_schema():
    schema = schema_from_spider(LIBRARY_ENTRY)
    assert schema.db_id == "library"
    assert schema.table_names == ["Author", "book_author"]
    author, link = schema.tables
    assert [(c.name, c.type, c.primary_key, c.readable_name) for c in author.columns] == [
        ("author_id", "number", True, "author id"),
        ("Full_Name", "text", False, "author name"),
    ]
    assert link.primary_key == ["book_id", "author_id"]
    assert link.foreign_keys == [
        ForeignKey(columns=["author_id"], ref_table="Author", ref_columns=["author_id"])
    ]


def test_round_trip_schema_entry_schema_entry():
    entry = schema_to_spider(library())
    again = schema_from_spider(entry)
    assert again.column_map() == library().column_map()
    assert [t.primary_key for t in again.tables] == [["author_id"], ["book_id", "author_id"]]
    assert schema_to_spider(again) == entry


def test_write_and_load_tables_json(tmp_path):
    path = tmp_path / "tables.json"
    write_tables_json([library()], path)
    assert json.loads(path.read_text(encoding="utf-8")) == [LIBRARY_ENTRY]
    loaded = load_tables_json(path)
    assert list(loaded) == ["library"]
    assert schema_to_spider(loaded["library"]) == LIBRARY_ENTRY


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read tables.json: Expecting property name enclosed in double quotes"),
        ('{"db_id": "x"}', "tables.json must hold a list of databases"),
    ],
)
def test_load_tables_json_bad_file(tmp_path, content, message):
    path = tmp_path / "tables.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_tables_json(path)
    assert info.value.file == str(path)
    assert info.value.message.startswith(message)


def test_load_tables_json_bad_entry_names_the_database(tmp_path):
    bad = dict(LIBRARY_ENTRY, db_id="broken", foreign_keys=[[4, 99]])
    path = tmp_path / "tables.json"
    path.write_text(json.dumps([LIBRARY_ENTRY, bad]))
    with pytest.raises(InputError) as info:
        load_tables_json(path)
    assert info.value.db_id == "broken"
    assert str(info.value).startswith(
        f"{path} db_id=broken: malformed tables.json entry: IndexError"
    )


def test_load_missing_tables_json(tmp_path):
    with pytest.raises(InputError) as info:
        load_tables_json(tmp_path / "nope.json")
    assert info.value.message == "no such file"


# ----------------------------------------------------------------- the real Spider data


def official_entries(spider_root) -> dict[str, dict]:
    entries = json.loads((spider_root / "tables.json").read_text(encoding="utf-8"))
    return {e["db_id"]: e for e in entries}


def test_official_entries_survive_import_and_export(spider_root):
    entries = official_entries(spider_root)
    assert len(entries) == 166
    for db_id, entry in entries.items():
        back = schema_to_spider(schema_from_spider(entry))
        # The Schema has no readable table name, so table_names is rebuilt from
        # the original names; everything else comes back exactly.
        assert {k: v for k, v in back.items() if k != "table_names"} == {
            k: v for k, v in entry.items() if k != "table_names"
        }, db_id


def without_table(entry: dict, name: str) -> dict:
    """``entry`` with table ``name`` and its columns removed, indexes renumbered."""
    drop = entry["table_names_original"].index(name)
    keep = [i for i, (t, _) in enumerate(entry["column_names_original"]) if t != drop]
    new_index = {old: new for new, old in enumerate(keep)}
    return {
        "table_names_original": [t for t in entry["table_names_original"] if t != name],
        "column_names_original": [
            [t - (t > drop), c] for t, c in (entry["column_names_original"][i] for i in keep)
        ],
        "foreign_keys": [[new_index[a], new_index[b]] for a, b in entry["foreign_keys"]],
    }


def fk_names(entry: dict) -> set[tuple[str, str, str, str]]:
    cols, tables = entry["column_names_original"], entry["table_names_original"]
    return {
        (tables[cols[a][0]], cols[a][1].lower(), tables[cols[b][0]], cols[b][1].lower())
        for a, b in entry["foreign_keys"]
    }


# Where the official tables.json and the .sqlite files disagree, checked by hand:
# - store_1 and world_1: tables.json lists SQLite's internal sqlite_sequence
#   table, which introspection leaves out on purpose;
# - loan_1 and store_product: the .sqlite files declare one foreign key more
#   than tables.json does.
OFFICIAL_EXTRA_TABLES = {"store_1": "sqlite_sequence", "world_1": "sqlite_sequence"}
SQLITE_EXTRA_FKS = {
    "loan_1": {("loan", "cust_id", "customer", "cust_id")},
    "store_product": {("store_product", "product_id", "product", "product_id")},
}


@pytest.mark.slow
def test_introspection_agrees_with_the_official_tables_json(spider_root):
    entries = official_entries(spider_root)
    manager = DatabaseManager(spider_root / "database")
    db_ids = manager.db_ids()
    assert len(db_ids) == 163
    # The three official databases without a .sqlite file in this copy.
    assert set(entries) - set(db_ids) == {"baseball_1", "soccer_1", "wta_1"}
    mismatches = {}
    for db_id in db_ids:
        with manager.open(db_id) as db:
            ours = schema_to_spider(db.introspect(sample_values=0))
        official = entries[db_id]
        if db_id in OFFICIAL_EXTRA_TABLES:
            official = without_table(official, OFFICIAL_EXTRA_TABLES[db_id])
        problems = []
        if [t.lower() for t in ours["table_names_original"]] != [
            t.lower() for t in official["table_names_original"]
        ]:
            problems.append("table_names_original")
        if [[t, c.lower()] for t, c in ours["column_names_original"]] != [
            [t, c.lower()] for t, c in official["column_names_original"]
        ]:
            problems.append("column_names_original")
        if fk_names(ours) != fk_names(official) | SQLITE_EXTRA_FKS.get(db_id, set()):
            problems.append(
                f"foreign_keys: ours only {sorted(fk_names(ours) - fk_names(official))}, "
                f"official only {sorted(fk_names(official) - fk_names(ours))}"
            )
        if problems:
            mismatches[db_id] = problems
    assert mismatches == {}
