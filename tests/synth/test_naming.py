"""Readable names for schema identifiers."""

from __future__ import annotations

import pytest

from sqlfoundry.synth.naming import display, entities, entity, humanize, plural, singular, words


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("dept_name", "department name"),
        ("StuID", "student id"),
        ("Song_release_year", "song release year"),
        ("LifeExpectancy", "life expectancy"),
        ("customer_id", "customer id"),
        ("Num_of_Staff", "number of staff"),
        ("date_of_birth", "date of birth"),
        ("HS", "hs"),
        ("year2", "year 2"),
        ('"Population"', "population"),
        ("GNPOld", "old gnp"),
        # run-together words split by English word frequencies; scraps and known words stay
        ("Highschooler", "high schooler"),
        ("countrylanguage", "country language"),
        ("DestAirport", "destination airport"),
        ("telephone", "telephone"),
        ("destairport", "destairport"),
        # a trailing acronym of the words before it says nothing more
        ("Pixel_aspect_ratio_PAR", "pixel aspect ratio"),
    ],
)
def test_humanize(identifier: str, expected: str):
    assert humanize(identifier) == expected


def test_words_and_display():
    assert words("tableName2") == ["table", "name", "2"]
    assert display("isbn_code") == "ISBN code"
    assert display("Singer_ID") == "singer ID"


@pytest.mark.parametrize(
    ("singular_form", "plural_form"),
    [
        ("country", "countries"),
        ("singer", "singers"),
        ("class", "classes"),
        ("person", "people"),
        ("match", "matches"),
        ("day", "days"),
        ("tax", "taxes"),
        ("staff", "staff"),
        ("flight crew", "flight crews"),
    ],  # fmt: skip
)
def test_plural_and_singular_round_trip(singular_form: str, plural_form: str):
    assert plural(singular_form) == plural_form
    assert singular(plural_form) == singular_form


def test_entities_of_table_names():
    assert entity("singers") == "singer"
    assert entity("Student_Course_Attendance") == "student course attendance"
    assert entities("singer") == "singers"
    assert entities("people") == "people"
    assert entity("status") == "status"
    assert entities("address") == "addresses"


def test_uncountable_nouns_stay_as_they_are():
    assert plural("aircraft") == "aircraft"
    assert singular("news") == "news"
    assert singular("cars data") == "cars data"
    assert entities("aircraft") == "aircraft"
