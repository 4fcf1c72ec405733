"""ExtractedPair, the producer stream, pair files, decorators and checkpoints."""

from __future__ import annotations

import csv
import json

import pytest
from synth_testing import run

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.producers import (
    ChainedProducer,
    DeduplicatedProducer,
    ExtractedPair,
    FilteredProducer,
    PairDatabase,
    PairList,
    ValidatedProducer,
)
from sqlfoundry.synth.producers.base import Outcome, PairProducer
from sqlfoundry.synth.producers.output import read_pairs_file, rejects_path, write_pairs

FANTASY = "SELECT count(*) FROM books WHERE genre = 'Fantasy'"


def pair(question: str, sql: str, **kw) -> ExtractedPair:
    return ExtractedPair(question=question, sql=sql, db_id=kw.pop("db_id", "bookshop"), **kw)


# ---------------------------------------------------------------------- the pair


def test_a_pair_goes_to_a_sample_and_back():
    original = pair("How many fantasy books?", FANTASY, id="p1", context=["User: hi"],
                    success=False, evidence="fantasy is a genre", meta={"source": "f.jsonl:3"})  # fmt: skip
    sample = original.to_sample()
    assert sample.id == "p1" and sample.db_id == "bookshop" and sample.sql == FANTASY
    assert sample.evidence == "fantasy is a genre"
    assert sample.meta == {
        "source": "f.jsonl:3",
        "pair": {"success": False, "context": ["User: hi"]},
    }
    assert ExtractedPair.from_sample(sample) == original


def test_a_plain_sample_is_a_successful_pair_and_a_successful_pair_adds_no_meta():
    sample = Sample(id="s", db_id="clinic", question="Q?", sql="SELECT 1")
    got = ExtractedPair.from_sample(sample)
    assert (got.success, got.context, got.meta, got.db_id) == (True, [], {}, "clinic")
    assert got.to_sample().meta == {}


def test_records_use_the_synthesis_field_names_and_read_back():
    original = pair("Q?", FANTASY, id="p1", context=["User: a"], meta={"source": "x"})
    record = original.to_record()
    assert list(record) == ["id", "db_id", "question", "SQL", "success", "context", "meta"]
    assert ExtractedPair.from_record(record) == original
    assert ExtractedPair.from_record({"question": "Q?", "query": "SELECT 1"}).sql == "SELECT 1"
    with pytest.raises(ValueError, match="missing field: question"):
        ExtractedPair.from_record({"SQL": "SELECT 1"})


def test_failed_keeps_the_pair_and_records_the_error():
    failed = pair("Q?", FANTASY).failed("no such column: x")
    assert failed.success is False and failed.meta["error"] == "no such column: x"


# ---------------------------------------------------------------------- files


def test_pair_files_in_jsonl_and_csv(tmp_path):
    pairs = [pair("Q1?", FANTASY, id="a", meta={"source": "log.sql:2"}),
             pair("Q2?", "SELECT titel FROM books", id="b", context=["User: x", "Assistant: y"]).failed("bad")]  # fmt: skip
    assert write_pairs(tmp_path / "p.jsonl", pairs) == 2
    lines = (tmp_path / "p.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"id": "a", "db_id": "bookshop", "question": "Q1?", "SQL": FANTASY,
                                    "success": True, "meta": {"source": "log.sql:2"}}  # fmt: skip
    back, problems = read_pairs_file(tmp_path / "p.jsonl")
    assert problems == [] and [p.id for p in back] == ["a", "b"] and back[1].success is False
    write_pairs(tmp_path / "p.csv", pairs)
    rows = list(csv.reader((tmp_path / "p.csv").open()))
    assert rows[0] == [
        "id",
        "db_id",
        "question",
        "SQL",
        "evidence",
        "success",
        "context",
        "source",
        "error",
    ]
    assert rows[2] == ["b", "bookshop", "Q2?", "SELECT titel FROM books", "", "false",
                       "User: x | Assistant: y", "", "bad"]  # fmt: skip
    assert rejects_path(tmp_path / "p.csv") == tmp_path / "p.rejects.jsonl"
    with pytest.raises(ConfigError):
        write_pairs(tmp_path / "p.txt", pairs)


def test_reading_a_pair_file_names_each_bad_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"db_id": "bookshop", "question": "Q?", "SQL": "SELECT 1"}\n{oops\n'
                    '{"db_id": "bookshop", "SQL": "SELECT 1"}\n')  # fmt: skip
    pairs, problems = read_pairs_file(path)
    assert [p.meta["source"] for p in pairs] == [f"{path}:1"]
    assert [(p["source"], p["reason"].split(":")[0]) for p in problems] == [
        (f"{path}:2", "invalid JSON"), (f"{path}:3", "missing field")]  # fmt: skip


# ---------------------------------------------------------------------- the stream


def test_lists_and_producers_chain():
    first, second = [pair("A?", "SELECT 1", id="a")], [pair("B?", "SELECT 2", id="b")]
    chained = ChainedProducer(PairList(first), PairList(second))
    assert [p.id for p in run(chained.to_pairs())] == ["a", "b"]
    assert [r["producer"] for r in chained.report()] == ["input", "input", "chain"]


class _Slow(PairProducer):
    """Doubles each pair after a delay that shrinks along the input (so they finish out of order)."""

    name = "slow"

    def __init__(self, source, fail_at: str | None = None) -> None:
        super().__init__(source=source, concurrency=4)
        self.fail_at = fail_at
        self.worked: list[str] = []

    def produce(self):
        return self.each(self.upstream(), self._work, lambda p: p.id)

    async def _work(self, item: ExtractedPair) -> Outcome:
        import asyncio

        await asyncio.sleep(0.05 / (1 + int(item.id)))
        if item.id == self.fail_at:
            raise RuntimeError("interrupted")
        self.worked.append(item.id)
        return Outcome([item, item.model_copy(update={"id": item.id + "x"})])


def test_each_yields_in_input_order_and_bounds_the_work_in_flight():
    source = [pair(f"Q{k}?", "SELECT 1", id=str(k)) for k in range(10)]
    producer = _Slow(source)
    ids = [p.id for p in run(producer.to_pairs())]
    assert ids == [x for k in range(10) for x in (str(k), f"{k}x")]
    assert producer.stats["inputs"] == 10 and producer.stats["pairs"] == 20


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    source = [pair(f"Q{k}?", "SELECT 1", id=str(k)) for k in range(6)]
    first = _Slow(source, fail_at="4")
    with pytest.raises(RuntimeError, match="interrupted"):
        run(first.to_pairs(run_dir=tmp_path))
    assert sorted(first.worked) == ["0", "1", "2", "3", "5"]
    again = _Slow(source)
    pairs = run(again.to_pairs(run_dir=tmp_path))
    assert len(pairs) == 12
    assert again.worked == ["4"]  # everything else came from the checkpoint
    assert again.stats["reused"] == 5
    [folder] = (tmp_path / "producers").iterdir()
    assert folder.name.startswith("slow-") and (folder / "done").exists()
    # A third run does no work at all.
    third = _Slow(source)
    run(third.to_pairs(run_dir=tmp_path))
    assert third.worked == [] and third.stats["reused"] == 6


# ---------------------------------------------------------------------- decorators


@pytest.fixture
def demo_db(demo_ctx):
    return PairDatabase(demo_ctx, "bookshop")


MIXED = [
    pair("How many fantasy books?", FANTASY, id="ok"),
    pair("Titles?", "SELECT titel FROM books", id="column"),
    pair("Drop it", "DELETE FROM books", id="write"),
    pair("Weird", "SELECT count(*) FROM books WHERE price > 'x' GROUP", id="syntax"),
    pair("Clinic?", "SELECT name FROM departments", id="clinic", db_id="clinic"),
    pair("Nowhere?", "SELECT 1", id="nodb", db_id="atlantis"),
]


def test_validated_marks_what_is_wrong_and_keeps_it(demo_db):
    producer = ValidatedProducer(MIXED, demo_db, execute=True)
    pairs = {p.id: p for p in run(producer.to_pairs())}
    assert pairs["ok"].success and pairs["ok"].meta["rows"] == 1
    assert pairs["clinic"].success and pairs["clinic"].meta["rows"] == 12
    assert pairs["column"].meta["error"] == "unknown column(s): books.titel"
    assert pairs["write"].meta["error"].startswith("not a read-only query")
    assert pairs["syntax"].meta["error"].startswith("does not parse")
    assert pairs["nodb"].meta["error"] == "unknown database: 'atlantis'"
    assert [p.id for p in pairs.values() if not p.success] == ["column", "write", "syntax", "nodb"]


def test_validated_with_remove_invalid_rejects_with_the_reason(demo_db):
    producer = ValidatedProducer(MIXED, demo_db, remove_invalid=True)
    assert [p.id for p in run(producer.to_pairs())] == ["ok", "clinic"]
    assert [(r["id"], r["reason"].split(":")[0]) for r in producer.rejects] == [
        ("column", "unknown column(s)"), ("write", "not a read-only query"),
        ("syntax", "does not parse"), ("nodb", "unknown database")]  # fmt: skip


def test_validated_execute_catches_what_only_the_database_knows(demo_db):
    runtime = pair("Bad function", "SELECT no_such_function(title) FROM books", id="fn")
    [checked] = run(ValidatedProducer([runtime], demo_db).to_pairs())
    assert checked.success  # it parses and names real columns
    [ran] = run(ValidatedProducer([runtime], demo_db, execute=True).to_pairs())
    assert not ran.success and ran.meta["error"].startswith("execution failed: ")


def test_filtered_by_success_tables_and_a_predicate():
    source = [
        pair("A", "SELECT count(*) FROM books", id="a"),
        pair("B", "SELECT T1.title FROM books AS T1 JOIN authors AS T2 ON T1.author_id = T2.author_id", id="b"),
        pair("C", "SELECT name FROM main.publishers", id="c"),
        pair("D", "SELECT count(*) FROM books", id="d", success=False),
        pair("E", "not sql at all (", id="e"),
    ]  # fmt: skip
    producer = FilteredProducer(source, tables=["authors", "main.publishers"])
    assert [p.id for p in run(producer.to_pairs())] == ["b", "c"]
    assert {r["id"]: r["reason"] for r in producer.rejects} == {
        "a": "filtered: reads none of authors, publishers",
        "d": "filtered: unsuccessful pair",
        "e": "filtered: cannot read the tables of the SQL (Invalid expression / Unexpected token (line 1, col 14))",
    }  # fmt: skip
    keep_failed = FilteredProducer(source, success_only=False, filter=lambda p: p.question != "A")
    assert [p.id for p in run(keep_failed.to_pairs())] == ["b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("strategy", "kept"),
    [
        ("exact", ["a", "c", "d", "e"]),
        ("sql-only", ["a", "d", "e"]),
        ("question-only", ["a", "c", "e"]),
    ],
)
def test_deduplicated_strategies(strategy, kept):
    source = [
        pair("How many books?", "SELECT count(*) FROM books", id="a"),
        pair("how many  books", "select COUNT(*)  from BOOKS", id="b"),  # same after normalising
        pair("Count the books.", "SELECT  count(*)\nFROM books", id="c"),  # same SQL, new words
        pair("How many books?", "SELECT count(*) FROM books WHERE genre = 'fantasy'", id="d"),
        pair("How many books?", "SELECT count(*) FROM books", id="e", db_id="clinic"),
    ]  # fmt: skip
    producer = DeduplicatedProducer(source, strategy=strategy)
    assert [p.id for p in run(producer.to_pairs())] == kept
    assert all(r["reason"].startswith("duplicate of ") for r in producer.rejects)


def test_decorators_compose_in_any_order(demo_db):
    def chain_a():
        return DeduplicatedProducer(FilteredProducer(ValidatedProducer(MIXED + MIXED[:1], demo_db)))

    def chain_b():
        return ValidatedProducer(FilteredProducer(DeduplicatedProducer(MIXED + MIXED[:1]),
                                                  success_only=False), demo_db)  # fmt: skip

    assert [p.id for p in run(chain_a().to_pairs())] == ["ok", "clinic"]
    b = run(chain_b().to_pairs())
    assert [p.id for p in b if p.success] == ["ok", "clinic"] and len(b) == 6


def test_bad_decorator_options_fail_when_built():
    with pytest.raises(ConfigError, match="unknown strategy"):
        DeduplicatedProducer([], strategy="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        FilteredProducer([], dialect="klingon")
