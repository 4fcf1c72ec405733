"""Reading the user's message: DDL (MySQL, PostgreSQL, with COMMENTs), the compact form, JSON."""

from __future__ import annotations

import re

import pytest

from sqlfoundry.serve.ddl import SchemaTextError, parse_ddl, split_ddl
from sqlfoundry.serve.errors import GatewayError
from sqlfoundry.serve.requests import parse_chat_request, parse_compact, parse_content, user_content

MYSQL = """Which customers from Lisbon spent the most?

CREATE TABLE `customers` (
  `id` INT NOT NULL AUTO_INCREMENT COMMENT 'customer number',
  `name` VARCHAR(100) NOT NULL COMMENT 'full name',
  `city` VARCHAR(60) DEFAULT NULL COMMENT 'city of the delivery address',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='people who buy';

CREATE TABLE `orders` (
  `order_id` BIGINT UNSIGNED NOT NULL,
  `customer_id` INT NOT NULL COMMENT 'who ordered',
  `total` DECIMAL(10,2) NOT NULL COMMENT 'amount paid, in euros',
  PRIMARY KEY (`order_id`),
  KEY `idx_customer` (`customer_id`),
  CONSTRAINT `fk_orders_customer` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`)
) ENGINE=InnoDB COMMENT='one row per order'
"""

POSTGRES = """CREATE TABLE public.customers (
    id serial PRIMARY KEY,
    name text NOT NULL, -- full name
    city varchar(60)
);
CREATE TABLE public.orders (
    order_id bigint NOT NULL,
    customer_id integer NOT NULL REFERENCES customers,
    total numeric(10,2),
    placed_at timestamp with time zone DEFAULT now()
);
ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (order_id);
COMMENT ON TABLE public.orders IS 'one row per order';
COMMENT ON COLUMN public.orders.total IS 'amount paid, in euros';
COMMENT ON COLUMN public.customers.city
    IS 'city of the delivery address';

Question: What's the total paid by customers in Lisbon?"""


def describe(schema) -> list[tuple]:
    """(table, description, [(column, type, pk, description)], pk, fks) per table."""
    return [
        (t.name, t.description, [(c.name, c.type, c.primary_key, c.description) for c in t.columns],
         t.primary_key, [(fk.columns, fk.ref_table, fk.ref_columns) for fk in t.foreign_keys])
        for t in schema.tables
    ]  # fmt: skip


def test_mysql_ddl_with_column_and_table_comments():
    parsed = parse_content(MYSQL)
    assert parsed.question == "Which customers from Lisbon spent the most?"
    assert parsed.source == "ddl"
    assert parsed.schema.dialect == "mysql"
    assert describe(parsed.schema) == [
        ("customers", "people who buy",
         [("id", "INT", True, "customer number"), ("name", "VARCHAR(100)", False, "full name"),
          ("city", "VARCHAR(60)", False, "city of the delivery address")],
         ["id"], []),
        ("orders", "one row per order",
         [("order_id", "BIGINT UNSIGNED", True, None), ("customer_id", "INT", False, "who ordered"),
          ("total", "DECIMAL(10, 2)", False, "amount paid, in euros")],
         ["order_id"], [(["customer_id"], "customers", ["id"])]),
    ]  # fmt: skip


def test_postgres_ddl_with_comment_on_alter_table_and_line_comments():
    parsed = parse_content(POSTGRES)
    assert parsed.question == "What's the total paid by customers in Lisbon?"
    assert parsed.schema.dialect == "postgres"
    assert describe(parsed.schema) == [
        ("customers", None,
         [("id", "SERIAL", True, None), ("name", "TEXT", False, "full name"),
          ("city", "VARCHAR(60)", False, "city of the delivery address")],
         ["id"], []),
        # REFERENCES customers with no column: the referenced table's primary key.
        ("orders", "one row per order",
         [("order_id", "BIGINT", True, None), ("customer_id", "INT", False, None),
          ("total", "DECIMAL(10, 2)", False, "amount paid, in euros"),
          ("placed_at", "TIMESTAMPTZ", False, None)],
         ["order_id"], [(["customer_id"], "customers", ["id"])]),
    ]  # fmt: skip


def test_split_keeps_prose_apart_from_statements():
    split = split_ddl(POSTGRES)
    assert [s.split(None, 3)[:3] for s in split.statements] == [
        ["CREATE", "TABLE", "public.customers"],
        ["CREATE", "TABLE", "public.orders"],
        ["ALTER", "TABLE", "ONLY"],
        ["COMMENT", "ON", "TABLE"],
        ["COMMENT", "ON", "COLUMN"],
        ["COMMENT", "ON", "COLUMN"],
    ]
    assert [line for line in split.prose if line.strip()] == [
        "Question: What's the total paid by customers in Lisbon?"
    ]


def test_statements_without_semicolons_end_where_the_prose_starts():
    text = "CREATE TABLE a (\n  x int,\n  y text\n)\nHow many rows have x above 3?"
    split = split_ddl(text)
    assert split.statements == ["CREATE TABLE a (\n  x int,\n  y text\n)"]
    assert parse_content(text).question == "How many rows have x above 3?"


def test_ddl_in_a_code_fence_and_sql_comment_instructions():
    text = (
        "```sql\nCREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT);\n```\n"
        "-- Using valid SQLite, answer the following question for the table above.\n"
        "List every label."
    )
    parsed = parse_content(text)
    assert parsed.question == "List every label."
    assert [c.name for c in parsed.schema.tables[0].columns] == ["id", "label"]


@pytest.mark.parametrize(
    "statement, message",
    [
        (
            "CREATE TABLE broken (id int name text;",
            r"cannot parse the CREATE TABLE statements \(postgres: Expecting \) \(line 1, col 32\)\)",
        ),
        ("CREATE TABLE only_select AS SELECT 1;", "the DDL defines no table with columns"),
    ],
)
def test_unreadable_ddl_is_an_error(statement, message):
    with pytest.raises(SchemaTextError, match=message):
        parse_ddl([statement])
    with pytest.raises(GatewayError) as info:
        parse_content(f"How many?\n{statement}")
    assert (info.value.status, info.value.code) == (400, "invalid_ddl")
    assert re.search(message, info.value.message)


def test_compact_form_with_keys():
    text = (
        "Question: Which singers sang in 2020? <sep> Tables: singer: singer_id , name ; "
        "concert: concert_id , year , singer_id ; primary keys: singer.singer_id , "
        "concert.concert_id ; foreign keys: concert.singer_id = singer.singer_id <sep>"
    )
    parsed = parse_content(text)
    assert (parsed.question, parsed.source) == ("Which singers sang in 2020?", "compact")
    assert describe(parsed.schema) == [
        ("singer", None, [("singer_id", "", True, None), ("name", "", False, None)], ["singer_id"], []),
        ("concert", None,
         [("concert_id", "", True, None), ("year", "", False, None), ("singer_id", "", False, None)],
         ["concert_id"], [(["singer_id"], "singer", ["singer_id"])]),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text, message",
    [
        ("Tables: singer", "expected 'table: column , column'"),
        (
            "Tables: singer: id ; primary keys: singer.nope",
            "primary key singer.nope: no such column",
        ),
        ("Tables: a: x ; foreign keys: a.x = b", "'b' is not table.column"),
    ],
)
def test_bad_compact_schemas(text, message):
    with pytest.raises(SchemaTextError, match=message):
        parse_compact(text)


def test_json_content_and_labels():
    parsed = parse_content(
        '{"question": "How many books?", "db_id": "bookshop", "evidence": "books = titles"}'
    )
    assert (parsed.question, parsed.db_id, parsed.evidence, parsed.source) == (
        "How many books?", "bookshop", "books = titles", "json",
    )  # fmt: skip
    labelled = parse_content(
        "Database: clinic\nQuestion: How many doctors\nwork in cardiology?\n\nHint: none"
    )
    assert (labelled.question, labelled.db_id, labelled.evidence) == (
        "How many doctors work in cardiology?", "clinic", "none",
    )  # fmt: skip
    # The request's own db_id field wins over one named in the text.
    assert parse_content("Database: clinic\nHow many?", db_id="airline").db_id == "airline"


def test_request_body_errors_name_the_problem():
    def error(raw: bytes) -> tuple[int, str, str]:
        with pytest.raises(GatewayError) as info:
            parse_chat_request(raw)
        return info.value.status, info.value.code, info.value.message

    assert error(b'{"model": "x", "messages": [')[:2] == (400, "invalid_json")
    assert error(b'{"model": "x"}') == (
        400, "missing_messages", "'messages' is required: a list of chat messages, the last one from the user",
    )  # fmt: skip
    assert error(b'{"model": "x", "messages": []}')[1] == "missing_messages"
    assert error(b"[1, 2]")[:2] == (400, "invalid_json")
    assert error(b'{"model": "x", "messages": [{"role": "user", "content": "q"}], "n": 0}')[1:] == (
        "invalid_request", "invalid request: n: Input should be greater than or equal to 1",
    )  # fmt: skip


def test_user_content_takes_the_last_user_message_and_text_parts():
    request = parse_chat_request(
        b'{"model": "m", "messages": [{"role": "system", "content": "be brief"},'
        b'{"role": "user", "content": [{"type": "text", "text": "How many"}, {"type": "text", "text": "books?"}]}]}'
    )
    assert user_content(request) == "How many\nbooks?"
    empty = parse_chat_request(b'{"model": "m", "messages": [{"role": "user", "content": "  "}]}')
    with pytest.raises(GatewayError) as info:
        user_content(empty)
    assert (info.value.status, info.value.code) == (400, "empty_content")


@pytest.mark.parametrize(
    "text", ["Create a list of the customers from Lisbon", "Create table of sales per month"]
)
def test_questions_that_start_like_ddl_stay_questions(text):
    parsed = parse_content(text, db_id="bookshop")
    assert (parsed.question, parsed.schema, parsed.source) == (text, None, "text")
