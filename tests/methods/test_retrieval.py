"""RetrievalMethod and the retrieval_sql_generator operator on the demo databases."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from importlib.resources import files
from pathlib import Path

import pytest
from sqlglot import parse_one

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError, DatabaseNotFoundError, InputError
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.retrieval import RetrievalAnswer, RetrievalMethod
from sqlfoundry.methods.retrieval import pairs as retrieval_pairs
from sqlfoundry.methods.retrieval.features import key_columns
from sqlfoundry.methods.retrieval.index import PairIndex, Query
from sqlfoundry.methods.retrieval.linking import SchemaLexicon, question_cues, terms
from sqlfoundry.methods.retrieval.values import ValueIndex, find_values


def spelled_alike(sql: str) -> str:
    """The query as sqlglot spells it: ``avg(fee)`` and ``AVG(fee)`` are one answer."""
    return parse_one(sql).sql()


def rows(manager, db_id: str, sql: str) -> list[tuple]:
    with manager.open(db_id) as db:
        return db.query(sql)


@pytest.mark.parametrize(
    ("question", "db_id", "sql"),
    [
        ("How many books are there?", "bookshop", "SELECT COUNT(*) FROM books"),
        ("What is the average price of books?", "bookshop", "SELECT AVG(price) FROM books"),
        ("What is the title of the cheapest book?", "bookshop",
         "SELECT title FROM books ORDER BY price ASC LIMIT 1"),
        ("How many flights are there?", "airline", "SELECT COUNT(*) FROM flights"),
        ("What is the average fee of appointments?", "clinic", "SELECT AVG(fee) FROM appointments"),
    ],
)  # fmt: skip
def test_answers_on_the_demo_databases(method, question, db_id, sql):
    answer = method.answer(question, db_id)
    assert isinstance(answer, RetrievalAnswer)
    assert spelled_alike(answer.sql) == spelled_alike(sql)
    assert answer.matched_question and answer.score > 0


def test_a_value_named_in_the_question_is_substituted(method, demo_manager):
    answer = method.answer("How many customers are from Canada?", "bookshop")
    assert answer.sql == "SELECT COUNT(*) FROM customers WHERE country = 'Canada'"
    # The synthesized pair had another country; the record says which.
    ((old, new),) = answer.substitutions.items()
    assert new == "'Canada'" and old != new
    expected = rows(demo_manager, "bookshop",
                    "SELECT count(*) FROM customers WHERE country = 'Canada'")  # fmt: skip
    assert rows(demo_manager, "bookshop", answer.sql) == expected


def test_a_value_without_a_literal_becomes_a_condition(method):
    answer = method.answer("List the names of airports in Japan.", "airline")
    assert answer.sql == "SELECT name FROM airports WHERE country = 'Japan'"
    # The matched pair had no such condition, or another one: the record says how Japan came in.
    assert any("'Japan'" in new for new in answer.substitutions.values())


def test_a_number_and_its_comparison_are_taken_from_the_question(method):
    answer = method.answer("How many aircraft were built after 2015?", "airline")
    assert answer.sql == "SELECT COUNT(*) FROM aircraft WHERE year_built > 2015"


def test_errors_for_an_unknown_database_and_an_empty_question(method):
    with pytest.raises(DatabaseNotFoundError):
        method.prepare("no_such_db")
    with pytest.raises(DatabaseNotFoundError):
        method.answer("How many books are there?", "no_such_db")
    for empty in ("", "   \n"):
        with pytest.raises(InputError):
            method.answer(empty, "bookshop")
    with pytest.raises(ConfigError):
        RetrievalMethod(method.databases, num_per_db=0)


def test_a_second_instance_loads_the_cache_without_synthesizing(method, demo_manager,
                                                               method_cache, monkeypatch):  # fmt: skip
    first = method.prepare("bookshop")

    def no_synthesis(*args, **kwargs):
        raise AssertionError("the pairs should come from the cache")

    monkeypatch.setattr(retrieval_pairs, "synthesize", no_synthesis)
    again = RetrievalMethod(demo_manager, cache_dir=method_cache, num_per_db=60, seed=0)
    info = again.prepare("bookshop")
    assert info.from_cache and info.pairs == first.pairs and info.cache_file == first.cache_file
    question = "What are the titles of books in the genre 'Fantasy'?"
    assert again.answer(question, "bookshop") == method.answer(question, "bookshop")
    # Another seed is another set of pairs: the cache has none for it.
    other = RetrievalMethod(demo_manager, cache_dir=method_cache, num_per_db=60, seed=1)
    with pytest.raises(AssertionError, match="from the cache"):
        other.prepare("bookshop")


def test_old_cached_features_are_recomputed_without_synthesizing(method, demo_manager,
                                                                method_cache, tmp_path,
                                                                monkeypatch):  # fmt: skip
    source = method.prepare("airline").cache_file
    cache = tmp_path / "cache"
    cache.mkdir()
    copy = cache / source.name
    records = [json.loads(line) for line in source.read_text().splitlines()]
    copy.write_text("".join(json.dumps({**r, "format": 0, "terms": []}) + "\n" for r in records))
    monkeypatch.setattr(retrieval_pairs, "synthesize",
                        lambda *a, **k: pytest.fail("features only need the cached pairs"))  # fmt: skip
    again = RetrievalMethod(demo_manager, cache_dir=cache, num_per_db=60, seed=0)
    assert again.prepare("airline").pairs == len(records)
    rewritten = [json.loads(line) for line in copy.read_text().splitlines()]
    assert {r["format"] for r in rewritten} == {retrieval_pairs.PAIR_FORMAT}
    assert rewritten == [{**r, "format": retrieval_pairs.PAIR_FORMAT} for r in records]


def test_prepare_builds_once_when_two_threads_ask_at_once(demo_manager, tmp_path, monkeypatch):
    calls = []

    def slow_synthesis(databases, db_id, num_per_db, seed):
        calls.append(db_id)
        time.sleep(0.3)
        return [Sample(id=f"{db_id}-0", db_id=db_id, question="How many books are there?",
                       sql="SELECT COUNT(*) FROM books")]  # fmt: skip

    monkeypatch.setattr(retrieval_pairs, "synthesize", slow_synthesis)
    shared = RetrievalMethod(demo_manager, cache_dir=tmp_path, num_per_db=5)
    infos = []
    threads = [threading.Thread(target=lambda: infos.append(shared.prepare("bookshop")))
               for _ in range(2)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["bookshop"]
    assert infos[0] is infos[1] and infos[0].pairs == 1
    assert shared.answer("How many books?", "bookshop").sql == "SELECT COUNT(*) FROM books"


def test_prepare_runs_inside_an_event_loop(demo_manager, tmp_path):
    """The gateway may call it from async code: the synthesis then runs on its own thread."""
    fresh = RetrievalMethod(demo_manager, cache_dir=tmp_path, num_per_db=10)

    async def inside() -> int:
        return fresh.prepare("clinic").pairs

    assert asyncio.run(inside()) > 10
    assert not fresh.prepare("clinic").from_cache  # built in this instance


def test_the_default_cache_folder_follows_the_environment(tmp_path):
    env = {"SQLFOUNDRY_CACHE_DIR": str(tmp_path)}
    assert retrieval_pairs.default_cache_dir(env) == tmp_path / "retrieval"
    assert retrieval_pairs.default_cache_dir({}).parts[-2:] == ("sqlfoundry", "retrieval")


# --------------------------------------------------------------------------- operator


def test_the_operator_writes_pred_sql_and_rejects_with_reasons(demo_manager, method_cache):
    op = build("retrieval_sql_generator", {"num_per_db": 60, "cache_dir": str(method_cache),
                                           "candidates": 2})  # fmt: skip
    batch = [
        Sample(id="q1", db_id="bookshop", question="How many books are there?"),
        Sample(id="q2", db_id="bookshop", question="  "),
        Sample(id="q3", db_id="nowhere", question="How many books are there?"),
    ]
    ctx = RunContext(databases=demo_manager, seed=0)
    out = asyncio.run(op.process(batch, ctx))
    assert [(r.sample.id, r.reason) for r in out.rejects] == [
        ("q2", "missing field: question"),
        ("q3", "unknown database: 'nowhere'"),
    ]
    (record,) = out.samples
    assert record.pred_sql == "SELECT COUNT(*) FROM books"
    assert len(record.candidates) == 3 and record.candidates[0] == record.pred_sql
    found = record.meta["retrieval"]
    assert set(found) == {"score", "matched_question", "substitutions"}
    assert found["substitutions"] == {} and "books" in found["matched_question"]
    assert record.meta["provenance"] == [
        {"operator": "retrieval_sql_generator", "engine": "offline", "seed": 0}
    ]
    assert batch[0].pred_sql is None  # the input record is left as it was


def test_the_operator_runs_as_a_pipeline_step_from_config(demo_manager, method_cache, tmp_path):
    pipeline = Pipeline.from_config([{"op": "retrieval_sql_generator", "num_per_db": 60,
                                      "cache_dir": str(method_cache)}])  # fmt: skip
    samples = [Sample(id="a", db_id="clinic", question="What is the average fee of appointments?")]
    result = pipeline.run(samples, tmp_path / "run", RunContext(databases=demo_manager, seed=0))
    assert [spelled_alike(s.pred_sql) for s in result.samples] == [
        "SELECT AVG(fee) FROM appointments"
    ]
    assert (tmp_path / "run" / "data.jsonl").is_file()


def test_the_operator_rejects_bad_parameters():
    with pytest.raises(ConfigError):
        build("retrieval_sql_generator", {"num_per_db": 0})
    with pytest.raises(ConfigError):
        build("retrieval_sql_generator", {"top_k": 3})


def test_the_cache_file_is_jsonl_named_by_database_and_key(method):
    info = method.prepare("clinic")
    assert isinstance(info.cache_file, Path) and info.cache_file.name.startswith("clinic-")
    first = json.loads(info.cache_file.read_text().splitlines()[0])
    assert {"question", "sql", "format"} <= set(first)


def _query(question: str, lexicon: SchemaLexicon, values_index: ValueIndex) -> Query:
    """A question read as RetrievalMethod reads it (values blanked out of its words)."""
    values = find_values(question, values_index)
    text = list(question)
    for v in values:
        text[v.start : v.end] = " " * (v.end - v.start)
    plain = "".join(text)
    plain_terms = terms(plain)
    return Query(terms=[t for t in plain_terms if not t.isdigit()],
                 cues=question_cues(plain, lexicon.cue_names),
                 links=lexicon.link(plain_terms, plain), values=values)  # fmt: skip


@pytest.mark.parametrize("db_id", ["bookshop", "clinic", "airline"])
def test_pruning_ranks_as_fitting_every_shortlisted_pair_does(method, demo_manager, db_id):
    schema = demo_manager.schema(db_id, sample_values=5)
    pairs = retrieval_pairs.load_cached(method.prepare(db_id).cache_file, schema)
    lexicon = SchemaLexicon(schema)
    with demo_manager.open(db_id) as database:
        values = ValueIndex.build(database, schema)
    pruned, full = (PairIndex(pairs, kinds=lexicon.kinds, keys=key_columns(schema), prune=prune)
                    for prune in (True, False))  # fmt: skip
    # The pairs' own questions (every shape the bank has) and people's questions.
    people = files("sqlfoundry.methods") / "demo" / "questions.jsonl"
    questions = [p.question for p in pairs] + [
        r["question"] for r in map(json.loads, people.read_text().splitlines())
        if r["db_id"] == db_id
    ]  # fmt: skip
    assert len(questions) > 60
    for question in questions:
        query = _query(question, lexicon, values)
        for k in (1, 3):
            assert pruned.search(query, k=k) == full.search(query, k=k), question
