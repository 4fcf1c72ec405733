"""The pair index on hand-made pairs: features, cues, ranking and fitting a pair's SQL."""

from __future__ import annotations

import pytest

from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table
from sqlfoundry.methods.retrieval.adapt import adapt, add_conditions
from sqlfoundry.methods.retrieval.features import Pair, key_columns, make_pair, sql_cues
from sqlfoundry.methods.retrieval.index import BM25, PairIndex, Query, should_flip
from sqlfoundry.methods.retrieval.linking import SchemaLexicon, question_cues, stem, terms
from sqlfoundry.methods.retrieval.substitution import Slot, substitute
from sqlfoundry.methods.retrieval.values import ValueIndex, find_values
from sqlfoundry.sql.parse import parse_one

SCHEMA = Schema(
    db_id="concerts",
    tables=[
        Table(name="singer", primary_key=["Singer_ID"],
              columns=[Column(name="Singer_ID", type="INT", primary_key=True),
                       Column(name="Name", type="TEXT"), Column(name="Country", type="TEXT"),
                       Column(name="Age", type="INT"), Column(name="Net_Worth", type="REAL")]),
        Table(name="concert", primary_key=["concert_ID"],
              columns=[Column(name="concert_ID", type="INT", primary_key=True),
                       Column(name="Year", type="TEXT"), Column(name="Theme", type="TEXT")]),
        Table(name="singer_in_concert",
              columns=[Column(name="concert_ID", type="INT"), Column(name="Singer_ID", type="INT")],
              foreign_keys=[ForeignKey(columns=["Singer_ID"], ref_table="singer",
                                       ref_columns=["Singer_ID"]),
                            ForeignKey(columns=["concert_ID"], ref_table="concert",
                                       ref_columns=["concert_ID"])]),
    ],
)  # fmt: skip

PAIRS = [
    ("How many singers are there?", "SELECT COUNT(*) FROM singer"),
    ("What are the names of all singers?", "SELECT Name FROM singer"),
    ("What is the average age of singers from France?",
     "SELECT AVG(Age) FROM singer WHERE Country = 'France'"),
    ("What are the names and ages of singers, oldest first?",
     "SELECT Name, Age FROM singer ORDER BY Age DESC"),
    ("Show the name of the oldest singer.", "SELECT Name FROM singer ORDER BY Age DESC LIMIT 1"),
    ("For each country, how many singers are there?",
     "SELECT Country, COUNT(*) FROM singer GROUP BY Country"),
    ("What are the themes of concerts in 2014?", "SELECT Theme FROM concert WHERE Year = '2014'"),
    ("List the names of singers who have a concert.",
     "SELECT DISTINCT T1.Name FROM singer AS T1 JOIN singer_in_concert AS T2 "
     "ON T1.Singer_ID = T2.Singer_ID GROUP BY T1.Singer_ID"),
]  # fmt: skip
VALUES = ValueIndex.from_rows([("singer", "Country", "France"), ("singer", "Country", "Netherlands"),
                               ("singer", "Name", "Joe Sharp")])  # fmt: skip
LEXICON = SchemaLexicon(SCHEMA)


@pytest.fixture(scope="module")
def index() -> PairIndex:
    pairs = [make_pair(q, sql, SCHEMA, id=str(i)) for i, (q, sql) in enumerate(PAIRS)]
    return PairIndex(pairs, kinds=LEXICON.kinds, keys=key_columns(SCHEMA))


def ask(index: PairIndex, question: str) -> tuple[str, dict[str, str]]:
    """Rank, fit and fill as RetrievalMethod does; the SQL and every change made."""
    values = find_values(question, VALUES)
    text = list(question)
    for v in values:
        text[v.start : v.end] = " " * (v.end - v.start)
    plain = "".join(text)
    query = Query(terms=terms(plain), cues=question_cues(plain, LEXICON.cue_names),
                  links=LEXICON.link(terms(plain), plain), values=values)  # fmt: skip
    best = index.search(query, k=1)[0]
    sql, changed = adapt(best.pair.sql, best.swaps, best.drops, SCHEMA, best.flip, best.adds)
    sub = substitute(sql, values, SCHEMA)
    sql, added = add_conditions(sub.sql, best.inserts, SCHEMA)
    return sql, {**changed, **sub.replaced, **added}


def test_terms_drop_stop_words_and_stem():
    assert terms("How many singers were released in the Netherlands?") == [
        "singer", "releas", "netherland"
    ]  # fmt: skip
    assert [stem(w) for w in ("shipped", "departing", "countries", "age")] == [
        "ship", "depart", "country", "age"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("question", "cues"),
    [
        ("How many singers are there?", {"count"}),
        ("What is the total number of singers?", {"count"}),
        ("What is the average, minimum, and maximum age?", {"avg", "min", "max"}),
        ("Show names ordered by age from the oldest to the youngest.", {"order", "desc"}),
        ("List the titles in alphabetical order.", {"order", "asc"}),
        ("List the titles in reverse alphabetical order.", {"order", "desc"}),
        ("For each country, how many singers?", {"group", "count"}),
        ("Which stadiums have no concert?", {"neg"}),
        ("Names of singers older than 30", {"gt"}),
        ("Songs whose name contains 'Hey'", {"like"}),
    ],
)
def test_question_cues(question, cues):
    assert question_cues(question) == frozenset(cues)


def test_a_cue_word_inside_a_column_name_is_not_a_cue():
    names = ["number of products"]
    assert question_cues("What is the minimum number of products?", names) == {"min"}


@pytest.mark.parametrize(
    ("sql", "cues"),
    [
        ("SELECT COUNT(*) FROM singer", {"count"}),
        ("SELECT Name FROM singer ORDER BY Age DESC LIMIT 1", {"max"}),
        ("SELECT Name FROM singer ORDER BY Age", {"order", "asc"}),
        ("SELECT Country, COUNT(*) FROM singer GROUP BY Country", {"count", "group"}),
        # A count only in HAVING is "at least 2 ...", not "how many".
        ("SELECT Country FROM singer GROUP BY Country HAVING COUNT(*) >= 2", {"gt"}),
        ("SELECT Name FROM singer WHERE Singer_ID NOT IN (SELECT Singer_ID FROM singer_in_concert)",
         {"neg"}),
        ("SELECT Name FROM singer WHERE Age > (SELECT AVG(Age) FROM singer)", {"gt", "avg"}),
        ("SELECT Name FROM singer INTERSECT SELECT Name FROM singer", {"intersect"}),
    ],
)  # fmt: skip
def test_sql_cues(sql, cues):
    assert sql_cues(parse_one(sql)) == frozenset(cues)


def test_pair_features_leave_values_and_join_keys_out():
    pair = make_pair(PAIRS[2][0], PAIRS[2][1], SCHEMA)
    # "France" is the pair's value, not what it is about.
    assert pair.terms == ("averag", "age", "singer")
    assert pair.columns == {("singer", "age"), ("singer", "country")}
    assert pair.slots == (Slot("singer", "country", "text", "=", "France"),)
    joined = make_pair(PAIRS[7][0], PAIRS[7][1], SCHEMA)
    assert joined.columns == {("singer", "name")}
    assert joined.tables == {"singer", "singer_in_concert"}
    assert joined.outer_tables == {"singer", "singer_in_concert"}
    assert Pair.from_dict(joined.to_dict()) == joined


def test_bm25_ranks_the_document_sharing_the_rarer_term_first():
    scores = BM25([["singer", "name"], ["concert", "theme"], ["singer", "age"]]).scores(["theme"])
    assert scores[1] > 0 and scores[0] == scores[2] == 0


@pytest.mark.parametrize(
    ("question", "sql", "changed"),
    [
        ("How many singers do we have?", "SELECT COUNT(*) FROM singer", {}),
        # A column swapped for the one the question names, and the value put in.
        ("What is the average net worth of singers from the Netherlands?",
         "SELECT AVG(Net_Worth) FROM singer WHERE Country = 'Netherlands'",
         {"singer.Age": "singer.Net_Worth", "'France'": "'Netherlands'"}),
        # The other end of the same order.
        ("What is the name of the youngest singer?",
         "SELECT Name FROM singer ORDER BY Age ASC LIMIT 1", {"DESC": "ASC"}),
        # A value no literal takes becomes a condition.
        ("How many singers from France are there?",
         "SELECT COUNT(*) FROM singer WHERE Country = 'France'",
         {"+singer.Country": "= 'France'"}),
        ("Show the theme of concerts in 2015.", "SELECT Theme FROM concert WHERE Year = '2015'",
         {"'2014'": "'2015'"}),
        # A SELECT item the question does not ask for is left out...
        ("Show the ages of singers, oldest first.", "SELECT Age FROM singer ORDER BY Age DESC",
         {"singer.Name": ""}),
        # ... and the ones it asks for are added.
        ("What are the names, countries and ages of every singer?",
         "SELECT Name, Age, Country FROM singer", {"+select": "singer.Age, singer.Country"}),
    ],
)  # fmt: skip
def test_the_best_pair_is_fitted_to_the_question(index, question, sql, changed):
    assert ask(index, question) == (sql, changed)


def test_flip_needs_the_question_to_ask_only_for_the_other_end():
    assert should_flip(frozenset({"min"}), frozenset({"max"}))
    assert not should_flip(frozenset({"min", "max"}), frozenset({"max"}))
    assert not should_flip(frozenset({"max"}), frozenset({"max"}))
    assert should_flip(frozenset({"order", "desc"}), frozenset({"order", "asc"}))


def test_swaps_never_touch_join_conditions():
    sql = ("SELECT T1.Singer_ID FROM singer AS T1 JOIN singer_in_concert AS T2 "
           "ON T1.Singer_ID = T2.Singer_ID")  # fmt: skip
    out, changed = adapt(sql, {("singer", "singer_id"): ("singer", "name")}, set(), SCHEMA)
    assert out == ("SELECT T1.Name FROM singer AS T1 JOIN singer_in_concert AS T2 "
                   "ON T1.Singer_ID = T2.Singer_ID")  # fmt: skip
    assert changed == {"singer.Singer_ID": "singer.Name"}
