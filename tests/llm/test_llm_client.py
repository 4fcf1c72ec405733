"""LLMClient against the fake endpoint: retries, errors, logprobs, usage, n samples.

Every test here runs once per transport (aiohttp and the openai SDK).
"""

from __future__ import annotations

import time

import pytest
from fake_openai import Reply, error_reply
from llm_testing import run, user

from sqlfoundry.core.errors import (
    LLMAuthError,
    LLMBadRequestError,
    LLMContextLengthError,
    LLMModelNotFoundError,
    LLMResponseError,
    LLMRetriesExhaustedError,
)
from sqlfoundry.llm import LLMClient, LLMRequest, Price, run_batch

CHAT = "/v1/chat/completions"


async def generate(config, messages, **kwargs):
    async with LLMClient(config, env={}) as client:
        generations = await client.generate(messages, **kwargs)
        return generations, client.usage


def test_generation_fields(fake, make_config):
    generations, usage = run(generate(make_config(), user("how many singers")))
    (g,) = generations
    assert g.text == "reply 1.0: how many singers"
    assert g.finish_reason == "stop"
    assert (g.usage.prompt_tokens, g.usage.completion_tokens) == (3, 5)
    assert g.logprobs is None and not g.cached and g.model == "fake-model"
    sent = fake.requests[-1].body
    assert sent["model"] == "fake-model" and sent["messages"] == user("how many singers")
    assert "n" not in sent  # n=1 is not sent: some servers reject the field


def test_sampling_overrides_and_extra_body_reach_the_server(fake, make_config):
    config = make_config(extra_body={"top_k": 20}, temperature=0.2)
    run(generate(config, user("q"), temperature=0.9, max_tokens=64, stop="\n\n", seed=7))
    sent = fake.requests[-1].body
    assert sent["temperature"] == 0.9 and sent["max_tokens"] == 64 and sent["top_p"] == 1.0
    assert sent["stop"] == ["\n\n"] and sent["seed"] == 7 and sent["top_k"] == 20


def test_finish_reason_length_passes_through(make_config):
    generations, _ = run(generate(make_config(), user("a b c d e f"), max_tokens=3))
    assert generations[0].finish_reason == "length" and generations[0].truncated


def test_logprobs_pass_through(fake, make_config):
    generations, _ = run(generate(make_config(), user("x y"), n=2, logprobs=True, top_logprobs=3))
    assert fake.requests[-1].body["logprobs"] is True
    assert fake.requests[-1].body["top_logprobs"] == 3
    for g in generations:
        assert [t.token for t in g.logprobs] == g.text.split()
        assert g.logprobs[0].logprob == pytest.approx(-0.1)
        assert g.logprobs[1].top[0] == (g.logprobs[1].token, pytest.approx(-0.2))
        assert len(g.logprobs[0].top) == 3
        assert g.sum_logprob == pytest.approx(sum(-0.1 * (i + 1) for i in range(len(g.logprobs))))
        assert g.mean_logprob == pytest.approx(g.sum_logprob / len(g.logprobs))


def test_missing_logprobs_when_asked_is_an_item_error(fake, make_config):
    body = {"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": "stop"}]}
    fake.script.append(Reply(json=body))
    with pytest.raises(LLMResponseError, match="logprobs were requested"):
        run(generate(make_config(), user("q"), logprobs=True))


def test_n_samples_in_one_request(fake, make_config):
    generations, _ = run(generate(make_config(), user("q"), n=3))
    assert [g.index for g in generations] == [0, 1, 2]
    assert [g.text for g in generations] == ["reply 1.0: q", "reply 1.1: q", "reply 1.2: q"]
    assert fake.chat_count == 1 and fake.requests[-1].body["n"] == 3


def test_server_ignoring_n_is_asked_again(fake, make_config):
    # llama.cpp answers one choice whatever n is: the client asks for the rest.
    def one_choice(request):
        if request.path == CHAT and request.body.get("n", 1) > 1:
            request.body["n"] = 1
        return None

    fake.handler = one_choice
    generations, _ = run(generate(make_config(), user("q"), n=3))
    assert len(generations) == 3 and fake.chat_count == 3
    assert [g.index for g in generations] == [0, 1, 2]


def test_usage_totals_and_cost(fake, make_config):
    config = make_config(prices={"fake-model": Price(input=1.0, output=2.0)})

    async def go():
        async with LLMClient(config, env={}) as client:
            for text in ("one two", "three four five"):
                await client.generate(user(text), operator="question_generation")
            await client.generate(user("six"), operator="consistency_judge", n=2)
            await client.generate(user("six"), operator="consistency_judge", n=2)  # cached
            return client.usage

    usage = run(go())
    qg = usage.stats("question_generation")
    assert (qg.calls, qg.prompt_tokens, qg.completion_tokens) == (2, 5, 4 + 5)
    judge = usage.stats("consistency_judge")
    assert (judge.calls, judge.prompt_tokens, judge.completion_tokens) == (1, 1, 6)
    assert judge.cache_hits == 2
    total = usage.to_dict()["total"]
    assert total["calls"] == 3 and total["prompt_tokens"] == 6 and total["completion_tokens"] == 15
    assert total["cost_usd"] == pytest.approx((6 * 1.0 + 15 * 2.0) / 1e6)
    assert set(usage.to_dict()["operators"]) == {"question_generation", "consistency_judge"}


def test_usage_missing_from_server_counts_zero(fake, make_config):
    fake.script.append(
        Reply(json={"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]})
    )
    generations, usage = run(generate(make_config(), user("q")))
    assert generations[0].text == "ok" and usage.total.calls == 1 and usage.total.total_tokens == 0


def test_reasoning_content_is_kept(fake, make_config):
    message = {"content": "SELECT 1", "reasoning_content": "think first"}
    fake.script.append(Reply(json={"choices": [{"message": message, "finish_reason": "stop"}]}))
    generations, _ = run(generate(make_config(), user("q")))
    assert generations[0].reasoning == "think first" and generations[0].text == "SELECT 1"


# ---------------------------------------------------------------- retries


def test_429_with_retry_after_is_honoured(fake, make_config):
    fake.script.append(error_reply(429, "Rate limit reached", retry_after="0.4"))
    start = time.perf_counter()
    generations, usage = run(generate(make_config(retry_base_delay=5.0), user("q")))
    waited = time.perf_counter() - start
    assert generations[0].text.startswith("reply")
    assert fake.chat_count == 2
    # Retry-After (0.4 s) wins over the 5 s backoff base.
    assert 0.4 <= waited < 2.0
    assert usage.total.retries == 1 and usage.total.failures == 0


def test_retry_after_ms_header(fake, make_config):
    fake.script.append(error_reply(503, "overloaded", retry_after_ms="50"))
    generations, usage = run(generate(make_config(retry_base_delay=5.0), user("q")))
    assert generations and fake.chat_count == 2 and usage.total.retries == 1


def test_500_then_success(fake, make_config):
    fake.script.extend([error_reply(500, "boom"), error_reply(502, "bad gateway")])
    generations, usage = run(generate(make_config(), user("q")))
    assert generations[0].text.startswith("reply")
    assert fake.chat_count == 3 and usage.total.retries == 2


@pytest.mark.parametrize("status", [408, 409])
def test_408_409_are_retried(fake, make_config, status):
    fake.script.append(error_reply(status, "try again"))
    run(generate(make_config(), user("q")))
    assert fake.chat_count == 2


def test_retries_exhausted_is_an_item_error(fake, make_config):
    fake.handler = lambda request: (
        error_reply(503, "Service temporarily overloaded") if request.path == CHAT else None
    )
    with pytest.raises(LLMRetriesExhaustedError, match="Service temporarily overloaded") as info:
        run(generate(make_config(max_retries=2), user("q")))
    assert fake.chat_count == 3 and info.value.status == 503


def test_timeout_then_success(fake, make_config):
    fake.script.append(Reply(delay=2.0))
    start = time.perf_counter()
    generations, usage = run(generate(make_config(timeout=0.3), user("q")))
    assert generations[0].text.startswith("reply")
    assert fake.chat_count == 2 and usage.total.retries == 1
    assert time.perf_counter() - start < 1.5


def test_timeout_every_time(fake, make_config):
    fake.handler = lambda request: Reply(delay=2.0) if request.path == CHAT else None
    with pytest.raises(LLMRetriesExhaustedError, match="no answer within 0.2 s"):
        run(generate(make_config(timeout=0.2, max_retries=1), user("q")))
    assert fake.chat_count == 2


# ---------------------------------------------------------------- errors that stop the run


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (
            error_reply(401, "Incorrect API key provided: sk-wr***"),
            LLMAuthError,
            "Incorrect API key",
        ),
        (error_reply(403, "Project has no access"), LLMAuthError, "no access"),
        (
            error_reply(404, "The model `gpt-x` does not exist.", "model_not_found"),
            LLMModelNotFoundError,
            "does not exist",
        ),
        (error_reply(400, "temperature: must be <= 2"), LLMBadRequestError, "must be <= 2"),
        (error_reply(422, "unknown field 'frobnicate'"), LLMBadRequestError, "frobnicate"),
    ],
)
def test_fatal_statuses_are_not_retried(fake, make_config, reply, error, message):
    fake.handler = lambda request: reply if request.path == CHAT else None
    with pytest.raises(error, match=message) as info:
        run(generate(make_config(), user("q")))
    assert fake.chat_count == 1  # no retry storm
    assert info.value.base_url == fake.base_url and fake.base_url in str(info.value)


def test_non_json_error_body_is_quoted(fake, make_config):
    fake.handler = lambda request: (
        Reply(status=400, body=b"<html>Bad Request</html>", content_type="text/html")
        if request.path == CHAT
        else None
    )
    with pytest.raises(LLMBadRequestError, match="<html>Bad Request</html>"):
        run(generate(make_config(), user("q")))


def test_context_length_400_is_an_item_error(fake, make_config):
    fake.script.append(
        error_reply(
            400,
            "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
        )
    )
    with pytest.raises(LLMContextLengthError, match="maximum context length"):
        run(generate(make_config(), user("q")))
    assert fake.chat_count == 1


def test_auth_error_hint_names_the_variable_never_the_key(fake, make_config):
    fake.api_key = "right-key"
    config = make_config(api_key_env="MY_LLM_KEY")

    async def go():
        async with LLMClient(config, env={"MY_LLM_KEY": "sk-wrong-secret"}) as client:
            await client.generate(user("q"))

    with pytest.raises(LLMAuthError) as info:
        run(go())
    text = str(info.value)
    assert "$MY_LLM_KEY" in text and "sk-wrong-secret" not in text
    assert fake.count("/v1/models") == 1 and fake.chat_count == 0  # caught by the preflight


def test_api_key_is_sent(fake, make_config):
    fake.api_key = "right-key"
    config = make_config(api_key_env="MY_LLM_KEY")

    async def go():
        async with LLMClient(config, env={"MY_LLM_KEY": "right-key"}) as client:
            return await client.generate(user("q"))

    assert run(go())[0].text.startswith("reply")


# ---------------------------------------------------------------- malformed answers


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(body=b'{"choices": [ {"mess'), "not JSON"),
        (Reply(body=b"", content_type="text/plain"), "not JSON"),
        (Reply(json={"id": "x"}), "no 'choices'"),
        (Reply(json={"choices": []}), "no 'choices'"),
        (Reply(json={"choices": [{"finish_reason": "stop"}]}), "no 'message'"),
        (Reply(json={"choices": [{"message": {"content": 42}}]}), "content is int"),
        (Reply(json=["not", "an", "object"]), "not a JSON object"),
        (Reply(json={"error": {"message": "worker crashed"}}), "worker crashed"),
    ],
)
def test_malformed_completion_keeps_the_raw_body(fake, make_config, reply, message):
    fake.script.extend([reply] * 3)
    with pytest.raises(LLMResponseError, match=message) as info:
        run(generate(make_config(max_retries=2), user("q")))
    assert info.value.raw is not None
    assert fake.chat_count == 3  # retried like a 5xx, then given up


@pytest.mark.parametrize(
    "reply", [Reply(body=b'{"choices": [ {"mess'), Reply(json={"choices": []})]
)
def test_a_malformed_200_is_retried_and_the_next_answer_used(fake, make_config, reply):
    fake.script.append(reply)
    (generation,), _ = run(generate(make_config(max_retries=2), user("q")))
    assert generation.text.startswith("reply") and fake.chat_count == 2


def test_malformed_completions_are_per_item_failures_in_a_batch(fake, make_config):
    def sometimes_broken(request):
        if request.path == CHAT and "broken" in request.body["messages"][0]["content"]:
            return Reply(body=b"{truncated")
        return None

    fake.handler = sometimes_broken
    prompts = [user("broken 1"), user("fine 2"), user("broken 3"), user("fine 4")]

    async def go():
        async with LLMClient(make_config(), env={}) as client:
            items = await run_batch(client, [LLMRequest(p) for p in prompts])
            return items, client.usage

    items, usage = run(go())
    assert [item.ok for item in items] == [False, True, False, True]
    assert isinstance(items[0].error, LLMResponseError) and items[0].error.raw == "{truncated"
    assert items[1].text.endswith("fine 2")
    assert usage.total.failures == 2
