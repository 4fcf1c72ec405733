"""SQLConsistencyFilter: hand-written pairs on the demo databases, the LLM judge on the
fake server, and the calibration on Spider dev."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
import sqlglot
from fake_openai import FakeRequest, error_reply
from sqlglot import exp
from synth_testing import answer_with, judge_answer, judge_pairs, run

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.compare import gold_orders_rows, results_match
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.sql.skeleton import normalize
from sqlfoundry.synth.consistency_filter import SQLConsistencyFilter
from sqlfoundry.synth.consistency_filter_heuristic import check

KEPT = [
    ("count", "bookshop", "How many Fantasy books cost more than 20 dollars?", None,
     "SELECT COUNT(*) FROM books WHERE genre = 'Fantasy' AND price > 20"),
    ("demonym", "bookshop", "Which French authors were born after 1950? Give their first and last names.",
     None, "SELECT first_name, last_name FROM authors WHERE country = 'France' AND birth_year > 1950"),
    ("evidence", "bookshop", "How many local customers are there?",
     "local customers are the ones living in Japan", "SELECT COUNT(*) FROM customers WHERE country = 'Japan'"),
    ("join", "clinic", "List the names of the cardiologists who earn the highest salary.", None,
     "SELECT T1.first_name, T1.last_name FROM doctors AS T1 JOIN departments AS T2 ON "
     "T1.department_id = T2.department_id WHERE T2.name = 'Cardiology' ORDER BY T1.annual_salary DESC LIMIT 1"),
    ("average", "airline", "What is the average delay of cancelled flights?", None,
     "SELECT AVG(delay_minutes) FROM flights WHERE status = 'Cancelled'"),
    ("descending", "clinic", "Show every department's name and floor, in descending order of floor.", None,
     "SELECT name, floor FROM departments ORDER BY floor DESC"),
]  # fmt: skip

DROPPED = [
    ("no-count", "bookshop", "How many customers live in Spain?",
     "SELECT first_name, last_name FROM customers WHERE country = 'Spain'",
     "inconsistent: asks to count but the SQL counts nothing"),
    ("wrong-direction", "bookshop", "What is the title of the most expensive book?",
     "SELECT title FROM books ORDER BY price ASC LIMIT 1",
     "inconsistent: asks for the highest but the SQL takes the lowest"),
    ("max-for-lowest", "clinic", "Which doctor has the lowest annual salary?",
     "SELECT first_name, last_name FROM doctors WHERE annual_salary = (SELECT MAX(annual_salary) FROM doctors)",
     "inconsistent: asks for the lowest but the SQL takes the highest"),
    ("no-average", "bookshop", "What is the average price of Fiction books?",
     "SELECT MAX(price) FROM books WHERE genre = 'Fiction'",
     "inconsistent: asks for an average but the SQL computes none"),
    ("other-value", "bookshop", "Which books cost more than 50 dollars?",
     "SELECT title FROM books WHERE price > 30",
     "inconsistent: states a value the SQL does not use"),
    ("wrong-order", "airline", "Show flights sorted in ascending order of distance.",
     "SELECT flight_number FROM flights ORDER BY distance_km DESC",
     "inconsistent: asks for ascending order but the SQL sorts descending"),
    ("unasked-top", "bookshop", "List the titles of Fantasy books.",
     "SELECT title FROM books WHERE genre = 'Fantasy' ORDER BY price DESC LIMIT 5",
     "inconsistent: the SQL keeps only the top rows but the question asks for no ranking"),
    ("other-query", "bookshop", "List the names of customers from Germany.",
     "SELECT title FROM books WHERE genre = 'History'",
     "inconsistent: the question does not mention enough of what the SQL uses"),
    ("broken-sql", "bookshop", "List the books.", "SELECT FROM WHERE", "SQL does not parse"),
]  # fmt: skip


def pair(id, db_id, question, sql, evidence=None) -> Sample:
    return Sample(id=id, db_id=db_id, question=question, sql=sql, evidence=evidence)


def test_consistent_pairs_are_kept_with_what_was_found(demo_ctx):
    batch = [pair(i, db, q, sql, ev) for i, db, q, ev, sql in KEPT]
    out = run(SQLConsistencyFilter(engine="offline").process(batch, demo_ctx))
    assert [r.reason for r in out.rejects] == []
    assert [s.id for s in out.samples] == [k[0] for k in KEPT]
    demonym = out.samples[1].meta["consistency"]
    assert demonym == {
        "method": "heuristic",
        "coverage": 1.0,
        "found": {
            "tables": ["authors"],
            "columns": ["authors.first_name", "authors.last_name", "authors.country",
                        "authors.birth_year"],
            "values": ["France", "1950"],
        },
        "missing": {},
        "contradictions": [],
    }  # fmt: skip
    assert out.samples[1].meta["provenance"] == [{"operator": "sql_consistency_filter",
        "engine": "offline", "method": "heuristic", "coverage": 1.0}]  # fmt: skip
    # evidence counts as part of what the question says
    assert out.samples[2].meta["consistency"]["found"]["values"] == ["Japan"]


def test_inconsistent_pairs_are_dropped_with_the_reason(demo_ctx):
    batch = [pair(i, db, q, sql) for i, db, q, sql, _ in DROPPED]
    out = run(SQLConsistencyFilter(engine="offline").process(batch, demo_ctx))
    assert out.samples == []
    assert {r.sample.id: r.reason for r in out.rejects} == {d[0]: d[4] for d in DROPPED}
    by_id = {r.sample.id: r.sample.meta["consistency"] for r in out.rejects}
    assert by_id["other-value"]["contradictions"] == ["states a value the SQL does not use (50)"]
    assert by_id["other-query"]["coverage"] == 0.222
    assert by_id["other-query"]["missing"] == {
        "tables": ["books"], "columns": ["books.genre"], "values": ["History"]
    }  # fmt: skip
    assert by_id["broken-sql"]["error"].startswith("Expected table name")


LABELLED = Path(__file__).parents[1] / "fixtures" / "synth" / "consistency" / "labelled_pairs.jsonl"


def test_every_labelled_pair_is_decided_as_labelled(demo_ctx):
    """The labelled set (see its README): correct pairs kept, each broken pair dropped."""
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines()]
    assert Counter(r["label"] for r in rows) == {"consistent": 26, "inconsistent": 22}
    batch = [pair(f"p{i}", r["db_id"], r["question"], r["SQL"]) for i, r in enumerate(rows)]
    out = run(SQLConsistencyFilter(engine="offline").process(batch, demo_ctx))
    kept = {s.id for s in out.samples}
    wrong = [(r["label"], r["kind"], r["question"]) for i, r in enumerate(rows)
             if (f"p{i}" in kept) != (r["label"] == "consistent")]  # fmt: skip
    assert wrong == []
    reasons = {rows[int(r.sample.id[1:])]["kind"]: r.reason for r in out.rejects}
    assert reasons["wrong counted entity"] == (
        "inconsistent: asks to count something the SQL does not count"
    )
    assert reasons["count of 1s"] == "inconsistent: asks to count something the SQL does not count"
    assert reasons["unasked percentage"] == (
        "inconsistent: the SQL returns a percentage the question does not ask for"
    )
    assert reasons["wrong column"] == "inconsistent: asks for a column the SQL does not return"


def test_missing_fields_and_unknown_databases(demo_ctx):
    batch = [pair("q", "bookshop", None, "SELECT 1"), pair("s", "bookshop", "How many?", ""),
             pair("d", "nowhere", "How many?", "SELECT 1")]  # fmt: skip
    out = run(SQLConsistencyFilter(engine="offline").process(batch, demo_ctx))
    assert {r.sample.id: r.reason for r in out.rejects} == {
        "q": "missing field: question",
        "s": "missing field: SQL",
        "d": "unknown database: nowhere",
    }


def test_column_descriptions_count_as_mentions(demo_root):
    schema = DatabaseManager(root=demo_root).schema("clinic", sample_values=0)
    question = "What is the average amount billed for completed appointments?"
    sql = "SELECT AVG(fee) FROM appointments WHERE status = 'completed'"
    assert "appointments.fee" in check(question, None, sql, schema).found["columns"]
    table = schema.table("appointments")
    bare = table.model_copy(update={"columns": [c.model_copy(update={"description": None})
                                                for c in table.columns]})  # fmt: skip
    plain = schema.model_copy(update={"tables": [bare]})
    assert "appointments.fee" in check(question, None, sql, plain).missing["columns"]


def test_threshold_is_a_checked_parameter(demo_ctx):
    with pytest.raises(ConfigError, match="bad parameters for operator sql_consistency_filter"):
        build("sql_consistency_filter", {"min_coverage": 1.5})
    lenient = SQLConsistencyFilter(engine="offline", min_coverage=0.2)
    batch = [pair("other-query", "bookshop", "List the names of customers from Germany.",
                  "SELECT title FROM books WHERE genre = 'History'")]  # fmt: skip
    assert [s.id for s in run(lenient.process(batch, demo_ctx)).samples] == ["other-query"]


# ------------------------------------------------------------------ LLM judge


def test_llm_judge_keeps_yes_and_drops_no_with_its_reason(llm_ctx, fake):
    answers = {
        "Fantasy": "1. Entities: books. 2. Conditions: genre and price match.\nVerdict: yes",
        "Spain": "1. Entities: customers.\n2. Outputs: the question asks how many, the query "
                 "lists names instead of counting them.\nVerdict: no",
        "Germany": "I am not sure what to make of this.",
    }  # fmt: skip
    prompts: list[str] = []

    def judge(messages, n, index):
        text = messages[-1]["content"]
        prompts.append(text)
        question = next(line for line in text.splitlines() if line.startswith("Question:"))
        return next(a for key, a in answers.items() if key in question)

    fake.handler = answer_with(judge)
    batch = [
        pair("ok", "bookshop", "How many Fantasy books cost more than 20 dollars?",
             "SELECT COUNT(*) FROM books WHERE genre = 'Fantasy' AND price > 20"),
        pair("no", "bookshop", "How many customers live in Spain?",
             "SELECT first_name, last_name FROM customers WHERE country = 'Spain'"),
        pair("garbled", "bookshop", "List customers from Germany.",
             "SELECT first_name FROM customers WHERE country = 'Germany'", evidence="nothing"),
    ]  # fmt: skip
    out = run(SQLConsistencyFilter(pairs_per_request=1).process(batch, llm_ctx))
    assert [s.id for s in out.samples] == ["ok"]
    kept = out.samples[0].meta["consistency"]
    assert kept["method"] == "llm" and kept["verdict"] is True
    assert out.samples[0].meta["engine"] == "llm"
    reasons = {r.sample.id: r.reason for r in out.rejects}
    assert reasons == {
        "no": "judge: inconsistent: 1. Entities: customers. 2. Outputs: the question asks how "
              "many, the query lists names instead of counting them.",
        "garbled": "consistency: judge answer unreadable",
    }  # fmt: skip
    garbled = next(r.sample for r in out.rejects if r.sample.id == "garbled")
    assert garbled.meta["consistency"]["judge"] == "I am not sure what to make of this."
    assert garbled.meta["consistency"]["judge_parse_error"] == "no yes/no verdict found"
    # the judge sees the DDL schema with examples, the question, the evidence and the SQL
    spain = next(p for p in prompts if "live in Spain?" in p)
    assert "CREATE TABLE customers (" in spain and "-- example: [" in spain
    assert "Question: How many customers live in Spain?" in spain
    assert "External knowledge" not in spain
    assert "External knowledge: nothing" in next(p for p in prompts if "from Germany." in p)


# Seven pairs over two databases; the questions say what the judge answers.
SEVERAL = [
    ("b1", "bookshop", "How many Fantasy books are there?", "SELECT COUNT(*) FROM books WHERE genre = 'Fantasy'"),
    ("b2", "bookshop", "List every genre.", "SELECT DISTINCT genre FROM books"),
    ("b3", "bookshop", "How many customers live in Spain? (wrong)", "SELECT first_name FROM customers WHERE country = 'Spain'"),
    ("b4", "bookshop", "What is the highest book price?", "SELECT MAX(price) FROM books"),
    ("b5", "bookshop", "List the titles of History books.", "SELECT title FROM books WHERE genre = 'History'"),
    ("c1", "clinic", "How many doctors are there?", "SELECT COUNT(*) FROM doctors"),
    ("c2", "clinic", "List the departments. (wrong)", "SELECT COUNT(*) FROM departments"),
]  # fmt: skip


def _verdict(question: str, sql: str) -> str:
    if "(wrong)" in question:
        return "The question asks for a list, the query returns something else.\nVerdict: no"
    return f"It reads what is asked: {sql.split()[1]}.\nVerdict: yes"


def _several_batch() -> list[Sample]:
    return [pair(i, db, q, sql) for i, db, q, sql in SEVERAL]


def test_llm_judge_takes_the_pairs_of_one_database_several_to_a_request(llm_ctx, fake):
    prompts: list[str] = []

    def judge(messages, n, index):
        prompts.append(messages[-1]["content"])
        return judge_answer(messages[-1]["content"], _verdict)

    fake.handler = answer_with(judge)
    out = run(SQLConsistencyFilter(pairs_per_request=3).process(_several_batch(), llm_ctx))
    # bookshop's five pairs go 3 + 2, clinic's two together: three requests
    assert [[q for q, _ in judge_pairs(p)] for p in prompts] == [
        [SEVERAL[0][2], SEVERAL[1][2], SEVERAL[2][2]], [SEVERAL[3][2], SEVERAL[4][2]],
        [SEVERAL[5][2], SEVERAL[6][2]]]  # fmt: skip
    first = prompts[0]
    assert first.count("CREATE TABLE books (") == 1  # the schema once for the three
    assert "Review each of these 3 question/SQL pairs" in first
    assert "Pair 1\nQuestion: How many Fantasy books are there?\nSQL query:\n```sql\n" in first
    assert [s.id for s in out.samples] == ["b1", "b2", "b4", "b5", "c1"]
    assert {r.sample.id: r.reason for r in out.rejects} == {
        "b3": "judge: inconsistent: The question asks for a list, the query returns something else.",
        "c2": "judge: inconsistent: The question asks for a list, the query returns something else.",
    }  # fmt: skip
    b2 = out.samples[1].meta["consistency"]
    # each record keeps its own part of the shared answer
    assert b2 == {"method": "llm", "judge": "It reads what is asked: DISTINCT.\nVerdict: yes",
                  "verdict": True, "pairs_in_request": 3}  # fmt: skip
    assert out.samples[4].meta["consistency"]["pairs_in_request"] == 2


def test_pairs_a_shared_answer_leaves_unclear_are_asked_alone(llm_ctx, fake):
    """A shared answer that leaves a pair out, or gives a part without a verdict, sends
    those pairs again one by one; a single answer without a verdict is unreadable."""
    asked_alone: list[str] = []

    def judge(messages, n, index):
        text = messages[-1]["content"]
        pairs = judge_pairs(text)
        if "Pair 1" not in text:  # a one-pair prompt
            asked_alone.append(pairs[0][0])
            return "Hard to say." if "highest" in pairs[0][0] else _verdict(*pairs[0])
        if len(pairs) == 5:  # bookshop: pair 2 left out, pair 4 without a verdict
            return (
                "**Pair 1:** fine.\nVerdict: yes\n\n**Pair 3:** lists names.\nVerdict: no\n"
                "**Pair 4:** I could not decide.\n### Pair 5\nlooks right\nVerdict: yes"
            )
        return "Both look fine to me."  # clinic: prose, no parts to tell apart

    fake.handler = answer_with(judge)
    out = run(SQLConsistencyFilter().process(_several_batch(), llm_ctx))
    assert sorted(asked_alone) == sorted(
        q for i, _, q, _ in SEVERAL if i in ("b2", "b4", "c1", "c2")
    )
    assert [s.id for s in out.samples] == ["b1", "b2", "b5", "c1"]
    assert {r.sample.id: r.reason for r in out.rejects} == {
        "b3": "judge: inconsistent: lists names.",
        "b4": "consistency: judge answer unreadable",
        "c2": "judge: inconsistent: The question asks for a list, the query returns something else.",
    }  # fmt: skip
    kept = {s.id: s.meta["consistency"] for s in out.samples}
    assert kept["b1"] == {"method": "llm", "judge": "fine.\nVerdict: yes", "verdict": True,
                          "pairs_in_request": 5}  # fmt: skip
    assert kept["b5"]["judge"] == "looks right\nVerdict: yes"
    assert "pairs_in_request" not in kept["b2"]  # answered on its own
    b4 = next(r.sample for r in out.rejects if r.sample.id == "b4")
    assert b4.meta["consistency"]["judge"] == "Hard to say."


def test_a_failed_shared_request_rejects_each_of_its_pairs(llm_ctx, fake):
    def handler(request: FakeRequest):
        text = (request.body or {}).get("messages", [{}])[-1].get("content", "")
        if "CREATE TABLE doctors" in text:
            return error_reply(400, "This model's maximum context length is 8 tokens.",
                               code="context_length_exceeded")  # fmt: skip
        return answer_with(lambda m, n, i: judge_answer(m[-1]["content"], _verdict))(request)

    fake.handler = handler
    out = run(SQLConsistencyFilter().process(_several_batch(), llm_ctx))
    assert [s.id for s in out.samples] == ["b1", "b2", "b4", "b5"]
    failed = {r.sample.id: r.reason for r in out.rejects if r.sample.db_id == "clinic"}
    assert set(failed) == {"c1", "c2"}
    assert all(r.startswith("LLM request failed: ") and "context length" in r
               for r in failed.values())  # fmt: skip


def test_llm_engine_without_an_llm_is_a_config_error(demo_ctx):
    with pytest.raises(ConfigError, match="no LLM is configured"):
        run(SQLConsistencyFilter(engine="llm").process([pair("x", "bookshop", "q?", "SELECT 1")],
                                                         demo_ctx))  # fmt: skip


# ------------------------------------------------------------------ calibration on Spider dev


def _flip(sql: str) -> str | None:
    """ASC <-> DESC and MAX <-> MIN everywhere, or None when the query has neither."""
    tree = sqlglot.parse_one(sql, read="sqlite")
    changed = False
    for term in tree.find_all(exp.Ordered):
        term.set("desc", not term.args.get("desc"))
        term.set("nulls_first", None)
        changed = True
    for agg in list(tree.find_all(exp.Max, exp.Min)):
        agg.replace((exp.Min if isinstance(agg, exp.Max) else exp.Max)(this=agg.this.copy()))
        changed = True
    return tree.sql("sqlite") if changed else None


@pytest.mark.slow
def test_calibration_on_spider_dev(spider_root):
    """Gold pairs are kept; mismatched pairs (another query of the same database with a
    different result, or ORDER BY / MAX / MIN flipped so the result changes) are dropped."""
    manager = DatabaseManager(root=spider_root / "database")
    dev = [d for d in json.loads((spider_root / "dev.json").read_text()) if d["db_id"] in manager]
    with SafeExecutor(manager, workers=0, timeout=30) as executor:
        ctx = RunContext(databases=manager, executor=executor)
        gold = run(ctx.execute([(d["query"], d["db_id"]) for d in dev]))
        by_db: dict[str, list[int]] = {}
        for i, d in enumerate(dev):
            by_db.setdefault(d["db_id"], []).append(i)
        # Same result up to row and column order (what the Spider comparison forgives).
        shape = [sorted(tuple(sorted(map(repr, row))) for row in r.rows) for r in gold]
        normal = [normalize(d["query"]) for d in dev]
        swapped = []
        for i, d in enumerate(dev):
            others = [j for j in by_db[d["db_id"]] if gold[j].ok and gold[i].ok
                      and normal[j] != normal[i] and shape[j] != shape[i]]  # fmt: skip
            if others:
                j = random.Random(i).choice(others)
                swapped.append(pair(f"s{i}", d["db_id"], d["question"], dev[j]["query"]))
        candidates = [(i, _flip(d["query"])) for i, d in enumerate(dev)]
        candidates = [(i, sql) for i, sql in candidates if sql is not None]
        flipped_runs = run(ctx.execute([(sql, dev[i]["db_id"]) for i, sql in candidates]))
        flipped = [
            pair(f"f{i}", dev[i]["db_id"], dev[i]["question"], sql)
            for (i, sql), result in zip(candidates, flipped_runs, strict=True)
            if result.ok and gold[i].ok and not results_match(
                gold[i].rows, result.rows, "spider", gold_orders_rows(dev[i]["query"]))
        ]  # fmt: skip
        op = SQLConsistencyFilter(engine="offline")
        positives = [
            pair(f"g{i}", d["db_id"], d["question"], d["query"]) for i, d in enumerate(dev)
        ]
        keep = len(run(op.process(positives, ctx)).samples) / len(positives)
        drop_swapped = len(run(op.process(swapped, ctx)).rejects) / len(swapped)
        drop_flipped = len(run(op.process(flipped, ctx)).rejects) / len(flipped)
    drop_all = (drop_swapped * len(swapped) + drop_flipped * len(flipped)) / (
        len(swapped) + len(flipped)
    )
    print(f"spider dev: keep {keep:.3f} of {len(positives)} gold; drop {drop_swapped:.3f} of "
          f"{len(swapped)} swapped, {drop_flipped:.3f} of {len(flipped)} flipped, {drop_all:.3f} in all")  # fmt: skip
    assert len(positives) == 972 and len(swapped) >= 950 and len(flipped) >= 200
    # measured: keep 0.990, drop 0.888 swapped, 0.885 flipped, 0.887 in all
    assert keep >= 0.985
    assert drop_swapped >= 0.86
    assert drop_flipped >= 0.86
    assert drop_all >= 0.86
