"""Schema linking: at most N tables and M columns, chosen from the question, joins kept."""

from __future__ import annotations

import pytest

from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table
from sqlfoundry.serve.linking import LinkIndex, link_schema, words

QUESTIONS = {
    "clinic": [
        "Which doctors prescribed ibuprofen to patients born before 1950?",
        "How many appointments were cancelled in the cardiology department?",
        "List the medications with a strength above 500 mg",
    ],
    "airline": [
        "Which passengers booked a flight from Lisbon?",
        "List the crew members of flight TP 123",
        "How many aircraft have more than 200 seats?",
    ],
    "bookshop": [
        "Which customers ordered books by Italian authors?",
        "average rating of reviews for fantasy books",
        "What is the weather like?",
    ],
}


@pytest.fixture(scope="module")
def indexes(demo_root) -> dict[str, LinkIndex]:
    manager = DatabaseManager(root=demo_root)
    return {db: LinkIndex(manager.schema(db, sample_values=10)) for db in QUESTIONS}


def shape(schema: Schema) -> list[tuple[str, list[str]]]:
    return [(t.name, [c.name for c in t.columns]) for t in schema.tables]


@pytest.mark.parametrize("max_tables, max_columns", [(1, 3), (2, 6), (3, 12), (4, 20), (3, 2)])
def test_limits_hold_and_the_subset_is_consistent(indexes, max_tables, max_columns):
    for db, questions in QUESTIONS.items():
        full = indexes[db].schema
        for question in questions:
            linked = link_schema(indexes[db], question, max_tables, max_columns)
            assert 1 <= len(linked.tables) <= max_tables
            assert sum(len(t.columns) for t in linked.tables) <= max_columns
            order = full.table_names
            assert linked.table_names == sorted(linked.table_names, key=order.index)
            for table in linked.tables:
                original = full.table(table.name)
                names = [c.name for c in original.columns]
                kept = [c.name for c in table.columns]
                assert kept and kept == sorted(kept, key=names.index)
                assert set(table.primary_key) <= set(kept)
                for fk in table.foreign_keys:
                    target = linked.table(fk.ref_table)
                    assert target is not None and set(fk.columns) <= set(kept)
                    assert {c.lower() for c in fk.ref_columns} <= {
                        c.name.lower() for c in target.columns
                    }


def test_the_tables_a_question_names_and_the_bridge_between_them(indexes):
    crew = link_schema(indexes["airline"], "List the crew members of flight TP 123", 3, 15)
    assert shape(crew) == [
        (
            "flights",
            [
                "flight_id",
                "flight_number",
                "origin_code",
                "destination_code",
                "aircraft_id",
                "scheduled_departure",
                "scheduled_arrival",
            ],
        ),
        (
            "crew_members",
            ["crew_id", "first_name", "last_name", "role", "base_airport", "hire_date"],
        ),
        ("flight_crew", ["flight_id", "crew_id"]),
    ]
    assert [(fk.columns, fk.ref_table) for fk in crew.table("flight_crew").foreign_keys] == [
        (["flight_id"], "flights"),
        (["crew_id"], "crew_members"),
    ]
    booked = link_schema(indexes["airline"], "Which passengers booked a flight from Lisbon?", 3, 12)
    assert booked.table_names == ["flights", "passengers", "bookings"]
    # the join keys come before other columns of the bridge table
    assert [c.name for c in booked.table("bookings").columns][:3] == [
        "booking_id",
        "passenger_id",
        "flight_id",
    ]


def test_columns_named_in_the_question_come_first(indexes):
    linked = link_schema(indexes["bookshop"], "average rating of reviews for fantasy books", 2, 6)
    assert shape(linked) == [
        ("books", ["book_id", "title", "genre"]),
        ("reviews", ["review_id", "book_id", "rating"]),
    ]


def test_a_schema_that_fits_is_returned_as_it_is(indexes):
    index = indexes["bookshop"]
    assert link_schema(index, "anything", 7, 100) is index.schema
    assert link_schema(index, "anything", None, None) is index.schema


def test_no_evidence_keeps_the_first_tables(indexes):
    linked = link_schema(indexes["bookshop"], "What is the weather like?", 2, 4)
    assert shape(linked) == [
        ("authors", ["author_id", "first_name"]),
        ("publishers", ["publisher_id", "name"]),
    ]


def test_a_value_in_the_question_finds_its_table():
    schema = Schema(db_id="x", tables=[
        Table(name="person", columns=[Column(name="person_id"), Column(name="full_name"),
                                      Column(name="home_id")], primary_key=["person_id"],
              foreign_keys=[ForeignKey(columns=["home_id"], ref_table="place", ref_columns=["place_id"])]),
        Table(name="pet", columns=[Column(name="pet_id"), Column(name="species")]),
        Table(name="place", columns=[Column(name="place_id"), Column(name="label", samples=["Lisbon", "Porto"])],
              primary_key=["place_id"]),
    ])  # fmt: skip
    linked = link_schema(LinkIndex(schema), "Who lives in Lisbon?", 1, 5)
    assert shape(linked) == [("place", ["place_id", "label"])]
    # "person" comes with it when the question also names it, and the key that joins them.
    both = link_schema(LinkIndex(schema), "Which person lives in Lisbon?", 2, 4)
    assert shape(both) == [("person", ["person_id", "home_id"]), ("place", ["place_id", "label"])]


def test_words_split_identifiers_and_fold_plurals():
    assert words("orderDate") == {"order", "date"}
    assert words("Which customers booked flights?") == {"customer", "book", "flight"}
    assert words("booking_status") == {"book", "status"}
