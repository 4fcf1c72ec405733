"""The gateway end to end, with the official openai SDK as the client."""

from __future__ import annotations

import json

import openai
import pytest
from gateway_testing import answer, sse_body, stream_answer, upstream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

KEY = "gw-test-key"
QUESTION = "Which singers are from France?"
SQL = "SELECT name FROM singer WHERE country = 'France'"


@pytest.fixture(scope="module")
def running(fake_server, concerts_root, tmp_path_factory):
    from gateway_testing import start_gateway

    config = {
        "gateway": {"db_root": str(concerts_root), "api_keys": [KEY]},
        "services": {
            "chat": {"type": "openai", "db_id": "concerts", "upstream": upstream(fake_server),
                     "postprocess": {"execute": True, "preview_rows": 2}},
            "text": {"type": "openai", "db_id": "concerts", "upstream": upstream(fake_server),
                     "postprocess": {"reply": "text"}},
            "local": {"type": "local", "databases": ["concerts"], "description": "offline",
                      "local": {"cache_dir": str(tmp_path_factory.mktemp("retrieval")), "num_per_db": 60},
                      "postprocess": {"execute": True}},
        },
    }  # fmt: skip
    gateway = start_gateway(config)
    gateway.wait_ready()
    yield gateway
    gateway.stop()


def ask(client, model="chat", content=QUESTION, **kwargs):
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": content}], **kwargs
    )


def test_non_stream_completion_with_usage_and_preview(running, fake):
    answer(fake, f"The singers:\n```sql\n{SQL};\n```")
    reply = ask(running.client(KEY))
    assert isinstance(reply, ChatCompletion)
    ChatCompletion.model_validate(reply.model_dump())
    assert (
        reply.object == "chat.completion"
        and reply.model == "chat"
        and reply.id.startswith("chatcmpl-")
    )
    assert reply.usage.model_dump(exclude_none=True) == {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
    }
    choice = reply.choices[0]
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    assert choice.message.content == f"{SQL}\n-- preview: 2 rows\n-- name\n-- Ada\n-- Cy"
    assert choice.sqlfoundry == {
        "sql": SQL, "dialect": "sqlite", "valid": True, "errors": [],
        "preview": {"status": "ok", "columns": ["name"], "rows": [["Ada"], ["Cy"]], "truncated": False,
                    "elapsed_ms": choice.sqlfoundry["preview"]["elapsed_ms"], "error": None},
    }  # fmt: skip
    assert reply.sqlfoundry == {"service": "chat", "db_id": "concerts", "schema_source": "text",
                                "tables": ["singer", "concert"]}  # fmt: skip


def test_several_choices_are_each_post_processed(running, fake):
    seen = answer(fake, SQL, "I do not know.")
    reply = ask(running.client(KEY), model="text", n=2)
    assert seen.bodies[-1]["n"] == 2
    assert [c.index for c in reply.choices] == [0, 1]
    assert reply.choices[0].message.content == SQL
    assert reply.choices[1].message.content == (
        "I do not know.\n\n-- warning: no SQL in the answer: no SQL found: no ```sql block and the "
        "text does not start with SELECT/WITH"
    )
    assert reply.choices[1].sqlfoundry["valid"] is False


def test_stream_passes_the_deltas_through_and_ends_with_usage(running, fake):
    pieces = ["```sql\n", "SELECT name FROM singer ", "WHERE country = 'France'", "\n```"]
    bodies = stream_answer(fake, pieces)
    stream = ask(running.client(KEY), stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert bodies[-1]["stream"] is True and bodies[-1]["stream_options"] == {"include_usage": True}
    for chunk in chunks:
        assert isinstance(chunk, ChatCompletionChunk) and chunk.object == "chat.completion.chunk"
        assert chunk.model == "chat" and chunk.id == chunks[0].id
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:-1])
    finish = chunks[-2].choices[0]
    assert finish.finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-2])
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    # The model's text as it came, then what post-processing adds: here the preview.
    assert text == "".join(pieces) + "\n\n-- preview: 2 rows\n-- name\n-- Ada\n-- Cy"
    assert finish.sqlfoundry["sql"] == SQL and finish.sqlfoundry["valid"] is True
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 13


def test_stream_without_include_usage_has_no_usage_chunk(running, fake):
    stream_answer(fake, [SQL])
    chunks = list(ask(running.client(KEY), stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_raw_event_stream_format(running, fake):
    stream_answer(fake, [SQL], usage=False)
    body = json.dumps({"model": "chat", "stream": True, "stream_options": {"include_usage": True},
                       "messages": [{"role": "user", "content": QUESTION}]}).encode()  # fmt: skip
    status, headers, raw = running.raw("POST", "/v1/chat/completions", body,
                                       {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})  # fmt: skip
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = [line for line in raw.decode().split("\n\n") if line.strip()]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[6:]) for e in events[:-1]]
    for payload in payloads:
        ChatCompletionChunk.model_validate(payload)
    # the upstream sent no usage: the usage chunk still comes, with zeros
    assert payloads[-1]["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def test_an_upstream_stream_cut_short_still_finishes(running, fake):
    from gateway_testing import FakeRequest, Reply

    raw = sse_body(["SELECT name ", "FROM singer"]).split(b"data: {")
    truncated = b"data: {".join(raw[:4])  # role + two pieces, then the connection ends

    def handler(request: FakeRequest):
        return Reply(body=truncated, content_type="text/event-stream")

    fake.handler = handler
    chunks = list(ask(running.client(KEY), model="text", stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].choices[0].sqlfoundry["sql"] == "SELECT name FROM singer"


def test_local_service_answers_with_the_offline_method(running):
    method = running.gateway.services["local"].local.method
    expected = method.answer(QUESTION, "concerts")
    reply = ask(running.client(KEY), model="local", extra_body={"db_id": "concerts"})
    info = reply.choices[0].sqlfoundry
    assert info["sql"] == expected.sql
    assert reply.choices[0].message.content.startswith(expected.sql + "\n-- preview: ")
    assert info["preview"]["status"] == "ok"
    assert info["local"] == {"score": expected.score, "matched_question": expected.matched_question,
                             "substitutions": expected.substitutions}  # fmt: skip
    assert reply.usage.total_tokens == 0
    # the one database of the service is the default; streams carry the same content
    chunks = list(
        ask(running.client(KEY), model="local", stream=True, stream_options={"include_usage": True})
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
        == reply.choices[0].message.content
    )
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-1].usage.total_tokens == 0


def test_local_service_refusals(running):
    client = running.client(KEY)
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, model="local", content="CREATE TABLE t (x int);\nHow many rows?")
    assert info.value.body["code"] == "schema_not_supported"
    with pytest.raises(openai.BadRequestError) as info:
        ask(client, model="local", n=2)
    assert info.value.body["code"] == "invalid_n"


def test_models_health_and_openapi(running):
    models = running.client(KEY).models.list()
    assert [m.id for m in models.data] == ["chat", "text", "local"]
    assert models.data[2].sqlfoundry["type"] == "local"
    status, _, body = running.raw("GET", "/health")
    assert status == 200
    assert json.loads(body)["services"]["local"] == {
        "type": "local",
        "databases": {"concerts": "ready"},
        "ready": True,
    }
    status, _, body = running.raw("GET", "/openapi.json")
    schema = json.loads(body)
    assert status == 200
    assert {"/v1/chat/completions", "/nl2sql/{service}/v1/chat/completions", "/v1/models",
            "/nl2sql/{service}/v1/models", "/health"} <= set(schema["paths"])  # fmt: skip
    assert {"ChatCompletion", "ChatCompletionChunk", "ChatMessage", "ErrorResponse"} <= set(
        schema["components"]["schemas"]
    )
    request_body = schema["paths"]["/v1/chat/completions"]["post"]["requestBody"]
    assert "messages" in request_body["content"]["application/json"]["schema"]["properties"]


def test_one_service_under_its_own_path(running, fake):
    answer(fake, SQL)
    client = running.client(KEY, base="/nl2sql/text/v1")
    assert [m.id for m in client.models.list().data] == ["text"]
    # the path names the service; the body's model is not needed to route
    reply = client.chat.completions.create(
        model="ignored", messages=[{"role": "user", "content": QUESTION}]
    )
    assert reply.model == "text" and reply.choices[0].message.content == SQL


def test_cors_is_off_by_default(running):
    status, headers, _ = running.raw("GET", "/v1/models", headers={"Origin": "http://evil.example",
                                                                  "Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert status == 200
    assert not any(h.lower().startswith("access-control-") for h in headers)


def test_cors_when_origins_are_listed(fake, gateways):
    running = gateways({"gateway": {"cors_origins": ["http://app.example"]},
                        "services": {"s": {"type": "openai", "upstream": upstream(fake)}}})  # fmt: skip
    status, headers, _ = running.raw("OPTIONS", "/v1/chat/completions", headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert status == 200 and headers["access-control-allow-origin"] == "http://app.example"
