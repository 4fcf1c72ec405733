"""What the gateway reuses between requests: a linked prompt, a checked answer, a local answer.

Reused work must give exactly what working it out again gives: the same prompt upstream,
the same reply, a preview and the warnings once each (never piled up from earlier requests).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import pytest
from gateway_testing import answer, upstream

from sqlfoundry.db.schema import Column, Schema, Table
from sqlfoundry.serve.app import chat_service
from sqlfoundry.serve.config import PostprocessConfig, UpstreamConfig
from sqlfoundry.serve.postprocess import PostProcessor, SchemaNames
from sqlfoundry.serve.requests import ChatRequest
from sqlfoundry.serve.upstream import Upstream, UpstreamPool

QUESTION = "Which singers are from France?"
SQL = "SELECT name FROM singer WHERE country = 'France'"
PREVIEW = f"{SQL}\n-- preview: 2 rows\n-- name\n-- Ada\n-- Cy"
SINGER_DDL = "CREATE TABLE singer ("


@pytest.fixture
def linked(fake, concerts_root, gateways):
    """A service over concerts that shows one table of two, and previews its answers."""
    return gateways({
        "gateway": {"db_root": str(concerts_root)},
        "services": {"s": {"type": "openai", "version": "v2", "db_id": "concerts",
                           "upstream": upstream(fake), "linking": {"max_tables": 1},
                           "postprocess": {"execute": True, "preview_rows": 2}}},
    })  # fmt: skip


def _ask(running, content: str, **extra):
    return running.client().chat.completions.create(
        model="s", messages=[{"role": "user", "content": content}], extra_body=extra or None
    )


def test_a_question_asked_again_is_sent_and_answered_as_the_first_time(linked, fake):
    handler = answer(fake, f"```sql\n{SQL};\n```")
    replies = [
        _ask(linked, q) for q in (QUESTION, QUESTION, "  Which singers\n are from  France? ")
    ]
    first = handler.bodies[0]["messages"]
    assert [b["messages"] for b in handler.bodies] == [first] * 3  # spacing changes nothing
    assert SINGER_DDL in first[0]["content"] and "CREATE TABLE concert" not in first[0]["content"]
    assert first[0]["content"].endswith(f"Question: {QUESTION}\nSQL:")
    for reply in replies:
        assert reply.choices[0].message.content == PREVIEW  # the preview once, every time
        assert reply.sqlfoundry["tables"] == ["singer"]
        assert reply.choices[0].sqlfoundry["preview"]["rows"] == [["Ada"], ["Cy"]]


def test_evidence_and_other_questions_get_their_own_prompt(linked, fake):
    handler = answer(fake, f"```sql\n{SQL};\n```")
    _ask(linked, QUESTION)
    _ask(linked, QUESTION, evidence="France is a country")
    _ask(linked, "Which concerts were held in 2020?")
    plain, hinted, other = (b["messages"][0]["content"] for b in handler.bodies)
    assert "External knowledge" not in plain
    assert hinted == plain.replace(
        "\n\nQuestion:", "\n\nExternal knowledge: France is a country\n\nQuestion:"
    )
    assert "CREATE TABLE concert" in other and SINGER_DDL not in other


def test_an_answer_met_again_keeps_its_warnings_once(linked, fake):
    wrong = "SELECT nickname FROM singer"
    answer(fake, wrong)
    for question in (QUESTION, "Name the singers", QUESTION):
        choice = _ask(linked, question).choices[0]
        assert choice.sqlfoundry["errors"] == ["unknown column singer.nickname"]
        assert choice.sqlfoundry["valid"] is False
        assert choice.message.content.count("-- warning: unknown column singer.nickname") == 1
        assert choice.message.content.count("-- execution error:") == 1


def test_checked_answers_are_copies():
    schema = Schema(db_id="d", tables=[Table(name="t", columns=[Column(name="a")])])
    names = SchemaNames(schema)
    post = PostProcessor(PostprocessConfig(), "sqlite")
    first = post.checked("SELECT b FROM t", names, reuse=True)
    first.notes.append("-- preview: 0 rows")
    first.errors.append("changed by the caller")
    again = post.checked("SELECT b FROM t", names, reuse=True)
    assert again is not first
    assert again.errors == ["unknown column t.b"]
    assert again.notes == ["-- warning: unknown column t.b"]
    # Another schema's names: checked against its own columns, not taken from the first.
    other = SchemaNames(Schema(db_id="e", tables=[Table(name="t", columns=[Column(name="b")])]))
    assert post.checked("SELECT b FROM t", other, reuse=True).errors == []


@dataclass
class _Answer:
    sql: str
    score: float = 1.0
    matched_question: str = "how many singers are there"
    substitutions: dict = field(default_factory=dict)


class CountingMethod:
    """A local method that counts how often each question reaches it."""

    def __init__(self) -> None:
        self.asked: dict[str, int] = {}

    def prepare(self, db_id: str) -> None:
        pass

    def answer(self, question: str, db_id: str) -> _Answer:
        self.asked[question] = self.asked.get(question, 0) + 1
        return _Answer(f"SELECT count(*) FROM singer WHERE name <> '{question[:3]}'")


def test_the_local_method_answers_each_question_once(gateways, concerts_root):
    method = CountingMethod()
    running = gateways({"gateway": {"db_root": str(concerts_root)},
                        "services": {"l": {"type": "local", "db_id": "concerts"}}},
                       method_factory=lambda manager, config: method)  # fmt: skip
    running.wait_ready()
    client = running.client()

    def ask(question: str) -> str:
        reply = client.chat.completions.create(
            model="l", messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content

    assert [ask(q) for q in ("How many?", "Count them", "How many?")] == [
        "SELECT count(*) FROM singer WHERE name <> 'How'",
        "SELECT count(*) FROM singer WHERE name <> 'Cou'",
        "SELECT count(*) FROM singer WHERE name <> 'How'",
    ]
    assert method.asked == {"How many?": 1, "Count them": 1}


class ThreadNotingMethod(CountingMethod):
    """A local method that notes the thread each answer runs on."""

    def __init__(self, inline: bool) -> None:
        super().__init__()
        self.answers_inline = inline
        self.threads: list[int] = []

    def answer(self, question: str, db_id: str) -> _Answer:
        self.threads.append(threading.get_ident())
        return super().answer(question, db_id)


@pytest.mark.parametrize("inline", [True, False])
def test_a_quick_method_answers_on_the_event_loop_and_any_other_on_a_thread(
    gateways, concerts_root, inline
):
    method = ThreadNotingMethod(inline)
    running = gateways({"gateway": {"db_root": str(concerts_root)},
                        "services": {"l": {"type": "local", "db_id": "concerts"}}},
                       method_factory=lambda manager, config: method)  # fmt: skip
    running.wait_ready()
    reply = running.client().chat.completions.create(
        model="l", messages=[{"role": "user", "content": "How many?"}]
    )
    assert reply.choices[0].message.content == "SELECT count(*) FROM singer WHERE name <> 'How'"
    # The server's event loop runs on the gateway's thread.
    assert (method.threads == [running.thread.ident]) is inline
    assert len(method.threads) == 1


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/chat/completions", None),
        ("/nl2sql/chat/v1/chat/completions", "chat"),
        ("/nl2sql/my-service.v2/v1/chat/completions", "my-service.v2"),
        ("/nl2sql//v1/chat/completions", False),
        ("/nl2sql/a/b/v1/chat/completions", False),
        ("/v1/chat/completions/", False),
        ("/v1/models", False),
        ("/nl2sql/chat/v1/models", False),
    ],
)
def test_which_paths_are_chat_routes(path, service):
    assert chat_service(path) == service


def test_other_paths_still_reach_the_router(linked):
    status, _, body = linked.raw("POST", "/nl2sql/a/b/v1/chat/completions", b"{}")
    assert status == 404 and b'"code":"unknown_url"' in body.replace(b" ", b"")
    status, _, body = linked.raw("GET", "/v1/chat/completions")
    assert status == 405 and b"method_not_allowed" in body


def test_cors_headers_on_a_chat_answer(fake, gateways):
    answer(fake, SQL)
    running = gateways({"gateway": {"cors_origins": ["http://app.example"]},
                        "services": {"s": {"type": "openai", "upstream": upstream(fake)}}})  # fmt: skip
    body = b'{"model": "s", "messages": [{"role": "user", "content": "CREATE TABLE t (a int);\\nHow many rows?"}]}'
    status, headers, _ = running.raw("POST", "/v1/chat/completions", body, headers={
        "Origin": "http://app.example", "Content-Type": "application/json"})  # fmt: skip
    assert status == 200 and headers["access-control-allow-origin"] == "http://app.example"


@pytest.mark.parametrize("stream", [False, True])
def test_a_reused_prompt_goes_upstream_as_a_new_one_would(stream):
    upstream_config = UpstreamConfig(base_url="http://127.0.0.1:9/v1", model="m", api_key_env=None,
                                     params={"temperature": 0.2, "max_tokens": 64})  # fmt: skip
    request = ChatRequest.model_validate(
        {"messages": [{"role": "user", "content": "q"}], "n": 2, "seed": 7, "stream": stream}
    )
    messages = [{"role": "system", "content": 'Use "quotes" and é\n'},
                {"role": "user", "content": "Question: q\nSQL:"}]  # fmt: skip
    target = Upstream(upstream_config, UpstreamPool(), {})
    fresh = json.loads(target.payload(request, messages, stream=stream))
    reused = target.payload(request, messages, stream=stream,
                            encoded=json.dumps(messages, ensure_ascii=False))  # fmt: skip
    assert json.loads(reused) == fresh
    assert (
        fresh["messages"] == messages
        and fresh["n"] == 2
        and fresh.get("stream") is (stream or None)
    )
