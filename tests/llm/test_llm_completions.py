"""``LLMClient.complete``: text completions of a raw prompt, n samples, logprobs, echo.

Every test here runs once per transport (aiohttp and the openai SDK).
"""

from __future__ import annotations

import pytest
from fake_openai import Reply
from llm_testing import run, user

from sqlfoundry.core.errors import LLMLogprobsMissingError, LLMResponseError
from sqlfoundry.llm import LLMClient, SyncLLMClient
from sqlfoundry.llm.generation import Generation

COMPLETIONS = "/v1/completions"


async def complete(config, prompt, **kwargs):
    async with LLMClient(config, env={}) as client:
        generations = await client.complete(prompt, **kwargs)
        return generations, client.usage


def test_n_completions_with_logprobs_and_offsets(fake, make_config):
    generations, usage = run(complete(make_config(), "SELECT", n=3, logprobs=2, seed=5))
    sent = fake.requests[-1]
    assert sent.path == COMPLETIONS
    assert sent.body["prompt"] == "SELECT" and sent.body["n"] == 3
    assert sent.body["logprobs"] == 2 and sent.body["seed"] == 5 and "echo" not in sent.body
    assert [g.text for g in generations] == [
        " completion 1.0",
        " completion 1.1",
        " completion 1.2",
    ]
    first = generations[0].logprobs
    assert [(t.token, t.offset) for t in first] == [(" completion", 0), (" 1.0", 11)]
    assert [t.logprob for t in first] == [pytest.approx(-0.1), pytest.approx(-0.2)]
    assert first[1].top == [(" 1.0", pytest.approx(-0.2)), ("alt1", pytest.approx(-1.2))]
    assert generations[0].sum_logprob == pytest.approx(-0.3)
    stats = usage.stats("llm")
    assert (stats.calls, stats.prompt_tokens, stats.completion_tokens) == (1, 1, 6)


def test_echo_scores_the_prompt_itself(fake, make_config):
    prompt = "Question: x\nSELECT a FROM t"
    (g,), _ = run(complete(make_config(), prompt, logprobs=0, echo=True, max_tokens=0))
    assert fake.requests[-1].body["echo"] is True and fake.requests[-1].body["max_tokens"] == 0
    assert g.text == prompt
    tokens = [(t.offset, t.token, t.logprob) for t in g.logprobs]
    assert tokens[0] == (0, "Question:", 0.0)  # the first token has no log probability
    assert tokens[2] == (11, "\nSELECT", pytest.approx(-0.03))
    assert [prompt[o : o + len(t)] for o, t, _ in tokens] == [t for _, t, _ in tokens]


def test_no_logprobs_without_asking(fake, make_config):
    (g,), _ = run(complete(make_config(), "p"))
    assert g.logprobs is None and "logprobs" not in fake.requests[-1].body


def test_cached_completions_make_no_request(fake, make_config):
    config = make_config()
    first, _ = run(complete(config, "p", n=2, logprobs=1))
    again, usage = run(complete(config, "p", n=2, logprobs=1))
    assert fake.count(COMPLETIONS) == 1
    assert [g.text for g in again] == [g.text for g in first] and all(g.cached for g in again)
    assert [t.offset for t in again[1].logprobs] == [t.offset for t in first[1].logprobs]
    assert usage.stats("llm").cache_hits == 2

    # A chat request with the same text is another request, not a cache hit.
    async def chat():
        async with LLMClient(config, env={}) as client:
            return await client.generate(user("p"))

    run(chat())
    assert fake.chat_count == 1


def test_a_server_without_logprobs_gives_a_clear_error(fake, make_config):
    fake.logprobs_supported = False
    with pytest.raises(LLMLogprobsMissingError, match="logprobs were requested"):
        run(complete(make_config(), "p", logprobs=1))

    async def chat():
        async with LLMClient(make_config(), env={}) as client:
            return await client.generate(user("q"), logprobs=True)

    with pytest.raises(LLMLogprobsMissingError):
        run(chat())


def test_server_ignoring_n_is_asked_again(fake, make_config):
    fake.handler = lambda request: (
        Reply(
            json={
                "choices": [
                    {"index": 0, "text": f"t{fake.count(COMPLETIONS)}", "finish_reason": "stop"}
                ]
            }
        )
        if request.path == COMPLETIONS
        else None
    )
    generations, _ = run(complete(make_config(), "p", n=3))
    assert [g.text for g in generations] == ["t1", "t2", "t3"] and fake.count(COMPLETIONS) == 3


@pytest.mark.parametrize(
    "body, message",
    [
        ({"choices": []}, "no 'choices' list"),
        ({"choices": [{"index": 0, "finish_reason": "stop"}]}, "no 'text' string"),
        (
            {"choices": [{"text": "x", "logprobs": {"tokens": ["x"], "token_logprobs": []}}]},
            "differ in length",
        ),
    ],
)
def test_malformed_completions_are_item_errors(fake, make_config, body, message):
    fake.handler = lambda request: Reply(json=body) if request.path == COMPLETIONS else None
    with pytest.raises(LLMResponseError, match=message):
        run(complete(make_config(), "p", logprobs=0))


def test_sync_client_completes(fake, make_config):
    with SyncLLMClient(make_config(), env={}) as client:
        (g,) = client.complete("p", max_tokens=1)
    assert isinstance(g, Generation) and g.text == " completion" and g.finish_reason == "length"
