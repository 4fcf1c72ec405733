"""CoTGenerator: plan-based reasoning offline; LLM reasoning kept only when its SQL checks out."""

from __future__ import annotations

import pytest
from synth_testing import answer_with, run

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.cot_generator import CoTGenerator

AVG_JAPAN = (
    "SELECT avg(T1.price) FROM books AS T1 JOIN authors AS T2 ON T1.author_id = T2.author_id "
    "WHERE T2.country = 'Japan'"
)
BIG_DEPTS = (
    "SELECT T2.name FROM doctors AS T1 JOIN departments AS T2 "
    "ON T1.department_id = T2.department_id GROUP BY T2.department_id HAVING count(*) > 5"
)
SHARED = "SELECT country FROM authors INTERSECT SELECT country FROM customers"

OFFLINE = [
    ("bookshop", "What is the average price of books written by authors from Japan?", AVG_JAPAN,
     "Let me work out the query step by step.\n\n"
     "1. The question asks for the average price of books with an author from Japan.\n"
     "2. The data comes from these tables: `books` (as T1), which holds the books with `price` and "
     "`author_id` (the question says \"books\"); `authors` (as T2), which holds the authors with "
     "`author_id` and `country` (the question says \"authors\").\n"
     "3. Join the tables on `T1.author_id` = `T2.author_id` (each book points to its author).\n"
     "4. Filter with `T2.country = 'Japan'` (the books with an author from Japan).\n"
     "5. Select `AVG(T1.price)`, computing the average price.\n\n"
     f"So the final query is:\n```sql\n{AVG_JAPAN}\n```"),
    ("clinic", "Which departments have more than 5 doctors? Give their names.", BIG_DEPTS,
     "Let me work out the query step by step.\n\n"
     "1. The question asks for the names of departments that have more than 5 doctors.\n"
     "2. The data comes from these tables: `doctors` (as T1), which holds the doctors with "
     "`department_id` (the question says \"doctors\"); `departments` (as T2), which holds the "
     "departments with `name` and `department_id` (the question says \"departments\").\n"
     "3. Join the tables on `T1.department_id` = `T2.department_id` (each doctor points to its "
     "department).\n"
     "4. Group the rows by `T2.department_id`, one group per department.\n"
     "5. Keep only the groups where `COUNT(*) > 5` (the departments that have more than 5 "
     "doctors).\n"
     "6. Select `T2.name`.\n\n"
     f"So the final query is:\n```sql\n{BIG_DEPTS}\n```"),
    ("bookshop", "Which countries have both authors and customers?", SHARED,
     "Let me work out the query step by step.\n\n"
     "1. The question asks for the countries shared by both authors and customers.\n"
     "2. This takes two queries combined with INTERSECT, which keeps only the rows both parts "
     "return.\n"
     "3. The first part: (a) The data comes from `authors`, which holds the authors with "
     "`country` (the question says \"authors\"). (b) Select `country`.\n"
     "4. The second part: (a) The data comes from `customers`, which holds the customers with "
     "`country` (the question says \"customers\"). (b) Select `country`.\n\n"
     f"So the final query is:\n```sql\n{SHARED}\n```"),
]  # fmt: skip


def _cot(sql: str) -> str:
    return f"1. Find the rows.\n2. Assemble.\n```sql\n{sql}\n```"


# ---------------------------------------------------------------------- offline


@pytest.mark.parametrize(("db", "question", "sql", "expected"), OFFLINE)
def test_offline_reasoning_follows_the_plan(demo_ctx, db, question, sql, expected):
    batch = [Sample(id="r", db_id=db, question=question, sql=sql)]
    out = run(CoTGenerator(engine="offline").process(batch, demo_ctx))
    assert out.rejects == []
    record = out.samples[0]
    assert record.cot == expected
    assert record.meta["cot_attempts"] == 1
    assert record.meta["provenance"] == [
        {"operator": "cot_generator", "engine": "offline", "attempts": 1}
    ]


def test_offline_is_deterministic_and_rejects_what_it_cannot_check(demo_ctx):
    batch = [
        Sample(
            id="ok", db_id="bookshop", question="How many books?", sql="SELECT count(*) FROM books"
        ),
        Sample(id="bad", db_id="bookshop", question="Q?", sql="SELECT nope FROM books"),
        Sample(id="noq", db_id="bookshop", sql="SELECT count(*) FROM books"),
        Sample(id="nodb", db_id="nowhere", question="Q?", sql="SELECT 1"),
    ]
    op = CoTGenerator(engine="offline")
    first, second = run(op.process(batch, demo_ctx)), run(op.process(batch, demo_ctx))
    assert [s.cot for s in first.samples] == [s.cot for s in second.samples]
    assert [s.id for s in first.samples] == ["ok"]
    assert {r.sample.id: r.reason for r in first.rejects} == {
        "bad": "cot: reference SQL failed: no such column: nope",
        "noq": "missing field: question",
        "nodb": "unknown database: nowhere",
    }


def test_offline_reasoning_ending_in_the_reference_itself_is_not_compared_again(
    demo_ctx, monkeypatch
):
    import sqlfoundry.synth.cot_generator as cot

    compared = []
    monkeypatch.setattr(cot, "results_match", lambda *a, **k: compared.append(a) or True)
    batch = [Sample(id="ok", db_id="bookshop", question="How many books?",
                    sql="SELECT count(*) FROM books")]  # fmt: skip
    out = run(CoTGenerator(engine="offline").process(batch, demo_ctx))
    assert [s.id for s in out.samples] == ["ok"] and out.samples[0].cot.endswith("```")
    assert compared == []  # the reference's own text returns the reference's own rows


@pytest.mark.parametrize(
    ("params", "message"),
    [({"max_retries": 0}, "max_retries"), ({"num_candidates": 0}, "num_candidates"),
     ({"retries": 2}, "retries")],
)  # fmt: skip
def test_bad_parameters_fail_at_construction(params, message):
    with pytest.raises(ConfigError) as info:
        build("cot_generator", params)
    assert message in str(info.value)


# ---------------------------------------------------------------------- LLM


def test_llm_retries_until_the_final_sql_matches(llm_ctx, fake):
    calls = []

    def answer(messages, n, i):
        calls.append(messages)
        wrong = "SELECT avg(price) FROM books"
        return _cot(wrong if len(calls) == 1 else AVG_JAPAN.replace("avg(", "AVG("))

    fake.handler = answer_with(answer)
    batch = [Sample(id="r", db_id="bookshop", question="Average price of Japanese authors' books?",
                    sql=AVG_JAPAN, evidence="Japanese authors have country 'Japan'")]  # fmt: skip
    out = run(CoTGenerator().process(batch, llm_ctx))
    assert out.rejects == []
    record = out.samples[0]
    assert record.cot == _cot(AVG_JAPAN.replace("avg(", "AVG("))
    assert record.meta["cot_attempts"] == 2
    assert record.meta["cot_failures"] == ["final SQL returns a different result"]
    assert record.meta["engine"] == "llm"
    user = calls[0][1]["content"]
    assert "Question: Average price of Japanese authors' books?" in user
    assert "External knowledge: Japanese authors have country 'Japan'" in user
    assert f"```sql\n{AVG_JAPAN}\n```" in user
    seeds = [r.body["seed"] for r in fake.requests if r.path == "/v1/chat/completions"]
    assert len(seeds) == 2 and seeds[0] != seeds[1]


def test_llm_rejects_when_no_try_reaches_the_reference_result(llm_ctx, fake):
    answers = iter(["no SQL here", _cot("SELECT nope FROM books"), _cot("SELECT 1")])
    fake.handler = answer_with(lambda messages, n, i: next(answers))
    batch = [
        Sample(
            id="r", db_id="bookshop", question="How many books?", sql="SELECT count(*) FROM books"
        )
    ]
    out = run(CoTGenerator(max_retries=3).process(batch, llm_ctx))
    assert out.samples == []
    (reject,) = out.rejects
    assert reject.reason == "cot: no reasoning reached the reference result after 3 tries"
    assert reject.sample.meta["cot_failures"] == [
        "no final SQL: no SQL found: no ```sql block and the text does not start with SELECT/WITH",
        "final SQL failed: no such column: nope",
        "final SQL returns a different result",
    ]


def test_llm_keeps_the_first_matching_candidate_of_a_request(llm_ctx, fake):
    texts = [
        _cot("SELECT 2"),
        _cot("SELECT COUNT(book_id) FROM books"),
        _cot("SELECT count(*) FROM books"),
    ]
    fake.handler = answer_with(lambda messages, n, i: texts[i])
    batch = [
        Sample(
            id="r", db_id="bookshop", question="How many books?", sql="SELECT count(*) FROM books"
        )
    ]
    out = run(CoTGenerator(num_candidates=3).process(batch, llm_ctx))
    record = out.samples[0]
    # A different query with the same result counts as reaching the reference.
    assert record.cot == texts[1]
    assert record.meta["cot_attempts"] == 1
    assert [r.body.get("n") for r in fake.requests if r.path == "/v1/chat/completions"] == [3]
