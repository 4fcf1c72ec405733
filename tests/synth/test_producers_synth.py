"""Synthesizers, evolvers and generators, offline on the demo databases and with the fake LLM."""

from __future__ import annotations

from pathlib import Path

import pytest
from producer_fakes import PairModel
from synth_testing import run

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.sql.hardness import spider_hardness
from sqlfoundry.synth.producers import (
    TECHNIQUES,
    BreadthEvolver,
    DepthEvolver,
    ExtractedPair,
    PairDatabase,
    Persona,
    PersonaGenerator,
    SchemaSynthesizer,
    SqlExtractor,
    Teaching,
    TeachingsGenerator,
)
from sqlfoundry.synth.producers.checks import projected_columns
from sqlfoundry.synth.producers.schema_synthesizer import LEVELS, complexity_of
from sqlfoundry.synth.producers.wording import OFFLINE_STYLES

LOG = Path(__file__).resolve().parents[1] / "fixtures" / "producers" / "bookshop_log.sql"
ANALYST = Persona(role="Analyst", perspective="Revenue by genre.", styles=["formal", "vague"],
                  tables=["books"])  # fmt: skip


@pytest.fixture
def bookshop(demo_ctx):
    return PairDatabase(demo_ctx, "bookshop")


def runs_with_rows(db: PairDatabase, pairs: list[ExtractedPair]) -> list[bool]:
    results = run(db.execute([(p.sql, p.db_id) for p in pairs]))
    return [r.ok and bool(r.rows) for r in results]


# ---------------------------------------------------------------------- SchemaSynthesizer


def test_schema_synthesizer_offline_per_complexity(bookshop):
    producer = SchemaSynthesizer(bookshop, count=3, complexity=["simple", "moderate", "complex",
                                                                "highly complex"])  # fmt: skip
    pairs = run(producer.to_pairs())
    assert len(pairs) == 12 and all(p.success and p.db_id == "bookshop" for p in pairs)
    assert [p.id for p in pairs[:3]] == ["bookshop-p0-simple-0", "bookshop-p0-simple-1",
                                         "bookshop-p0-simple-2"]  # fmt: skip
    assert all(runs_with_rows(bookshop, pairs))
    for p in pairs:
        assert p.meta["hardness"] == spider_hardness(p.sql)
        assert p.question[-1] in "?." and "SELECT" not in p.question
    on_level = sum(p.meta["hardness"] == LEVELS[p.meta["complexity"]] for p in pairs)
    assert on_level >= 9


def test_schema_synthesizer_offline_uses_personas_styles_and_guardrails(bookshop):
    guard = Teaching(kind="guardrail", text="Titles are confidential.", refs=["books.title"])
    producer = SchemaSynthesizer(bookshop, count=4, complexity="moderate", personas=[ANALYST],
                                 teachings=[guard])  # fmt: skip
    pairs = run(producer.to_pairs())
    assert pairs and all(p.meta["persona"] == "Analyst" for p in pairs)
    schema = bookshop.schema()
    assert not any("books.title" in projected_columns(p.sql, schema) for p in pairs)
    assert {p.meta["provenance"][0]["style"] for p in pairs} == {"formal"}  # vague needs an LLM
    assert all(r["reason"].startswith("guardrail: returns") for r in producer.rejects)


def test_schema_synthesizer_is_reproducible_by_seed(demo_ctx):
    def sqls(seed: int) -> list[str]:
        demo_ctx.seed = seed
        db = PairDatabase(demo_ctx, "clinic")
        return [p.sql for p in run(SchemaSynthesizer(db, count=3, complexity="complex").to_pairs())]

    assert sqls(1) == sqls(1)
    assert sqls(1) != sqls(2)


def test_schema_synthesizer_checks_its_options(bookshop):
    assert complexity_of("high complex") == "highly complex"
    with pytest.raises(ConfigError, match="unknown complexity"):
        SchemaSynthesizer(bookshop, complexity="trivial")
    with pytest.raises(ConfigError):
        SchemaSynthesizer(bookshop, count=0)


def test_schema_synthesizer_llm_writes_questions_then_checked_sql(llm_ctx, fake):
    model = PairModel()
    model.wrong_first = {"How many rows does the authors table have (simple, 0)?"}
    model.refuse = {"(complex, 1)"}
    fake.handler = model.handler
    teaching = Teaching(kind="hint", text="orders.status is lower case.", refs=["orders.status"])
    producer = SchemaSynthesizer(PairDatabase(llm_ctx, "bookshop"), count=2,
                                 complexity=["simple", "complex"], personas=[ANALYST],
                                 teachings=[teaching])  # fmt: skip
    pairs = run(producer.to_pairs())
    assert [(p.question, p.sql, p.success) for p in pairs] == [
        ("How many rows does the authors table have (simple, 0)?", "SELECT count(*) FROM authors", True),
        ("How many rows does the publishers table have (simple, 1)?", "SELECT count(*) FROM publishers", True),
        ("How many rows does the authors table have (complex, 0)?", "SELECT count(*) FROM authors", True),
        ("How many rows does the publishers table have (complex, 1)?", "", False),
    ]  # fmt: skip
    assert pairs[0].meta["attempts"] == 2  # the first SQL named a missing column
    assert pairs[3].meta["error"] == "unanswerable: the database has no data for this question"
    assert model.kinds["pair_questions"] == 2 and model.kinds["pair_sql_retry"] == 1
    question_prompt = next(r for r in fake.requests if r.body and "different questions" in
                           str(r.body["messages"][-1]["content"]))  # fmt: skip
    text = question_prompt.body["messages"][1]["content"]
    assert "CREATE TABLE books" in text and "Role: Analyst" in text
    assert "- hint: orders.status is lower case." in text


def test_schema_synthesizer_llm_gives_up_after_max_attempts(llm_ctx, fake):
    model = PairModel()
    model.always_wrong = {"How many rows does the authors table have (moderate, 0)?"}
    fake.handler = model.handler
    producer = SchemaSynthesizer(PairDatabase(llm_ctx, "bookshop"), count=1, max_attempts=2)
    [only] = run(producer.to_pairs())
    assert not only.success and only.meta["attempts"] == 2
    assert only.meta["error"] == "unknown column(s): authors.no_such_column"


def test_schema_synthesizer_llm_malformed_questions_are_a_reject(llm_ctx, fake):
    model = PairModel()
    model.malformed = {"pair_questions"}
    fake.handler = model.handler
    producer = SchemaSynthesizer(PairDatabase(llm_ctx, "bookshop"), count=2)
    assert run(producer.to_pairs()) == []
    [reject] = producer.rejects
    assert reject["source"] == "bookshop: any user, moderate"
    assert reject["reason"].startswith("question generation failed: unparsable answer")
    assert reject["raw"] == "I am sorry, I cannot help with that request."


# ---------------------------------------------------------------------- DepthEvolver


@pytest.fixture
def logged(bookshop):
    return run(SqlExtractor(LOG, bookshop).to_pairs())


def test_depth_evolver_offline_makes_harder_queries_that_run(bookshop, logged):
    producer = DepthEvolver(logged, count=2, db=bookshop)
    pairs = run(producer.to_pairs())
    assert len(pairs) == 8
    assert [p.id for p in pairs[:2]] == ["bookshop_log-2-d0", "bookshop_log-2-d1"]
    assert all(p.success for p in pairs) and all(runs_with_rows(bookshop, pairs))
    for parent, pair in zip([p for p in logged for _ in range(2)], pairs, strict=True):
        assert pair.meta["evolved_from"] == parent.id and pair.sql != parent.sql
        assert pair.meta["provenance"][-1]["technique"] in TECHNIQUES
    two = {p.meta["provenance"][-1]["technique"] for p in pairs[:2]}
    assert len(two) == 2  # one pair's evolutions use different techniques


def test_depth_evolver_offline_rejects_what_it_cannot_evolve(bookshop):
    source = [
        ExtractedPair(question="Both?", sql="SELECT title FROM books INTERSECT SELECT title FROM books",
                      db_id="bookshop", id="set"),
        ExtractedPair(question="Broken", sql="SELECT 1", db_id="bookshop", id="bad", success=False,
                      meta={"error": "boom"}),
        ExtractedPair(question="Elsewhere", sql="SELECT 1", db_id="atlantis", id="far"),
    ]  # fmt: skip
    producer = DepthEvolver(source, db=bookshop)
    assert run(producer.to_pairs()) == []
    assert [(r["id"], r["reason"]) for r in producer.rejects] == [
        ("set", "not evolved: only a single SELECT can be evolved offline, not a set operation or a CTE"),
        ("bad", "not evolved: the pair failed (boom)"),
        ("far", "unknown database: 'atlantis'"),
    ]  # fmt: skip


def test_depth_evolver_hypothetical_keeps_the_what_if(bookshop):
    source = [ExtractedPair(question="Average price?", sql="SELECT avg(price) FROM books",
                            db_id="bookshop", id="avg")]  # fmt: skip
    [evolved] = run(DepthEvolver(source, ["hypothetical"], db=bookshop).to_pairs())
    assert evolved.question.startswith("Assuming every price were ")
    assert evolved.sql.startswith("SELECT ROUND(AVG(price) * ")
    assert evolved.meta["wording"]["sql"] == "SELECT AVG(price) FROM books"
    [paraphrase] = run(BreadthEvolver([evolved], 1, db=bookshop, styles=["formal"]).to_pairs())
    assert paraphrase.question.startswith("Assuming every price were ")


def test_depth_evolver_llm(llm_ctx, fake):
    model = PairModel()
    fake.handler = model.handler
    source = [ExtractedPair(question="How many books?", sql="SELECT count(*) FROM books",
                            db_id="bookshop", id="n")]  # fmt: skip
    producer = DepthEvolver(source, ["add-filter", "hypothetical"], count=2,
                            db=PairDatabase(llm_ctx, "bookshop"))  # fmt: skip
    pairs = run(producer.to_pairs())
    by_technique = {p.meta["provenance"][-1]["technique"]: p for p in pairs}
    kept = by_technique["add-filter"]
    assert kept.success and kept.question == "How many books? (made harder: add-filter)"
    assert kept.sql == "SELECT * FROM (SELECT count(*) FROM books) AS t LIMIT 5"
    what_if = by_technique["hypothetical"]
    assert not what_if.success and what_if.sql == ""
    assert what_if.meta["error"] == "unanswerable: the database has no data for this question"
    prompt = next(r.body["messages"][1]["content"] for r in fake.requests
                  if r.body and "Technique:" in str(r.body["messages"][-1]["content"]))  # fmt: skip
    assert "CREATE TABLE books" in prompt  # never an empty schema


def test_depth_evolver_llm_malformed_evolution_is_a_reject(llm_ctx, fake):
    model = PairModel()
    model.malformed = {"pair_depth_evolution"}
    fake.handler = model.handler
    source = [ExtractedPair(question="How many books?", sql="SELECT count(*) FROM books",
                            db_id="bookshop", id="n")]  # fmt: skip
    producer = DepthEvolver(source, ["add-join"], db=PairDatabase(llm_ctx, "bookshop"))
    assert run(producer.to_pairs()) == []
    [reject] = producer.rejects
    assert reject["reason"].startswith("add-join: evolution failed: unparsable answer")


def test_depth_evolver_checks_its_options(bookshop):
    with pytest.raises(ConfigError, match="unknown technique"):
        DepthEvolver([], ["add-magic"], db=bookshop)


# ---------------------------------------------------------------------- BreadthEvolver


def test_breadth_evolver_offline_keeps_the_sql(bookshop, logged):
    producer = BreadthEvolver(logged, 3, db=bookshop, styles=["formal", "vague", "concise"])
    pairs = run(producer.to_pairs())
    assert len(pairs) == 12
    for k, parent in enumerate(logged):
        children = pairs[3 * k : 3 * k + 3]
        assert {c.sql for c in children} == {parent.sql}
        assert len({c.question for c in children} | {parent.question}) == 4
        assert all(c.meta["provenance"][-1]["style"] in OFFLINE_STYLES for c in children)


def test_breadth_evolver_llm_in_the_persona_styles(llm_ctx, fake):
    model = PairModel()
    fake.handler = model.handler
    source = [ExtractedPair(question="How many books?", sql="SELECT count(*) FROM books",
                            db_id="bookshop", id="n", evidence="books are rows of books")]  # fmt: skip
    pairs = run(BreadthEvolver(source, 2, ANALYST, db=PairDatabase(llm_ctx, "bookshop")).to_pairs())
    assert sorted((p.question, p.evidence) for p in pairs) == [
        ("[formal] How many books?", "books are rows of books"),
        ("[vague] How many books?", "X means the table's rows"),
    ]
    prompt = fake.requests[-1].body["messages"][1]["content"]
    assert "Role: Analyst" in prompt and "CREATE TABLE books" in prompt


def test_breadth_evolver_llm_rejects_vague_without_evidence_and_malformed(llm_ctx, fake):
    model = PairModel()
    model.no_evidence = True
    fake.handler = model.handler
    source = [ExtractedPair(question="How many books?", sql="SELECT count(*) FROM books",
                            db_id="bookshop", id="n")]  # fmt: skip
    db = PairDatabase(llm_ctx, "bookshop")
    producer = BreadthEvolver(source, 2, db=db, styles=["vague", "formal"])
    assert [p.question for p in run(producer.to_pairs())] == ["[formal] How many books?"]
    assert (
        producer.rejects[0]["reason"]
        == "vague paraphrase without evidence: [vague] How many books?"
    )


def test_breadth_evolver_llm_malformed_answer(llm_ctx, fake):
    model = PairModel()
    model.malformed = {"pair_paraphrase"}
    fake.handler = model.handler
    source = [ExtractedPair(question="How many books?", sql="SELECT count(*) FROM books",
                            db_id="bookshop", id="n")]  # fmt: skip
    producer = BreadthEvolver(source, 2, db=PairDatabase(llm_ctx, "bookshop"))
    assert run(producer.to_pairs()) == []
    assert producer.rejects[0]["reason"].startswith("paraphrasing failed: unparsable answer")


# ---------------------------------------------------------------------- generators


def test_persona_generator_offline_is_grounded(bookshop):
    personas = run(PersonaGenerator(bookshop, 4).generate())
    assert [p.role for p in personas] == ["Analyst for books", "Operations lead for books",
                                          "Manager overseeing books", "Data steward for books"]  # fmt: skip
    tables = set(bookshop.schema().table_names)
    for persona in personas:
        assert set(persona.styles) <= set(OFFLINE_STYLES) and 1 <= len(persona.styles) <= 3
        assert persona.tables and set(persona.tables) <= tables


def test_persona_generator_llm_keeps_the_valid_personas(llm_ctx, fake):
    model = PairModel()
    fake.handler = model.handler
    generator = PersonaGenerator(PairDatabase(llm_ctx, "bookshop"), 5)
    personas = run(generator.generate())
    assert [(p.role, p.styles, p.tables) for p in personas] == [
        ("Buyer", ["concise", "formal"], ["authors"]),
        ("Auditor", ["vague"], []),
    ]
    assert [r["reason"] for r in generator.rejects] == [
        "persona 2: styles: List should have at least 1 item after validation, not 0",
        "persona 3: role: String should have at least 1 character",
    ]


def test_persona_generator_llm_malformed(llm_ctx, fake):
    model = PairModel()
    model.malformed = {"persona_generation"}
    fake.handler = model.handler
    generator = PersonaGenerator(PairDatabase(llm_ctx, "bookshop"), 3)
    assert run(generator.generate()) == []
    assert generator.rejects[0]["reason"].startswith("unparsable answer")


def test_teachings_generator_offline_covers_pii_codes_and_ambiguity(bookshop):
    examples = [ExtractedPair(question="How many fantasy books?", db_id="bookshop",
                              sql="SELECT count(*) FROM books WHERE genre = 'Fantasy'")]  # fmt: skip
    teachings = run(TeachingsGenerator(bookshop, examples).generate())
    assert 3 <= len(teachings) <= 10
    kinds = [t.kind for t in teachings]
    assert {"guardrail", "hint", "clarification", "quirk", "example"} <= set(kinds)
    guard = next(t for t in teachings if t.kind == "guardrail")
    assert guard.refs == ["customers.email", "customers.phone"]
    status = next(t for t in teachings if t.refs == ["orders.status"])
    assert status.text == ("orders.status takes the values 'cancelled', 'delivered', 'processing', "
                           "'returned', 'shipped' (all lower case); filter with these exact strings.")  # fmt: skip
    columns = {f"{t.name}.{c.name}" for t in bookshop.schema().tables for c in t.columns}
    assert all(ref in columns for t in teachings for ref in t.refs)


def test_teachings_generator_llm_drops_ungrounded_teachings_and_tops_up(llm_ctx, fake):
    model = PairModel()
    fake.handler = model.handler
    generator = TeachingsGenerator(PairDatabase(llm_ctx, "bookshop"))
    teachings = run(generator.generate())
    assert [(t.kind, t.text) for t in teachings[:2]] == [
        ("guardrail", "Never list every row of authors."),
        ("style_guide", "Name authors in full."),
    ]
    assert len(teachings) == 3 and teachings[2].kind == "guardrail"  # topped up offline
    assert [r["reason"].split(":")[0] for r in generator.rejects] == ["teaching 2", "teaching 3"]
    assert "not in the schema: authors.secret_column" in generator.rejects[0]["reason"]
    prompt = fake.requests[-1].body["messages"][1]["content"]
    assert "orders.status takes the values" in prompt  # the profile's facts ground the model


def test_schema_synthesizer_llm_prose_instead_of_sql_fails_after_the_retries(llm_ctx, fake):
    model = PairModel()
    model.malformed = {"pair_sql", "pair_sql_retry"}
    fake.handler = model.handler
    producer = SchemaSynthesizer(PairDatabase(llm_ctx, "clinic"), count=1, max_attempts=2)
    [only] = run(producer.to_pairs())
    assert not only.success and only.sql == "" and only.meta["attempts"] == 2
    assert only.meta["error"].startswith("no SQL in the answer (no SQL found")
    assert model.kinds["pair_sql"] == 1 and model.kinds["pair_sql_retry"] == 1


def test_teachings_generator_llm_malformed_falls_back_to_the_profile(llm_ctx, fake):
    model = PairModel()
    model.malformed = {"teachings_generation"}
    fake.handler = model.handler
    generator = TeachingsGenerator(PairDatabase(llm_ctx, "clinic"))
    teachings = run(generator.generate())
    assert len(teachings) == 3 and teachings[0].kind == "guardrail"
    assert generator.rejects[0]["reason"].startswith("unparsable answer")
    assert generator.rejects[0]["raw"] == "I am sorry, I cannot help with that request."
