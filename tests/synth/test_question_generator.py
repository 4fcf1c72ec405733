"""QuestionGenerator: the realiser offline; styled candidates and their medoid with an LLM."""

from __future__ import annotations

import json
import random

import pytest
from fake_openai import Reply, embedding_of
from synth_testing import answer_with, in_styles, run, styles_asked

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm import QUESTION_STYLES, medoid
from sqlfoundry.synth.question_generator import QuestionGenerator

TOP3 = "SELECT title FROM books ORDER BY price DESC LIMIT 3"


def _embeddings(vectors: dict[str, list[float]]):
    """A /v1/embeddings reply with the given vector per text (others: the fake's default)."""

    def reply(request) -> Reply:
        texts = request.body["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": vectors.get(t, embedding_of(t))}
            for i, t in enumerate(texts)
        ]
        return Reply(json={"object": "list", "model": request.body["model"], "data": data,
                           "usage": {"prompt_tokens": 1, "total_tokens": 1}})  # fmt: skip

    return reply


def _serve(fake, answer, vectors=None):
    chat = answer_with(answer)
    embed = _embeddings(vectors or {})

    def handler(request):
        if request.path == "/v1/embeddings":
            return embed(request)
        return chat(request)

    fake.handler = handler


# ---------------------------------------------------------------------- offline


def test_offline_realises_new_records_and_keeps_existing_questions(demo_ctx):
    batch = [
        Sample(id="q1", db_id="bookshop", sql=TOP3),
        Sample(id="q2", db_id="bookshop", sql="SELECT count(*) FROM books", question="Keep me?"),
        Sample(id="q3", db_id="nope", sql="SELECT 1"),
        Sample(id="q4", db_id="bookshop", sql="SELECT FROM WHERE"),
        Sample(id="q5", db_id="bookshop"),
        Sample(id="q6", db_id="clinic", sql="SELECT count(*) FROM patients WHERE sex = 'F'"),
    ]
    out = run(QuestionGenerator(engine="offline").process(batch, demo_ctx))
    assert [s.id for s in out.samples] == ["q1", "q2", "q6"]
    first, kept, third = out.samples
    assert first.question == "Which three books are the most expensive?"
    assert first.meta["question_style"] == "interrogative"
    assert first.meta["provenance"] == [
        {"operator": "question_generator", "engine": "offline", "style": "interrogative"}
    ]
    assert kept.question == "Keep me?" and "question_style" not in kept.meta
    # sex = 'F' read through the column's value description ("F: female; M: male")
    assert third.question == "What is the number of patients who are female?"
    assert third.meta["question_style"] == "interrogative"
    reasons = {r.sample.id: r.reason for r in out.rejects}
    assert reasons["q3"] == "unknown database: nope"
    assert reasons["q4"].startswith("unparseable SQL: ")
    assert reasons["q5"] == "missing field: SQL"
    # Inputs are never changed in place.
    assert batch[0].question is None and batch[1].meta == {}


def test_offline_is_deterministic_and_overwrite_replaces(demo_ctx):
    batch = [Sample(id="q2", db_id="bookshop", sql=TOP3, question="Old question?")]
    op = QuestionGenerator(engine="offline", overwrite=True)
    once = run(op.process(batch, demo_ctx)).samples[0]
    twice = run(op.process(batch, demo_ctx)).samples[0]
    assert once.question == twice.question != "Old question?"
    assert once.question == "Which three books are the most expensive?"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"styles": ["formal", "shouting"]}, "unknown style"),
        ({"styles": ["formal"], "num_candidates": 2}, "needs as many styles"),
        ({"num_candidates": 0}, "num_candidates"),
        ({"temperature": 0.3}, "temperature"),
    ],
)
def test_bad_parameters_fail_at_construction(params, message):
    with pytest.raises(ConfigError) as info:
        build("question_generator", params)
    assert message in str(info.value)


# ---------------------------------------------------------------------- LLM


def test_llm_keeps_the_medoid_of_styled_candidates(llm_ctx, fake):
    def answer(style):
        evidence = "a pricey book costs the most" if style == "vague" else ""
        return {"question": f"Question in {style} style?", "evidence": evidence}

    # "vague" sits between the two others, so it is the medoid.
    _serve(fake, in_styles(answer), {
        "Question in formal style?": [1.0, 0.0, 0.0],
        "Question in vague style?": [0.8, 0.6, 0.0],
        "Question in concise style?": [0.0, 1.0, 0.0],
    })  # fmt: skip
    op = QuestionGenerator(num_candidates=3, styles=["formal", "vague", "concise"])
    out = run(op.process([Sample(id="x", db_id="bookshop", sql=TOP3)], llm_ctx))
    record = out.samples[0]
    assert record.question == "Question in vague style?"
    assert record.evidence == "a pricey book costs the most"
    assert record.meta["question_style"] == "vague"
    assert sorted(c["style"] for c in record.meta["question_candidates"]) == [
        "concise", "formal", "vague"]  # fmt: skip
    assert record.meta["engine"] == "llm"
    chats = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    # One request for the three styles, the schema and the SQL sent once.
    assert len(chats) == 1
    prompt = chats[0].body["messages"][1]["content"]
    assert "```sql\n" + TOP3 + "\n```" in prompt
    assert sorted(styles_asked(chats[0].body["messages"])) == ["concise", "formal", "vague"]


def test_llm_default_styles_are_drawn_per_record_and_embedded_at_the_endpoint(llm_ctx, fake):
    _serve(fake, in_styles(lambda style: {"question": f"Which are the {style} books?"}))
    out = run(QuestionGenerator().process([Sample(id="q1", db_id="bookshop", sql=TOP3)], llm_ctx))
    record = out.samples[0]
    expected_styles = random.Random("7:question_generator:q1").sample(list(QUESTION_STYLES), 5)
    assert [c["style"] for c in record.meta["question_candidates"]] == expected_styles
    texts = [c["question"] for c in record.meta["question_candidates"]]
    assert record.question == texts[medoid([embedding_of(t) for t in texts])]
    assert any(r.path == "/v1/embeddings" for r in fake.requests)


def test_llm_uses_the_run_embedder_when_there_is_one(llm_ctx, fake):
    class Embedder:
        def __init__(self):
            self.calls = []

        def encode(self, texts):
            self.calls.append(list(texts))
            vectors = {"formal": [1.0, 0.0], "concise": [0.6, 0.8], "colloquial": [0.0, 1.0]}
            return [vectors[t.split(", ")[1].rstrip("?")] for t in texts]

    _serve(fake, in_styles(lambda style: {"question": f"Plain question, {style}?"}))
    llm_ctx.embedder = Embedder()
    op = QuestionGenerator(num_candidates=3, styles=["formal", "concise", "colloquial"])
    record = run(op.process([Sample(id="x", db_id="bookshop", sql=TOP3)], llm_ctx)).samples[0]
    # Two of three candidates point the same way; the medoid is one of them (the first).
    assert record.question == "Plain question, concise?"
    assert len(llm_ctx.embedder.calls) == 1
    assert not any(r.path == "/v1/embeddings" for r in fake.requests)


def test_llm_passes_evidence_keeps_questions_and_rejects_when_every_candidate_fails(llm_ctx, fake):
    _serve(fake, lambda messages, n, i: "```sql\nSELECT 1\n```")
    batch = [
        Sample(id="a", db_id="bookshop", sql=TOP3, evidence="expensive means price above 30"),
        Sample(id="b", db_id="bookshop", sql=TOP3, question="Already asked?"),
    ]
    out = run(
        QuestionGenerator(num_candidates=2, styles=["formal", "concise"]).process(batch, llm_ctx)
    )
    assert [s.id for s in out.samples] == ["b"] and out.samples[0].question == "Already asked?"
    assert [r.reason for r in out.rejects] == [
        "question generation failed: invalid JSON: Expecting value: line 1 column 1 (char 0)"
    ]
    prompts = [r.body["messages"][1]["content"] for r in fake.requests
               if r.path == "/v1/chat/completions"]  # fmt: skip
    assert len(prompts) == 1  # b keeps its question; a's two styles are one request
    assert all("Known external knowledge for this query: expensive means price above 30" in p
               for p in prompts)  # fmt: skip


def test_format_candidates_matches_answers_to_styles():
    parse = QuestionGenerator.format_candidates
    styles = ["formal", "vague", "concise"]
    answer = {"questions": [
        {"style": "concise", "question": "Top 3 pricey books?", "evidence": ""},
        {"style": "nonsense", "question": "Which  books cost most?", "evidence": "cost is price"},
        {"question": ""},
    ]}  # fmt: skip
    found, missing = parse(json.dumps(answer), styles)
    # By its style when it names one, else by position; an empty question is no candidate.
    assert found == [
        {"style": "vague", "question": "Which books cost most?", "evidence": "cost is price"},
        {"style": "concise", "question": "Top 3 pricey books?", "evidence": ""},
    ]
    assert [(m["style"], m["error"]) for m in missing] == [
        ("formal", "the answer has no question in this style")]  # fmt: skip
    # A bare list works too; one object answers the first style; a plain line only one style.
    assert parse('[{"question": "A?"}, {"question": "B?"}]', styles)[0] == [
        {"style": "formal", "question": "A?", "evidence": ""},
        {"style": "vague", "question": "B?", "evidence": ""},
    ]
    assert parse('{"question": "A?", "evidence": ""}', styles)[0] == [
        {"style": "formal", "question": "A?", "evidence": ""}]  # fmt: skip
    assert parse("How many books?", ["formal"])[0] == [
        {"style": "formal", "question": "How many books?", "evidence": ""}]  # fmt: skip
    found, missing = parse("How many books?", styles)
    assert found == [] and [m["style"] for m in missing] == styles


def test_format_output_reads_json_or_a_plain_question():
    parse = QuestionGenerator.format_output
    assert parse('{"question": "How many  books?", "evidence": ""}') == (
        {"question": "How many books?", "evidence": ""}, None)  # fmt: skip
    assert parse("How many books are there?") == (
        {"question": "How many books are there?", "evidence": ""}, None)  # fmt: skip
    assert parse('{"evidence": "x"}') == (None, "the JSON answer has no question")
    assert parse("")[0] is None
