"""Fail fast: one clear error naming the endpoint before any work, for each way it can be wrong."""

from __future__ import annotations

import asyncio
import time

import pytest
from fake_openai import Reply, error_reply
from llm_testing import free_port, run, user

from sqlfoundry.core.errors import (
    LLMAuthError,
    LLMBadRequestError,
    LLMModelNotFoundError,
    LLMUnreachableError,
)
from sqlfoundry.llm import LLMClient, LLMRequest, run_batch

CHAT = "/v1/chat/completions"


async def preflight(config, env=None):
    async with LLMClient(config, env=env or {}) as client:
        return await client.preflight()


def test_ok_when_the_model_is_listed(fake, make_config):
    report = run(preflight(make_config()))
    assert report["models"] == ["fake-model", "fake-embed"] and not report["probed"]
    assert fake.count("/v1/models") == 1 and fake.chat_count == 0


def test_unreachable_endpoint_fails_fast_with_one_message(make_config):
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    config = make_config(base_url=base_url, max_retries=6)
    requests = [LLMRequest(user(f"q{i}")) for i in range(100)]

    async def go():
        async with LLMClient(config, env={"OPENAI_API_KEY": "sk-top-secret"}) as client:
            await run_batch(client, requests)

    start = time.perf_counter()
    with pytest.raises(LLMUnreachableError) as info:
        run(go())
    assert time.perf_counter() - start < 2.0  # no retry loop before the verdict
    text = str(info.value)
    assert text.startswith(f"{base_url} model=fake-model: cannot reach the LLM endpoint: ")
    assert "OPENAI_BASE_URL" in text and "sk-top-secret" not in text


def test_wrong_key(fake, make_config):
    fake.api_key = "right"
    with pytest.raises(LLMAuthError, match="Incorrect API key") as info:
        run(preflight(make_config(), env={"OPENAI_API_KEY": "wrong"}))
    assert info.value.status == 401 and "check the key in $OPENAI_API_KEY" in str(info.value)


def test_missing_key_says_so(fake, make_config):
    fake.api_key = "right"
    with pytest.raises(LLMAuthError, match=r"\$OPENAI_API_KEY is not set"):
        run(preflight(make_config()))


def test_unknown_model_lists_the_served_ones(fake, make_config):
    with pytest.raises(LLMModelNotFoundError) as info:
        run(preflight(make_config(model="gpt-9")))
    text = str(info.value)
    assert "model 'gpt-9'" in text and "The model `gpt-9` does not exist." in text
    assert "models served there: fake-model, fake-embed" in text
    assert fake.chat_count == 1  # the 1-token probe, to be sure it is not an alias


def test_unlisted_alias_that_works_passes(fake, make_config):
    # Served (completions work) but missing from GET /models, as behind some proxies.
    fake.models = ("fake-model", "alias")
    original = fake._default

    def listing_without_alias(request):
        body = original(request)
        if request.path == "/v1/models":
            body["data"] = [m for m in body["data"] if m["id"] != "alias"]
        return body

    fake._default = listing_without_alias
    report = run(preflight(make_config(model="alias")))
    assert report["probed"] and report["models"] == ["fake-model"]


@pytest.mark.parametrize("status", [404, 405, 501])
def test_servers_without_a_model_list_are_probed(fake, make_config, status):
    fake.models_status = status
    report = run(preflight(make_config()))
    assert report["models"] is None and report["probed"] and fake.chat_count == 1
    assert fake.requests[-1].body["max_tokens"] == 1


def test_probe_reports_a_bad_extra_body(fake, make_config):
    fake.models_status = 404

    def strict(request):
        if request.path == CHAT and "frobnicate" in request.body:
            return error_reply(400, "extra fields not permitted: frobnicate")
        return None

    fake.handler = strict
    with pytest.raises(LLMBadRequestError, match="frobnicate"):
        run(preflight(make_config(extra_body={"frobnicate": 1})))


def test_busy_server_passes_the_preflight(fake, make_config):
    fake.models_status = 404
    fake.script.append(error_reply(503, "warming up"))
    assert run(preflight(make_config()))["probed"]


def test_lazy_preflight_runs_once_before_the_first_request(fake, make_config):
    async def go():
        async with LLMClient(make_config(), env={}) as client:
            await run_batch(client, [LLMRequest(user(f"q{i}")) for i in range(30)])
            await client.generate(user("later"))

    run(go())
    assert fake.count("/v1/models") == 1 and fake.chat_count == 31
    assert fake.requests[0].path == "/v1/models"


def test_auto_preflight_off(fake, make_config):
    async def go():
        async with LLMClient(make_config(), env={}, auto_preflight=False) as client:
            await client.generate(user("q"))

    run(go())
    assert fake.count("/v1/models") == 0 and fake.chat_count == 1


# ------------------------------------------------------------------ in the background


def _slow_models(fake, seconds: float):
    """The fake's handler with ``GET /models`` answering after ``seconds``."""

    def handler(request):
        if request.path == "/v1/models":
            return Reply(json={"object": "list", "data": [{"id": m, "object": "model"}
                                                          for m in fake.models]}, delay=seconds)  # fmt: skip
        return None

    return handler


def test_a_background_preflight_lets_the_first_requests_go_meanwhile(fake, make_config):
    fake.handler = _slow_models(fake, 0.3)

    async def go():
        async with LLMClient(make_config(), env={}) as client:
            client.start_preflight()
            start = time.perf_counter()
            await run_batch(client, [LLMRequest(user(f"q{i}")) for i in range(5)])
            answered = time.perf_counter() - start
            await asyncio.sleep(0.4)
            return answered, client._background_preflight.result()

    answered, report = run(go())
    assert answered < 0.25  # did not wait for the check's 0.3 s
    assert report["models"] == ["fake-model", "fake-embed"]
    assert fake.chat_count == 5 and fake.count("/v1/models") == 1


def test_a_failed_request_raises_what_the_background_preflight_found(fake, make_config):
    """A wrong model: the requests fail with 404 and the run stops with the preflight's
    message (the models served there), not a per-request error."""

    async def go():
        async with LLMClient(make_config(model="gpt-9"), env={}) as client:
            client.start_preflight()
            await run_batch(client, [LLMRequest(user(f"q{i}")) for i in range(5)])

    with pytest.raises(LLMModelNotFoundError, match="models served there: fake-model"):
        run(go())


def test_a_background_preflight_on_an_unreachable_endpoint_stops_without_retrying(make_config):
    config = make_config(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=6,
                         retry_base_delay=1.0, retry_max_delay=1.0)  # fmt: skip

    async def go():
        async with LLMClient(config, env={"OPENAI_API_KEY": "x"}) as client:
            client.start_preflight()
            await run_batch(client, [LLMRequest(user(f"q{i}")) for i in range(20)])

    start = time.perf_counter()
    with pytest.raises(LLMUnreachableError, match="cannot reach the LLM endpoint: "):
        run(go())
    assert time.perf_counter() - start < 1.0  # no 1 s retry waits
