"""Values in a question, slots in SQL, and putting the one into the other."""

from __future__ import annotations

import pytest

from sqlfoundry.db.schema import Column, Schema, Table
from sqlfoundry.methods.retrieval.substitution import Slot, assign, literal_slots, substitute
from sqlfoundry.methods.retrieval.values import ValueIndex, find_values, normalise
from sqlfoundry.sql.parse import parse_one

SCHEMA = Schema(
    db_id="concerts",
    tables=[
        Table(name="singer", columns=[Column(name="Singer_ID", type="INT"),
                                      Column(name="Name", type="TEXT"),
                                      Column(name="Country", type="TEXT"),
                                      Column(name="Age", type="INT")]),
        Table(name="concert", columns=[Column(name="concert_ID", type="INT"),
                                       Column(name="Year", type="TEXT"),
                                       Column(name="Theme", type="TEXT")]),
        Table(name="singer_in_concert", columns=[Column(name="concert_ID", type="INT"),
                                                 Column(name="Singer_ID", type="INT")]),
    ],
)  # fmt: skip

INDEX = ValueIndex.from_rows([
    ("singer", "Country", "Netherlands"), ("singer", "Country", "United States"),
    ("singer", "Name", "Joe Sharp"), ("concert", "Theme", "Wide Awake"),
    ("pets", "PetType", "dog"), ("pets", "PetType", "cat"),
    ("singer", "Country", "   "), ("singer", "Name", "x" * 70), ("singer", "Age", 52),
])  # fmt: skip

NESTED = (
    "SELECT T1.Name FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.Singer_ID = T2.Singer_ID"
    " WHERE T1.Country = 'France' AND T2.concert_ID IN (SELECT concert_ID FROM concert"
    " WHERE Year BETWEEN '2014' AND '2015' AND Theme LIKE '%Free%')"
    " GROUP BY T1.Singer_ID HAVING COUNT(*) = 2 ORDER BY T1.Age DESC LIMIT 3"
)


def test_the_index_keeps_short_text_values_by_normalised_key():
    # Blank, over-long and non-text values are left out.
    assert sorted(INDEX.entries) == [
        "cat",
        "dog",
        "joe sharp",
        "netherlands",
        "united states",
        "wide awake",
    ]
    assert normalise("O'Brien,  St. Louis") == "o brien st louis"
    assert [v.value for v in INDEX.lookup("joe sharp")] == ["Joe Sharp"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many singers from the netherlands are older than 30?",
         [("Netherlands", "db", {("singer", "country")}, 0.6, "="), ("30", "number", set(), 1.0, ">")]),
        ("Which students have a cat or dogs?",
         [("cat", "db", {("pets", "pettype")}, 1.0, "="), ("dog", "db", {("pets", "pettype")}, 0.6, "=")]),
        ("Songs by \"Joe Sharp\" or 'Nobody Else' in 2014",
         [("Joe Sharp", "db", {("singer", "name")}, 1.0, "="), ("Nobody Else", "quoted", set(), 1.0, "="),
          ("2014", "number", set(), 1.0, "=")]),
        ("Show singers with at least three songs", [("3", "number", set(), 0.5, ">=")]),
        ("cars with 8 cylinders or more", [("8", "number", set(), 1.0, ">=")]),
        ("List the top 5 singers", [("5", "number", set(), 1.0, "top")]),
        ("What is Kyle's id?", []),
    ],
)  # fmt: skip
def test_find_values_reads_quotes_database_values_and_numbers(question, expected):
    found = [(v.text, v.kind, set(v.columns), v.confidence, v.comparator)
             for v in find_values(question, INDEX)]  # fmt: skip
    assert found == expected


def test_slots_name_the_column_each_literal_is_compared_with():
    assert literal_slots(parse_one(NESTED), SCHEMA) == [
        Slot("", "", "limit", "limit", "3"),
        Slot("", "", "number", "=", "2"),
        Slot("singer", "country", "text", "=", "France"),
        Slot("concert", "year", "text", "between", "2014"),
        Slot("concert", "year", "text", "between", "2015"),
        Slot("concert", "theme", "text", "like", "%Free%"),
    ]
    assert literal_slots(parse_one("SELECT Name FROM singer WHERE Age > -5"), SCHEMA) == [
        Slot("singer", "age", "number", ">", "-5")
    ]


def test_assign_prefers_a_value_found_in_the_slot_column():
    values = find_values("singers named Joe Sharp from United States", INDEX)
    slots = [Slot("singer", "country", "text", "=", "France"),
             Slot("singer", "name", "text", "=", "Rose White")]  # fmt: skip
    assert [values[j].text for j in assign(slots, values)] == ["United States", "Joe Sharp"]


def test_substitute_fills_every_slot_in_question_order_and_fixes_comparisons():
    question = ("Which singers from the Netherlands in 2016 or 2017 sang at least 4 times at "
                "concerts with the word 'Love'? Show the top 5.")  # fmt: skip
    result = substitute(NESTED, find_values(question, INDEX), SCHEMA)
    assert result.sql == (
        "SELECT T1.Name FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.Singer_ID = "
        "T2.Singer_ID WHERE T1.Country = 'Netherlands' AND T2.concert_ID IN (SELECT concert_ID "
        "FROM concert WHERE Year BETWEEN '2016' AND '2017' AND Theme LIKE '%Love%') GROUP BY "
        "T1.Singer_ID HAVING COUNT(*) >= 4 ORDER BY T1.Age DESC LIMIT 5"
    )
    assert result.replaced == {"3": "5", "2": "4", "'France'": "'Netherlands'",
                               "'2014'": "'2016'", "'2015'": "'2017'", "'%Free%'": "'%Love%'"}  # fmt: skip


def test_substitute_turns_the_comparison_the_way_the_question_asks():
    result = substitute("SELECT Name FROM singer WHERE Age < 20", find_values("Who is older than 30?"),
                        SCHEMA)  # fmt: skip
    assert result.sql == "SELECT Name FROM singer WHERE Age > 30"
    assert result.replaced == {"20": "30"}


def test_substitute_changes_nothing_when_the_values_already_agree():
    sql = "SELECT Name FROM singer WHERE Country = 'France'"
    result = substitute(sql, find_values("Singers from 'France'", INDEX), SCHEMA)
    assert (result.sql, result.replaced) == (sql, {})
    # A question without values leaves the literals alone.
    assert substitute(sql, [], SCHEMA).sql == sql
