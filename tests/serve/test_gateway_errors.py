"""Bad input and upstream failures: OpenAI-style errors, the right status, and the server serves on."""

from __future__ import annotations

import json
import logging
import socket
import time

import openai
import pytest
from fake_openai import error_reply
from gateway_testing import FakeRequest, Reply, answer, upstream

KEY = "gw-secret-key-7f3a"
UPSTREAM_KEY = "sk-upstream-secret-91b2"
QUESTION = "How many singers are there?"


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(scope="module")
def running(fake_server, concerts_root):
    from gateway_testing import start_gateway

    dead = {"base_url": f"http://127.0.0.1:{closed_port()}/v1", "model": "m", "api_key_env": None}
    config = {
        "gateway": {"db_root": str(concerts_root), "api_keys": [KEY], "max_body_bytes": 4096},
        "services": {
            "chat": {"type": "openai", "db_id": "concerts",
                     "upstream": upstream(fake_server, api_key_env="UPSTREAM_KEY", timeout=0.5)},
            "ddl": {"type": "openai", "upstream": upstream(fake_server)},
            "down": {"type": "openai", "db_id": "concerts", "upstream": dead},
        },
    }  # fmt: skip
    gateway = start_gateway(config, env={"UPSTREAM_KEY": UPSTREAM_KEY})
    yield gateway
    gateway.stop()


def ask(client, model="chat", content=QUESTION, **kwargs):
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": content}], **kwargs
    )


def error_of(exc_info) -> tuple[int, dict]:
    err = exc_info.value
    return err.status_code, err.body


def post(running, body: bytes, headers: dict | None = None) -> tuple[int, dict, dict]:
    status, response_headers, raw = running.raw(
        "POST", "/v1/chat/completions", body,
        {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip
    return status, json.loads(raw)["error"], response_headers


def still_serves(running, fake) -> None:
    answer(fake, "SELECT count(*) FROM singer")
    assert ask(running.client(KEY)).choices[0].message.content == "SELECT count(*) FROM singer"


def test_missing_or_wrong_key_is_401(running):
    with pytest.raises(openai.AuthenticationError) as info:
        ask(running.client("not-the-key"))
    assert error_of(info) == (401, {"message": "incorrect API key provided", "type": "invalid_request_error",
                                    "param": None, "code": "invalid_api_key"})  # fmt: skip
    status, error, headers = post(running, b"{}", {"Authorization": ""})
    assert (status, error["code"], headers["www-authenticate"]) == (
        401,
        "invalid_api_key",
        "Bearer",
    )
    assert error["message"].startswith("no API key provided")


def test_unknown_model_is_404(running):
    with pytest.raises(openai.NotFoundError) as info:
        ask(running.client(KEY), model="gpt-4o")
    status, body = error_of(info)
    assert (status, body["code"], body["param"]) == (404, "model_not_found", "model")
    assert (
        body["message"] == "the model 'gpt-4o' does not exist; this gateway serves: chat, ddl, down"
    )


@pytest.mark.parametrize(
    "body, code, message",
    [
        (
            b'{"model": "chat", "messages": [',
            "invalid_json",
            "the request body is not valid JSON: ",
        ),
        (b'{"model": "chat"}', "missing_messages", "'messages' is required"),
        (b'{"model": "chat", "messages": "hi"}', "invalid_request", "invalid request: messages: "),
        (b"", "invalid_json", "the request body is empty"),
    ],
)
def test_malformed_requests_are_400(running, fake, body, code, message):
    status, error, _ = post(running, body)
    assert (status, error["code"], error["type"]) == (400, code, "invalid_request_error")
    assert error["message"].startswith(message)
    still_serves(running, fake)


def test_empty_content_is_400(running):
    with pytest.raises(openai.BadRequestError) as info:
        ask(running.client(KEY), content="   ")
    assert error_of(info)[1]["code"] == "empty_content"


def test_unparseable_ddl_is_400(running):
    with pytest.raises(openai.BadRequestError) as info:
        ask(
            running.client(KEY),
            model="ddl",
            content="CREATE TABLE t (id int name text;\nHow many rows?",
        )
    status, body = error_of(info)
    assert (status, body["code"]) == (400, "invalid_ddl")
    assert body["message"].startswith(
        "cannot read the schema in the message: cannot parse the CREATE TABLE"
    )


def test_no_schema_at_all_is_400(running):
    with pytest.raises(openai.BadRequestError) as info:
        ask(running.client(KEY), model="ddl")
    assert error_of(info)[1]["code"] == "missing_schema"


def test_unknown_database_is_404(running):
    with pytest.raises(openai.NotFoundError) as info:
        ask(running.client(KEY), extra_body={"db_id": "nope"})
    status, body = error_of(info)
    assert (status, body["code"], body["message"]) == (
        404,
        "db_not_found",
        "unknown database 'nope'; this service offers concerts",
    )


def test_body_over_the_limit_is_413(running, fake):
    with pytest.raises(openai.APIStatusError) as info:
        ask(running.client(KEY), content="How many singers? " * 400)
    status, body = error_of(info)
    assert (status, body["code"]) == (413, "request_too_large")
    assert body["message"] == "request body is larger than the limit of 4096 bytes"
    still_serves(running, fake)


def test_upstream_down_is_502_and_the_server_serves_on(running, fake):
    with pytest.raises(openai.InternalServerError) as info:
        ask(running.client(KEY), model="down")
    status, body = error_of(info)
    assert (status, body["type"], body["code"]) == (502, "upstream_error", "upstream_unreachable")
    still_serves(running, fake)


def test_upstream_slow_is_504_and_the_server_serves_on(running, fake):
    fake.handler = lambda request: Reply(delay=3.0)
    start = time.monotonic()
    with pytest.raises(openai.APIStatusError) as info:
        ask(running.client(KEY))
    assert time.monotonic() - start < 2.0
    status, body = error_of(info)
    assert (status, body["code"], body["message"]) == (
        504,
        "upstream_timeout",
        "the upstream model did not answer within 0.5 s",
    )
    # streams time out the same way before their first byte
    fake.handler = lambda request: Reply(delay=3.0)
    with pytest.raises(openai.APIStatusError) as info:
        list(ask(running.client(KEY), stream=True))
    assert error_of(info)[0] == 504
    still_serves(running, fake)


@pytest.mark.parametrize(
    "reply, status, code, message",
    [
        (error_reply(400, "This model's maximum context length is 4096 tokens"), 400,
         "upstream_rejected_request", "the upstream model refused the request: This model's maximum context length is 4096 tokens"),
        (error_reply(401, f"Incorrect API key provided: {UPSTREAM_KEY}"), 502, "upstream_auth",
         "the upstream model refused the gateway's credentials (401); check the key in the service's api_key_env"),
        (error_reply(404, "The model `fake-model` does not exist."), 502, "upstream_model_not_found",
         "the upstream does not serve the configured model: The model `fake-model` does not exist."),
        (error_reply(500, f"boom near {UPSTREAM_KEY}"), 502, "upstream_error",
         "the upstream model failed (500): boom near ***"),
        (Reply(status=200, body=b"<html>not json</html>"), 502, "upstream_bad_response",
         "the upstream model sent an unusable answer: the body is not JSON"),
    ],
)  # fmt: skip
def test_upstream_errors_are_mapped(running, fake, reply, status, code, message):
    fake.handler = lambda request: reply
    with pytest.raises(openai.APIStatusError) as info:
        ask(running.client(KEY))
    assert error_of(info) == (status, {"message": message, "type": error_of(info)[1]["type"],
                                       "param": None, "code": code})  # fmt: skip
    still_serves(running, fake)


def test_upstream_429_keeps_its_retry_after(running, fake):
    fake.handler = lambda request: error_reply(429, "slow down", retry_after="7")
    with pytest.raises(openai.RateLimitError) as info:
        ask(running.client(KEY))
    assert info.value.response.headers["retry-after"] == "7"
    assert error_of(info)[1]["code"] == "upstream_rate_limited"


def test_an_error_event_mid_stream(running, fake):
    body = (b'data: {"id":"u","object":"chat.completion.chunk","created":0,"model":"m","choices":'
            b'[{"index":0,"delta":{"content":"SELECT"},"finish_reason":null}]}\n\n'
            b'data: {"error": {"message": "the model crashed", "type": "server_error"}}\n\n')  # fmt: skip
    fake.handler = lambda request: Reply(body=body, content_type="text/event-stream")
    with pytest.raises(
        openai.APIError, match="the upstream model failed \\(502\\): the model crashed"
    ):
        list(ask(running.client(KEY), stream=True))
    still_serves(running, fake)


def test_keys_never_reach_the_logs(running, fake, caplog):
    seen: list[FakeRequest] = []

    def record(request: FakeRequest):
        seen.append(request)

    fake.handler = record
    with caplog.at_level(logging.DEBUG):
        ask(running.client(KEY))
        with pytest.raises(openai.AuthenticationError):
            ask(running.client(KEY + "-wrong"))
        fake.handler = lambda request: error_reply(
            401, f"Incorrect API key provided: {UPSTREAM_KEY}"
        )
        with pytest.raises(openai.InternalServerError):
            ask(running.client(KEY))
        time.sleep(0.1)  # the server thread's last records
    # the upstream key did go out, to the upstream only
    assert seen[0].headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert caplog.records, "debug logging should have recorded the requests"
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert KEY not in text and UPSTREAM_KEY not in text


class BrokenMethod:
    """A local method whose index cannot be built."""

    def prepare(self, db_id: str) -> None:
        raise RuntimeError(f"no pairs could be synthesized for {db_id}")

    def answer(self, question: str, db_id: str):
        raise AssertionError("never asked: the index is not there")


def test_a_local_index_that_fails_to_build_is_503_and_shown_in_health(gateways, concerts_root):
    running = gateways({"gateway": {"db_root": str(concerts_root)}, "services": {"l": {"type": "local"}}},
                       method_factory=lambda manager, config: BrokenMethod())  # fmt: skip
    health = running.wait_ready(timeout=1.0)
    assert health["status"] == "degraded"
    assert health["services"]["l"]["databases"] == {
        "concerts": "failed: no pairs could be synthesized for concerts"
    }
    with pytest.raises(openai.InternalServerError) as info:
        ask(running.client(), model="l", extra_body={"db_id": "concerts"})
    status, body = error_of(info)
    assert (status, body["code"]) == (503, "local_index_failed")
    assert (
        body["message"]
        == "the local index for 'concerts' could not be built: no pairs could be synthesized for concerts"
    )
