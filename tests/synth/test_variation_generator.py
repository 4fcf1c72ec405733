"""SQLVariationGenerator: rewrites checked by execution on the demo databases, and the
LLM engine against the fake server."""

from __future__ import annotations

import pytest
from fake_openai import FakeRequest, error_reply
from synth_testing import answer_with, run

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.compare import gold_orders_rows, results_match
from sqlfoundry.synth.variation_generator import DIRECTIONS, SQLVariationGenerator

JAPAN = (
    "SELECT T1.title FROM books AS T1 JOIN authors AS T2 ON T1.author_id = T2.author_id "
    "WHERE T2.country = 'Japan' AND T1.price BETWEEN 10 AND 20"
)
SALARY = (
    "SELECT first_name, last_name FROM doctors WHERE annual_salary > "
    "(SELECT AVG(annual_salary) FROM doctors) ORDER BY annual_salary DESC"
)
CANCELLED = (
    "SELECT DISTINCT T1.city FROM airports AS T1 JOIN flights AS T2 "
    "ON T1.airport_code = T2.origin_code WHERE T2.status = 'cancelled'"
)
# One row per delivered order: the join repeats a customer once per order.
DELIVERED = (
    "SELECT COUNT(*) FROM customers AS T1 JOIN orders AS T2 ON T1.customer_id = T2.customer_id "
    "WHERE T2.status = 'delivered'"
)


def record(id: str, db_id: str, sql: str | None, **extra) -> Sample:
    fields = {"question": f"question {id}?", "evidence": "some evidence", "prompt": "old prompt",
              "hardness": "hard", "meta": {"source": f"in.jsonl:{id}", "execution": {"row_count": 1}}}  # fmt: skip
    fields.update(extra)
    return Sample(id=id, db_id=db_id, sql=sql, **fields)


def variants(out) -> dict[str, tuple[list[str], str]]:
    return {s.id: (s.meta["variation"], s.sql) for s in out.samples if "variation" in s.meta}


def test_offline_variants_of_demo_queries(demo_ctx):
    batch = [record("japan", "bookshop", JAPAN), record("salary", "clinic", SALARY),
             record("cancelled", "airline", CANCELLED)]  # fmt: skip
    out = run(SQLVariationGenerator(engine="offline").process(batch, demo_ctx))
    assert out.rejects == []
    assert [s.id for s in out.samples] == [
        "japan", "japan-v1", "japan-v2", "salary", "salary-v1",
        "cancelled", "cancelled-v1", "cancelled-v2",
    ]  # fmt: skip
    assert variants(out) == {
        "japan-v1": (
            ["join_to_in"],
            "SELECT T1.title FROM books AS T1 WHERE T1.price BETWEEN 10 AND 20 AND "
            "T1.author_id IN (SELECT author_id FROM authors WHERE country = 'Japan')",
        ),
        "japan-v2": (
            ["between_to_range"],
            "SELECT T1.title FROM books AS T1 JOIN authors AS T2 ON T1.author_id = T2.author_id "
            "WHERE T2.country = 'Japan' AND T1.price >= 10 AND T1.price <= 20",
        ),
        "salary-v1": (
            ["extract_cte"],
            "WITH doctors_stats AS (SELECT AVG(annual_salary) AS avg_annual_salary FROM doctors) "
            "SELECT first_name, last_name FROM doctors WHERE annual_salary > "
            "(SELECT avg_annual_salary FROM doctors_stats) ORDER BY annual_salary DESC",
        ),
        "cancelled-v1": (
            ["distinct_to_group_by", "join_to_in"],
            "SELECT T1.city FROM airports AS T1 WHERE T1.airport_code IN "
            "(SELECT origin_code FROM flights WHERE status = 'cancelled') GROUP BY T1.city",
        ),
        "cancelled-v2": (
            ["join_to_in"],
            "SELECT DISTINCT T1.city FROM airports AS T1 WHERE T1.airport_code IN "
            "(SELECT origin_code FROM flights WHERE status = 'cancelled')",
        ),
    }
    # No cosmetic variant (aliases, join order, AND order, COUNT spelling) unless asked.
    cosmetic = {"remove_aliases", "reorder_joins", "commute_and", "rename_aliases",
                "add_aliases", "count_star_to_one", "count_one_to_star"}  # fmt: skip
    assert not any(set(v) & cosmetic for v, _ in variants(out).values())
    # An equivalent variant keeps its seed's question.
    assert {s.id: s.question for s in out.samples if "-v" in s.id} == {
        "japan-v1": "question japan?", "japan-v2": "question japan?",
        "salary-v1": "question salary?", "cancelled-v1": "question cancelled?",
        "cancelled-v2": "question cancelled?",
    }  # fmt: skip
    # Every variant returns what its seed returns (row order only where the seed sorts).
    by_id = {s.id: s for s in out.samples}
    jobs = [(s.sql, s.db_id) for s in out.samples]
    results = dict(zip([s.id for s in out.samples], run(demo_ctx.execute(jobs)), strict=True))
    for s in out.samples:
        if "seed_sql" in s.meta:
            seed = s.id.rsplit("-v", 1)[0]
            assert results[s.id].ok and results[seed].rows
            assert results_match(results[seed].rows, results[s.id].rows, "spider",
                                 gold_orders_rows(by_id[seed].sql))  # fmt: skip


def test_a_variant_is_a_new_record_for_a_later_question(demo_ctx):
    out = run(SQLVariationGenerator(engine="offline").process([record("japan", "bookshop", JAPAN)],
                                                               demo_ctx))  # fmt: skip
    original, child = out.samples[0], out.samples[1]
    assert original.sql == JAPAN and original.question == "question japan?"
    assert original.meta["variation_checks"] == {
        "candidates": 4, "kept": 2, "perturbed": "2 perturbed copies"
    }  # fmt: skip
    assert original.meta["provenance"][-1] == {"operator": "sql_variation_generator",
                                               "engine": "offline", "variants": 2}  # fmt: skip
    assert child.id == "japan-v1"
    # Same meaning, same question; what describes the old SQL is dropped.
    assert child.question == "question japan?" and child.meta["question_from"] == "seed"
    assert child.prompt is None and child.hardness is None
    assert child.evidence == "some evidence" and child.db_id == "bookshop"
    assert child.meta["seed_sql"] == JAPAN
    assert child.meta["seed_question"] == "question japan?"
    assert child.meta["source"] == "in.jsonl:japan"
    assert "execution" not in child.meta and "variation_checks" not in child.meta
    assert child.meta["provenance"][-1] == {"operator": "sql_variation_generator",
        "engine": "offline", "seed_id": "japan", "variation": ["join_to_in"]}  # fmt: skip


def test_a_rewrite_that_changes_the_result_is_dropped(demo_ctx):
    # JOIN -> IN counts customers instead of delivered orders: execution tells them apart.
    op = SQLVariationGenerator(engine="offline", rules=["join_to_in"])
    out = run(op.process([record("delivered", "bookshop", DELIVERED)], demo_ctx))
    assert [s.id for s in out.samples] == ["delivered"]
    assert out.samples[0].meta["variation_checks"] == {
        "candidates": 1, "kept": 0, "failed": {"result differs": 1}
    }  # fmt: skip
    strict = SQLVariationGenerator(engine="offline", rules=["join_to_in"], keep_original=False)
    out = run(strict.process([record("delivered", "bookshop", DELIVERED),
                              record("cancelled", "airline", CANCELLED)], demo_ctx))  # fmt: skip
    # the same rule on a DISTINCT query keeps the result, and is kept
    assert [(s.id, s.meta["variation"]) for s in out.samples] == [("cancelled-v1", ["join_to_in"])]
    assert [(r.sample.id, r.reason) for r in out.rejects] == [
        ("delivered", "no variant kept: result differs x1")
    ]


def test_same_seed_same_variants_and_num_variants(demo_ctx):
    batch = [record("japan", "bookshop", JAPAN), record("cancelled", "airline", CANCELLED)]
    first = run(SQLVariationGenerator(engine="offline").process(batch, demo_ctx))
    again = run(SQLVariationGenerator(engine="offline").process(batch, demo_ctx))
    assert [s.model_dump() for s in first.samples] == [s.model_dump() for s in again.samples]
    one = run(SQLVariationGenerator(engine="offline", num_variants=1).process(batch, demo_ctx))
    assert [s.id for s in one.samples] == ["japan", "japan-v1", "cancelled", "cancelled-v1"]
    assert batch[0].meta == {"source": "in.jsonl:japan", "execution": {"row_count": 1}}  # untouched


def test_bad_inputs(demo_ctx):
    batch = [
        record("none", "bookshop", None),
        record("elsewhere", "nowhere", "SELECT 1"),
        record("garbage", "bookshop", "SELEC title FROM"),
        record("broken", "bookshop", "SELECT nope FROM books WHERE genre IN ('a', 'b')"),
        record("plain", "bookshop", "SELECT 1"),
    ]
    out = run(SQLVariationGenerator(engine="offline").process(batch, demo_ctx))
    assert {r.sample.id: r.reason for r in out.rejects} == {
        "none": "missing field: SQL",
        "elsewhere": "unknown database: nowhere",
    }
    checks = {s.id: s.meta["variation_checks"] for s in out.samples}
    assert set(checks) == {"garbage", "broken", "plain"}  # originals pass through
    assert checks["garbage"]["problem"].startswith("seed SQL does not parse: ")
    assert checks["broken"] == {"candidates": 1, "kept": 0,
                                "problem": "seed SQL failed: no such column: nope"}  # fmt: skip
    assert checks["plain"] == {"candidates": 0, "kept": 0}


def test_parameters_are_checked():
    with pytest.raises(ConfigError, match="unknown rule"):
        build("sql_variation_generator", {"rules": ["join_to_in", "magic"]})
    with pytest.raises(ConfigError, match="unknown direction"):
        build("sql_variation_generator", {"directions": ["sideways"]})
    with pytest.raises(ConfigError, match="bad parameters"):
        build("sql_variation_generator", {"num_variants": 0})


# ------------------------------------------------------------------ LLM engine

GENRES = "SELECT genre, COUNT(*) FROM books GROUP BY genre"


def user_text(messages) -> str:
    return messages[-1]["content"]


def test_llm_evolve_keeps_new_queries_that_run(llm_ctx, fake):
    answers = [
        "```sql\nSELECT genre, AVG(price) FROM books GROUP BY genre\n```",  # new: kept
        "```sql\nselect genre , count(*) from books group by genre;\n```",  # the seed again
        "I would rather not write SQL today.",  # no SQL
        "```sql\nSELECT genre, AVG(cost) FROM books GROUP BY genre\n```",  # no such column
        "```sql\nSELECT genre, COUNT(book_id) FROM books GROUP BY genre\n```",  # same result
        "```sql\nSELECT title FROM books WHERE price < 0\n```",  # empty
        "```sql\nSELECT genre, MAX(price) FROM books GROUP BY genre ORDER BY 2 DESC\n```",  # kept
        "```sql\nSELECT genre, MIN(price) FROM books GROUP BY genre\n```",  # beyond num_variants
    ]
    seen: list[list[dict]] = []

    def model(messages, n, index):
        seen.append(messages)
        return answers[index]

    fake.handler = answer_with(model)
    op = SQLVariationGenerator(llm_mode="evolve", n=len(answers))
    out = run(op.process([record("genres", "bookshop", GENRES)], llm_ctx))
    assert [s.id for s in out.samples] == ["genres", "genres-v1", "genres-v2"]
    original, first, second = out.samples
    direction = original.meta["variation_checks"]["direction"]
    assert direction in DIRECTIONS
    assert original.meta["variation_checks"] == {
        "candidates": 6,  # parsed and new; the failed ones included
        "kept": 2,
        "failed": {"duplicate": 1, "empty result": 1, "execution failed": 1,
                   "no SQL in the answer": 1, "same result as the seed": 1},
        "direction": direction,
        "parse_raw": "I would rather not write SQL today.",
    }  # fmt: skip
    assert first.sql == "SELECT genre, AVG(price) FROM books GROUP BY genre"
    assert second.sql == "SELECT genre, MAX(price) FROM books GROUP BY genre ORDER BY 2 DESC"
    assert first.meta["variation"] == "llm" and first.meta["variation_direction"] == direction
    assert first.meta["engine"] == "llm" and first.question is None
    prompt = user_text(seen[0])
    assert f'direction "{direction}"' in prompt and GENRES in prompt
    assert "CREATE TABLE books (" in prompt and "Database schema (SQLite DDL" in prompt


def test_llm_rewrite_keeps_only_equivalent_queries(llm_ctx, fake):
    answers = [
        "```sql\nSELECT genre, COUNT(*) FROM books WHERE genre <> 'Fiction' GROUP BY genre\n```",
        "```sql\nSELECT b.genre, COUNT(b.book_id) FROM books AS b GROUP BY b.genre\n```",
    ]
    fake.handler = answer_with(lambda messages, n, index: answers[index])
    op = SQLVariationGenerator(engine="llm", llm_mode="rewrite", n=2)
    out = run(op.process([record("genres", "bookshop", GENRES)], llm_ctx))
    assert [s.sql for s in out.samples] == [
        GENRES,
        "SELECT b.genre, COUNT(b.book_id) FROM books AS b GROUP BY b.genre",
    ]
    assert out.samples[0].meta["variation_checks"] == {
        "candidates": 2, "kept": 1, "failed": {"result differs": 1},
        "perturbed": "2 perturbed copies",
    }  # fmt: skip
    assert "variation_direction" not in out.samples[1].meta
    assert out.samples[1].question == "question genres?"


def test_llm_failure_is_recorded_per_record(llm_ctx, fake):
    def handler(request: FakeRequest):
        return error_reply(400, "This model's maximum context length is 8 tokens.",
                           code="context_length_exceeded")  # fmt: skip

    fake.handler = handler
    out = run(SQLVariationGenerator(keep_original=False).process(
        [record("genres", "bookshop", GENRES)], llm_ctx))  # fmt: skip
    assert out.samples == []
    assert out.rejects[0].reason.startswith("no variant kept: LLM request failed: ")


def test_offline_paraphrase_is_another_wording_the_consistency_check_accepts(demo_ctx):
    from sqlfoundry.synth.consistency_filter_heuristic import check

    batch = [record("japan", "bookshop", JAPAN, question="Which books by Japanese authors "
                    "cost between 10 and 20?"), record("salary", "clinic", SALARY)]  # fmt: skip
    plain = run(SQLVariationGenerator(engine="offline").process(batch, demo_ctx))
    out = run(SQLVariationGenerator(engine="offline", paraphrase=True).process(batch, demo_ctx))
    # the same records and SQL, each variant keeping its seed's question ...
    assert [(s.id, s.sql, s.question) for s in out.samples] == [
        (s.id, s.sql, s.question) for s in plain.samples
    ]
    children = [s for s in out.samples if "-v" in s.id]
    assert children and all(s.question == s.meta["seed_question"] for s in children)
    # ... and a second wording of it beside, different from it and consistent with the SQL
    for child in children:
        said = child.meta["paraphrase"]
        assert said["engine"] == "offline" and said["style"] in ("interrogative", "imperative")
        assert said["question"] != child.question
        schema = demo_ctx.schema(child.db_id)
        verdict = check(said["question"], child.evidence, child.sql, schema, "sqlite")
        assert not verdict.contradictions and verdict.coverage >= 0.6
    # originals get none, and without the option nothing is added
    assert all("paraphrase" not in s.meta for s in out.samples if "-v" not in s.id)
    assert all("paraphrase" not in s.meta for s in plain.samples)
    again = run(SQLVariationGenerator(engine="offline", paraphrase=True).process(batch, demo_ctx))
    assert [s.meta.get("paraphrase") for s in again.samples] == [
        s.meta.get("paraphrase") for s in out.samples
    ]


REWRITE = "```sql\nSELECT b.genre, COUNT(b.book_id) FROM books AS b GROUP BY b.genre\n```"


def _paraphrase_with(answer: str):
    """Rewrite requests get an equivalent query; question requests (styled) ``answer``."""

    def respond(messages, n, index):
        return answer if '" style' in messages[-1]["content"] else REWRITE

    return answer_with(respond)


def test_llm_paraphrase_is_a_question_in_a_style(llm_ctx, fake):
    fake.handler = _paraphrase_with('{"question": "How many books are in each genre?", '
                                    '"evidence": ""}')  # fmt: skip
    op = SQLVariationGenerator(engine="llm", llm_mode="rewrite", n=1, paraphrase=True)
    out = run(op.process([record("genres", "bookshop", GENRES)], llm_ctx))
    original, child = out.samples
    assert child.question == "question genres?"  # the seed's question stays the question
    assert child.meta["paraphrase"]["question"] == "How many books are in each genre?"
    assert child.meta["paraphrase"]["engine"] == "llm"
    assert "paraphrase" not in original.meta
    chats = [r.body["messages"] for r in fake.requests if r.path == "/v1/chat/completions"]
    styled = [m for m in chats if '" style' in m[-1]["content"]]
    assert len(styled) == 1 and "SELECT b.genre" in styled[0][-1]["content"]


def test_llm_paraphrase_malformed_answer_is_recorded(llm_ctx, fake):
    fake.handler = _paraphrase_with("```json\n{not json")
    op = SQLVariationGenerator(engine="llm", llm_mode="rewrite", n=1, paraphrase=True)
    out = run(op.process([record("genres", "bookshop", GENRES)], llm_ctx))
    _, child = out.samples
    assert child.question == "question genres?" and "paraphrase" not in child.meta
    assert child.meta["paraphrase_error"].startswith("unparsable answer: ")
    assert child.meta["paraphrase_raw"] == "```json\n{not json"
