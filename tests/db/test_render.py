"""Schema renderers: exact text for a small schema, and DDL that SQLite accepts."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sqlfoundry.db.base import DatabaseSpec
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.render import (
    FORMATS,
    render,
    to_central,
    to_codex,
    to_compact,
    to_ddl,
    to_parallel,
)
from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table
from sqlfoundry.db.sqlite import SQLiteDatabase

LONG = "a very long name that goes past the forty character limit"


def shop() -> Schema:
    return Schema(
        db_id="shop",
        tables=[
            Table(
                name="customer",
                description="People who buy things",
                primary_key=["id"],
                row_count=3,
                columns=[
                    Column(name="id", type="INTEGER", primary_key=True, samples=[1, 2, 3, 4]),
                    Column(
                        name="full name",
                        type="TEXT",
                        samples=["Ada O'Neil", LONG],
                        readable_name="customer name",
                        description="Full name.",
                        value_description="Free text.",
                    ),
                    Column(name="vip", type="BOOLEAN", samples=[True, False]),
                ],
            ),
            Table(
                name="purchase",
                primary_key=["id"],
                row_count=2,
                columns=[
                    Column(name="id", type="INTEGER", primary_key=True, samples=[10, 11]),
                    Column(name="customer_id", type="INTEGER", samples=[1]),
                    Column(name="total", type="REAL", samples=[9.5]),
                ],
                foreign_keys=[
                    ForeignKey(columns=["customer_id"], ref_table="customer", ref_columns=["id"])
                ],
            ),
            Table(
                name="log",
                columns=[
                    Column(name="msg", type=""),
                    Column(name="at", type="DATE", description="When."),
                ],
            ),
        ],
    )


SHOP_DDL = """\
-- People who buy things
CREATE TABLE customer (
    id INTEGER, -- example: [1, 2, 3]
    "full name" TEXT, -- Full name, values: Free text, example: ['Ada O''Neil', 'a very long name that goes past the f...']
    vip BOOLEAN, -- example: [true, false]
    PRIMARY KEY (id)
);

CREATE TABLE purchase (
    id INTEGER, -- example: [10, 11]
    customer_id INTEGER, -- example: [1]
    total REAL, -- example: [9.5]
    PRIMARY KEY (id),
    CONSTRAINT fk_purchase_customer_id FOREIGN KEY (customer_id) REFERENCES customer (id)
);

CREATE TABLE log (
    msg text,
    at DATE -- When
);"""


def test_ddl_exact():
    assert to_ddl(shop()) == SHOP_DDL
    assert render(shop(), "ddl") == SHOP_DDL


def test_ddl_example_count_and_length():
    table = to_ddl(shop(), examples=1, max_chars=8).split("\n\n")[0]
    assert table.splitlines()[2:4] == [
        "    id INTEGER, -- example: [1]",
        "    \"full name\" TEXT, -- Full name, values: Free text, example: ['Ada O...']",
    ]
    # A string of exactly max_chars is shown whole.
    exact = to_ddl(shop(), examples=1, max_chars=10).splitlines()[3]
    assert exact.endswith("example: ['Ada O''Neil']")
    bare = to_ddl(shop(), examples=0).split("\n\n")[1]
    assert bare == (
        "CREATE TABLE purchase (\n"
        "    id INTEGER,\n"
        "    customer_id INTEGER,\n"
        "    total REAL,\n"
        "    PRIMARY KEY (id),\n"
        "    CONSTRAINT fk_purchase_customer_id FOREIGN KEY (customer_id) REFERENCES customer (id)\n"
        ");"
    )


def test_compact_exact():
    assert to_compact(shop()) == (
        "Tables: customer: id , full name , vip ; purchase: id , customer_id , total ; "
        "log: msg , at ; primary keys: customer.id , purchase.id ; "
        "foreign keys: purchase.customer_id = customer.id"
    )
    assert to_compact(shop(), keys=False) == (
        "Tables: customer: id , full name , vip ; purchase: id , customer_id , total ; log: msg , at"
    )


def test_codex_exact():
    assert to_codex(shop()) == (
        "# Table customer, columns = [ id, full name, vip ]\n"
        "# Table purchase, columns = [ id, customer_id, total ]\n"
        "# Table log, columns = [ msg, at ]\n"
        "# Primary_keys = [ customer.id, purchase.id ]\n"
        "# Foreign_keys = [ purchase.customer_id = customer.id ]"
    )
    assert to_codex(shop(), keys=False).splitlines() == to_codex(shop()).splitlines()[:3]


def test_central_shape():
    assert to_central(shop()) == {
        "db_id": "shop",
        "dialect": "sqlite",
        "table_names": ["customer", "purchase", "log"],
        "row_counts": [3, 2, None],
        "column_names": [
            [0, "id"],
            [0, "full name"],
            [0, "vip"],
            [1, "id"],
            [1, "customer_id"],
            [1, "total"],
            [2, "msg"],
            [2, "at"],
        ],
        "column_types": ["INTEGER", "TEXT", "BOOLEAN", "INTEGER", "INTEGER", "REAL", "", "DATE"],
        "column_descriptions": [None, "Full name.", None, None, None, None, None, "When."],
        "sample_values": [
            [1, 2, 3, 4],
            ["Ada O'Neil", LONG],
            [True, False],
            [10, 11],
            [1],
            [9.5],
            [],
            [],
        ],
        "primary_keys": [[0], [3]],
        "foreign_keys": [[4, 0]],
    }
    assert json.loads(render(shop(), "central")) == to_central(shop())


def test_parallel_shape():
    rows = to_parallel(shop())
    assert len(rows) == 8
    assert rows[1] == {
        "db_id": "shop",
        "table_name": "customer",
        "column_name": "full name",
        "column_type": "TEXT",
        "readable_name": "customer name",
        "column_description": "Full name.",
        "value_description": "Free text.",
        "sample_values": ["Ada O'Neil", LONG],
        "is_primary_key": False,
        "foreign_key": None,
    }
    assert [
        (r["table_name"], r["column_name"], r["is_primary_key"], r["foreign_key"]) for r in rows
    ] == [
        ("customer", "id", True, None),
        ("customer", "full name", False, None),
        ("customer", "vip", False, None),
        ("purchase", "id", True, None),
        ("purchase", "customer_id", False, "customer.id"),
        ("purchase", "total", False, None),
        ("log", "msg", False, None),
        ("log", "at", False, None),
    ]
    assert json.loads(render(shop(), "parallel")) == rows


def test_foreign_keys_are_resolved_ignoring_case_and_unknown_targets_dropped():
    schema = shop()
    schema.tables[1].foreign_keys = [
        ForeignKey(columns=["CUSTOMER_ID"], ref_table="Customer", ref_columns=["ID"]),
        ForeignKey(columns=["total"], ref_table="ghost", ref_columns=["x"]),
    ]
    assert to_central(schema)["foreign_keys"] == [[4, 0]]
    assert to_parallel(schema)[4]["foreign_key"] == "customer.id"
    assert to_parallel(schema)[5]["foreign_key"] is None
    # The text forms show the keys as declared.
    assert to_compact(schema).endswith(
        "foreign keys: purchase.CUSTOMER_ID = Customer.ID , purchase.total = ghost.x"
    )


def test_json_format_round_trips():
    assert Schema.model_validate_json(render(shop(), "json")) == shop()


def test_unknown_format():
    assert FORMATS == ("ddl", "compact", "codex", "json", "central", "parallel")
    with pytest.raises(ValueError) as info:
        render(shop(), "yaml")
    assert str(info.value) == (
        "unknown schema format 'yaml'; choose one of ddl, compact, codex, json, central, parallel"
    )


# ----------------------------------------------------------------- DDL that runs


def structure(schema: Schema) -> list:
    return [
        (
            t.name,
            [c.name for c in t.columns],
            t.primary_key,
            sorted((f.columns, f.ref_table.lower(), f.ref_columns) for f in t.foreign_keys),
        )
        for t in schema.tables
    ]


def rebuild(ddl: str, tmp_path, name: str = "rebuilt") -> Schema:
    """Run ``ddl`` in a fresh SQLite file and introspect the result."""
    path = tmp_path / f"{name}.sqlite"
    conn = sqlite3.connect(path)
    try:
        conn.executescript(ddl)
    finally:
        conn.close()
    with SQLiteDatabase(DatabaseSpec(db_id=name, path=str(path))) as db:
        return db.introspect(sample_values=0)


def test_ddl_of_the_tiny_database_recreates_it(tiny_sqlite, tmp_path):
    manager = DatabaseManager.for_file(tiny_sqlite.path)
    schema = manager.schema("tiny")
    assert structure(rebuild(to_ddl(schema), tmp_path)) == structure(schema)


def test_ddl_keeps_line_breaks_out_of_comments(tmp_path):
    # A line break in a sample value or a description would end the "--" comment
    # and turn the rest of the text into SQL.
    schema = Schema(
        db_id="lines",
        tables=[
            Table(
                name="address",
                description="Postal addresses,\nsplit over two lines",
                columns=[
                    Column(name="id", type="INTEGER", samples=[1]),
                    Column(
                        name="street", type="TEXT", samples=["Main St 1\nSpringfield", "A\r\nB"]
                    ),
                    Column(name="note", type="TEXT", description="first line\nDROP TABLE x"),
                ],
            )
        ],
    )
    assert to_ddl(schema) == (
        "-- Postal addresses, split over two lines\n"
        "CREATE TABLE address (\n"
        "    id INTEGER, -- example: [1]\n"
        "    street TEXT, -- example: ['Main St 1 Springfield', 'A B']\n"
        "    note TEXT -- first line DROP TABLE x\n"
        ");"
    )
    assert structure(rebuild(to_ddl(schema), tmp_path)) == structure(schema)


def test_ddl_quotes_names_that_are_sql_keywords(tmp_path):
    # Spider's railway database has a column named "From".
    schema = Schema(
        db_id="keywords",
        tables=[
            Table(
                name="order",
                primary_key=["id"],
                columns=[
                    Column(name="id", type="INTEGER", primary_key=True),
                    Column(name="From", type="TEXT"),
                    Column(name="group", type="TEXT"),
                ],
            )
        ],
    )
    assert structure(rebuild(to_ddl(schema), tmp_path)) == structure(schema)


@pytest.mark.slow
def test_ddl_of_every_spider_database_recreates_it(spider_root, tmp_path):
    manager = DatabaseManager(spider_root / "database")
    broken = {}
    for db_id in manager.db_ids():
        schema = manager.schema(db_id, sample_values=3)
        try:
            rebuilt = rebuild(to_ddl(schema), tmp_path, db_id)
        except sqlite3.Error as err:
            broken[db_id] = str(err)
            continue
        if structure(rebuilt) != structure(schema):
            broken[db_id] = "different structure"
    assert broken == {}
