"""Extractors on real fixtures: OpenAI-format chat histories and SQL logs of the demo databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from producer_fakes import PairModel
from synth_testing import run

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.synth.producers import (
    FullContextExtractor,
    LastQueryExtractor,
    MessageExtractor,
    PairDatabase,
    SegmentedContextExtractor,
    SqlExtractor,
    WindowedContextExtractor,
)
from sqlfoundry.synth.producers.resolution import is_follow_up

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "producers"
CHATS = FIXTURES / "chats.jsonl"
LOG = FIXTURES / "bookshop_log.sql"
QUERIES = FIXTURES / "queries.jsonl"
CHAT_PROBLEMS = [
    (f"{CHATS}:3", "invalid JSON: Expecting ',' delimiter: line 1 column 51 (char 50)"),
    (f"{CHATS}:6 message 0", "message has no role"),
    (
        f"{CHATS}:6 message 2",
        "tool call arguments are not JSON: Expecting value: line 1 column 1 (char 0)",
    ),
]


def problems(producer) -> list[tuple[str, str]]:
    return [(r["source"], r["reason"]) for r in producer.rejects]


# ---------------------------------------------------------------------- MessageExtractor


def test_message_extractor_pairs_each_completed_call_with_the_last_user_message():
    extractor = MessageExtractor(CHATS)
    pairs = run(extractor.to_pairs())
    assert [(p.id, p.db_id, p.question) for p in pairs] == [
        ("chats-1-2.0", "bookshop", "How many fantasy books do we sell?"),
        ("chats-2-2.0", "bookshop", "Show me the titles of books that cost more than 30 dollars."),
        ("chats-2-6.0", "bookshop", "and only the German ones?"),
        ("chats-2-10.0", "bookshop", "sort them by price"),
        ("chats-4-1.0", "bookshop", "Which customers live in Chicago?"),
        ("chats-4-4.0", "bookshop", "only those who joined after 2022"),
        ("chats-4-7.0", "bookshop", "How many orders were cancelled overall?"),
        ("chats-5-4.0", "bookshop", "What is the average review rating for each genre?"),
        ("chats-6-5.0", "clinic", "How many appointments were no-shows? Count them please."),
    ]
    assert pairs[0].sql == "SELECT count(*) FROM books WHERE genre = 'Fantasy'"
    assert pairs[0].meta["source"] == f"{CHATS}:1 message 2"
    assert all(p.success and p.context == [] for p in pairs)
    assert problems(extractor) == CHAT_PROBLEMS
    assert extractor.stats["failed_calls_skipped"] == 1 and extractor.stats["incomplete_calls"] == 1


def test_message_extractor_keeps_failed_calls_when_asked():
    pairs = run(MessageExtractor(CHATS, include_failures=True).to_pairs())
    [failed] = [p for p in pairs if not p.success]
    assert failed.id == "chats-5-1.0" and "avg(T1.stars)" in failed.sql
    assert failed.meta["error"] == "no such column: T1.stars"


def test_message_extractor_reads_messages_in_memory_and_other_tool_names():
    messages = [
        {"role": "user", "content": "What's the weather like for the Lisbon flights?"},
        {"role": "assistant", "content": None, "function_call": {"name": "run_sql",
                                                                 "arguments": '{"query": "SELECT 1"}'}},
        {"role": "function", "name": "run_sql", "content": "[[1]]"},
    ]  # fmt: skip
    assert run(MessageExtractor(messages).to_pairs()) == []
    [only] = run(MessageExtractor(messages, tool_name="run_sql", db="airline").to_pairs())
    assert (only.question, only.sql, only.db_id, only.id) == (
        "What's the weather like for the Lisbon flights?",
        "SELECT 1",
        "airline",
        "chat-0-1.0",
    )


def test_a_tool_result_for_an_unknown_call_and_a_call_before_any_user_message():
    messages = [
        {"role": "assistant", "tool_calls": [{"id": "a", "type": "function",
                                               "function": {"name": "db_query", "arguments": '{"sql": "SELECT 1"}'}}]},
        {"role": "tool", "tool_call_id": "a", "content": "[[1]]"},
        {"role": "tool", "tool_call_id": "zzz", "content": "[[2]]"},
    ]  # fmt: skip
    extractor = MessageExtractor(messages)
    assert run(extractor.to_pairs()) == []
    assert problems(extractor) == [
        ("conversation 0 message 2", "tool result answers no known tool call"),
        ("conversation 0 message 0", "no user message before the tool call"),
    ]


# ---------------------------------------------------------------------- follow-ups


@pytest.mark.parametrize(
    ("text", "follow_up"),
    [("and only the German ones?", True), ("sort them by price", True), ("Why?", True),
     ("What about their authors?", True), ("Which customers live in Chicago?", False),
     ("How many orders were cancelled overall?", False)],
)  # fmt: skip
def test_follow_up_detection(text, follow_up):
    assert is_follow_up(text) is follow_up


# ---------------------------------------------------------------------- contextual, offline


@pytest.fixture
def bookshop(demo_ctx):
    return PairDatabase(demo_ctx, "bookshop")


def test_full_context_resolves_follow_ups_from_the_sql(bookshop):
    extractor = FullContextExtractor(CHATS, bookshop)
    pairs = {p.id: p for p in run(extractor.to_pairs())}
    assert list(pairs) == ["chats-1-2.0", "chats-2-2.0", "chats-2-6.0", "chats-2-10.0", "chats-4-1.0",
                           "chats-4-4.0", "chats-4-7.0", "chats-5-4.0", "chats-6-5.0"]  # fmt: skip
    german = pairs["chats-2-6.0"]
    assert german.meta["provenance"][-1]["resolution"] == "from the SQL"
    assert german.meta["asked"] == "and only the German ones?"
    assert "German" in german.question and "30" in german.question
    assert german.context == ["User: Show me the titles of books that cost more than 30 dollars.",
                              "Assistant: Let me look that up.", "Assistant: There are 11 such books."]  # fmt: skip
    first = pairs["chats-2-2.0"]
    assert first.question == "Show me the titles of books that cost more than 30 dollars."
    assert first.meta["provenance"][-1]["resolution"] == "as asked" and first.context == []
    assert pairs["chats-4-7.0"].context == ["User: Which customers live in Chicago?",
                                            "User: only those who joined after 2022"]  # fmt: skip
    assert pairs["chats-6-5.0"].db_id == "clinic"
    assert problems(extractor) == CHAT_PROBLEMS


def test_segmented_context_restarts_at_a_topic_change(bookshop):
    extractor = SegmentedContextExtractor(CHATS, bookshop)
    pairs = {p.id: p for p in run(extractor.to_pairs())}
    assert extractor.stats["topic_changes"] == 1
    assert pairs["chats-4-4.0"].context == ["User: Which customers live in Chicago?"]
    assert pairs["chats-4-7.0"].context == []  # orders: a new topic
    assert pairs["chats-2-10.0"].context[0].startswith("User: Show me the titles")  # one topic


def test_windowed_context_keeps_the_last_turns(bookshop):
    pairs = {
        p.id: p for p in run(WindowedContextExtractor(CHATS, bookshop, window_size=2).to_pairs())
    }
    assert pairs["chats-2-10.0"].context == ["Assistant: Two of them are in German."]
    # The window lost the first question, but the SQL still says what was asked.
    assert "German" in pairs["chats-2-6.0"].question and "30" in pairs["chats-2-6.0"].question
    with pytest.raises(ConfigError):
        WindowedContextExtractor(CHATS, bookshop, window_size=0)


def test_last_query_keeps_one_pair_per_conversation(bookshop):
    pairs = run(LastQueryExtractor(CHATS, bookshop).to_pairs())
    assert [p.id for p in pairs] == ["chats-1-2.0", "chats-2-10.0", "chats-4-7.0", "chats-5-4.0",
                                     "chats-6-5.0"]  # fmt: skip


def test_contextual_extractors_keep_failures_when_asked(bookshop):
    pairs = run(FullContextExtractor(CHATS, bookshop, include_failures=True).to_pairs())
    [failed] = [p for p in pairs if not p.success]
    assert failed.meta["error"] == "no such column: T1.stars"
    assert failed.question == "What is the average review rating for each genre?"


def test_the_same_run_gives_the_same_pairs(demo_ctx):
    db = PairDatabase(demo_ctx, "bookshop")
    first = run(FullContextExtractor(CHATS, db).to_pairs())
    second = run(FullContextExtractor(CHATS, db).to_pairs())
    assert [p.question for p in first] == [p.question for p in second]


# ---------------------------------------------------------------------- contextual, LLM


def test_llm_resolution_sees_the_schema_and_the_sql(llm_ctx, fake):
    model = PairModel()
    fake.handler = model.handler
    extractor = SegmentedContextExtractor(CHATS, PairDatabase(llm_ctx, "bookshop"))
    pairs = {p.id: p for p in run(extractor.to_pairs())}
    assert pairs["chats-2-6.0"].question == "Standalone: and only the German ones?"
    assert pairs["chats-2-6.0"].meta["provenance"][-1] == {
        "producer": "segmented_context_extractor",
        "engine": "llm",
        "resolution": "llm",
    }
    # The topic change was detected by the model and resolved into the new context.
    assert pairs["chats-4-7.0"].context == []
    assert extractor.stats["topic_changes"] == 1
    chats = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    resolutions = [
        r for r in chats if model.kind_of(r.body["messages"]) == "pair_context_resolution"
    ]
    prompt = resolutions[0].body["messages"][1]["content"]
    assert "CREATE TABLE books" in prompt and "```sql\nSELECT" in prompt  # never an empty schema
    assert model.kinds["pair_topic_change"] == 6  # every user turn after a conversation's first
    assert llm_ctx.llm.usage.stats("segmented_context_extractor").calls == len(chats)


def test_llm_malformed_resolutions_are_rejects_with_the_reason(llm_ctx, fake):
    model = PairModel()
    model.malformed = {"pair_context_resolution", "pair_topic_change"}
    fake.handler = model.handler
    extractor = SegmentedContextExtractor(CHATS, PairDatabase(llm_ctx, "bookshop"))
    assert run(extractor.to_pairs()) == []
    resolution = [
        r for r in extractor.rejects if r["reason"].startswith("context resolution failed")
    ]
    assert len(resolution) == 9
    assert resolution[0]["source"] == f"{CHATS}:1 message 2"
    assert "unparsable answer" in resolution[0]["reason"]
    assert extractor.stats["topic_checks_unreadable"] == 6 and extractor.stats["topic_changes"] == 0


# ---------------------------------------------------------------------- SqlExtractor


def test_sql_extractor_on_a_log_of_statements(bookshop):
    extractor = SqlExtractor(LOG, bookshop)
    pairs = run(extractor.to_pairs())
    assert [(p.id, p.meta["source"]) for p in pairs] == [
        ("bookshop_log-2", f"{LOG}:2"), ("bookshop_log-3", f"{LOG}:3"),
        ("bookshop_log-7", f"{LOG}:7"), ("bookshop_log-11", f"{LOG}:11")]  # fmt: skip
    assert pairs[1].sql == "SELECT title, price\n  FROM books\n ORDER BY price DESC\n LIMIT 3"
    assert all(p.success and p.question.endswith(("?", ".")) for p in pairs)
    assert "Fantasy" in pairs[0].question
    assert problems(extractor) == [
        (f"{LOG}:8", "not a read-only query: not a query: DELETE statements are refused"),
        (f"{LOG}:9", "execution failed: no such column: titel; cannot write a question: "
                     "unknown column titel"),
        (f"{LOG}:10", "not SQL: not SQL a database can run: starts with 'hello'"),
    ]  # fmt: skip


def test_sql_extractor_on_jsonl_keeps_logged_questions_and_names_each_problem(demo_ctx):
    extractor = SqlExtractor(QUERIES, PairDatabase(demo_ctx))
    pairs = run(extractor.to_pairs())
    assert [(p.id, p.db_id) for p in pairs] == [("queries-1", "clinic"), ("queries-2", "clinic"),
                                                ("queries-3", "airline")]  # fmt: skip
    assert pairs[1].question == "How many doctors are there per specialty?"
    assert pairs[1].meta["provenance"][-1]["question"] == "logged"
    assert pairs[0].meta["input"] == {"user": "dashboard"}
    assert problems(extractor) == [
        (f"{QUERIES}:4", "invalid JSON: Expecting value"),
        (f"{QUERIES}:5", "entry has no 'sql' field"),
        (f"{QUERIES}:6", "not a read-only query: not a query: UPDATE statements are refused"),
        (f"{QUERIES}:7", "unknown database: 'no_such_db'"),
    ]


def test_sql_extractor_keeps_failing_sql_as_unsuccessful_or_skips_it(bookshop):
    sqls = ["SELECT count(*) FROM books", "SELECT count(*) FROM books WHERE no_such_fn(price) > 1"]
    pairs = run(SqlExtractor(sqls, bookshop).to_pairs())
    assert [p.success for p in pairs] == [True, False]
    assert pairs[1].meta["error"] == "execution failed: no such function: no_such_fn"
    skipping = SqlExtractor(sqls, bookshop, skip_invalid=True)
    assert len(run(skipping.to_pairs())) == 1
    assert problems(skipping) == [("entry 1", "execution failed: no such function: no_such_fn")]
    unchecked = run(SqlExtractor(sqls, bookshop, validate=False).to_pairs())
    assert [p.success for p in unchecked] == [True, True]


def test_sql_extractor_with_the_llm_shows_the_schema(llm_ctx, fake):
    model = PairModel()
    fake.handler = model.handler
    extractor = SqlExtractor(LOG, PairDatabase(llm_ctx, "bookshop"), style="formal")
    pairs = run(extractor.to_pairs())
    tables = ["books", "books", "customers", "books", "customers"]
    assert [p.question for p in pairs] == [
        f"Which rows does this query list ({t})?" for t in tables
    ]
    # The model words a query the database refuses; the pair keeps the error.
    assert [p.success for p in pairs] == [True, True, True, False, True]
    assert pairs[3].meta["error"] == "execution failed: no such column: titel"
    prompt = fake.requests[-1].body["messages"][1]["content"]
    assert "CREATE TABLE books" in prompt and '"formal" style' in prompt
    assert pairs[0].meta["provenance"] == [
        {"producer": "sql_extractor", "engine": "llm", "style": "formal"}
    ]


def test_sql_extractor_rejects_a_malformed_llm_answer(llm_ctx, fake):
    model = PairModel()
    model.malformed = {"question_generation"}
    fake.handler = model.handler
    extractor = SqlExtractor(["SELECT count(*) FROM books"], PairDatabase(llm_ctx, "bookshop"))
    assert run(extractor.to_pairs()) == []
    [(source, reason)] = problems(extractor)
    assert source == "entry 0" and reason.startswith("cannot write a question: ")


def test_the_llm_engine_without_an_llm_fails_early(bookshop):
    with pytest.raises(ConfigError, match="no LLM is configured"):
        run(SqlExtractor(LOG, bookshop, engine="llm").to_pairs())


def test_chat_log_json_file_with_one_conversation(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps([
        {"role": "user", "content": "Count the books"},
        {"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {
            "name": "db_query", "arguments": {"sql": "SELECT count(*) FROM books"}}}]},
        {"role": "tool", "tool_call_id": "1", "content": "[[600]]"},
    ]))  # fmt: skip
    [only] = run(MessageExtractor(path, db="bookshop").to_pairs())
    assert (only.id, only.question, only.meta["source"]) == ("one-1-1.0", "Count the books",
                                                              f"{path} conversation 1 message 1")  # fmt: skip
