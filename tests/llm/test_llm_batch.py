"""The batch runner: concurrency cap, order, per-item failures, stopping on endpoint errors."""

from __future__ import annotations

import io

import pytest
from fake_openai import Reply, error_reply
from llm_testing import run, user
from rich.console import Console
from rich.progress import Progress

from sqlfoundry.core.errors import (
    LLMAuthError,
    LLMBadRequestError,
    LLMEndpointError,
    LLMRetriesExhaustedError,
)
from sqlfoundry.llm import LLMClient, LLMRequest, SyncLLMClient, run_batch

CHAT = "/v1/chat/completions"


async def batch(config, requests, **kwargs):
    async with LLMClient(config, env={}) as client:
        items = await run_batch(client, requests, **kwargs)
        return items, client.usage


@pytest.mark.parametrize("ask", [None, 40])
def test_concurrency_cap_is_respected(fake, make_config, ask):
    """Never more than max_concurrency in flight, even when the runner is asked for more."""
    fake.latency = 0.05
    requests = [LLMRequest(user(f"q{i}")) for i in range(40)]
    items, _ = run(batch(make_config(max_concurrency=5), requests, concurrency=ask))
    assert all(item.ok for item in items)
    assert fake.max_in_flight == 5  # reached, never passed
    assert fake.chat_count == 40


def test_results_keep_request_order(fake, make_config):
    # Later requests answer first; the results must still line up with the requests.
    def slow_early(request):
        if request.path == CHAT:
            number = int(request.body["messages"][0]["content"][1:])
            return Reply(delay=0.002 * (20 - number))
        return None

    fake.handler = slow_early
    requests = [LLMRequest(user(f"q{i}")) for i in range(20)]
    items, _ = run(batch(make_config(), requests))
    assert [item.index for item in items] == list(range(20))
    assert [item.text.split(": ")[1] for item in items] == [f"q{i}" for i in range(20)]


def test_per_request_parameters(fake, make_config):
    requests = [
        LLMRequest(user("a"), n=2),
        LLMRequest(user("b"), logprobs=True, params={"temperature": 0.7, "max_tokens": 9}),
    ]
    items, _ = run(batch(make_config(), requests))
    assert len(items[0].generations) == 2 and items[1].generations[0].logprobs
    sent = {r.body["messages"][0]["content"]: r.body for r in fake.requests if r.path == CHAT}
    assert sent["a"]["n"] == 2 and sent["b"]["temperature"] == 0.7 and sent["b"]["max_tokens"] == 9


def test_item_failures_do_not_fail_the_batch(fake, make_config):
    def flaky(request):
        if request.path != CHAT:
            return None
        text = request.body["messages"][0]["content"]
        if text.startswith("down"):
            return error_reply(503, "replica down")
        if text.startswith("long"):
            return error_reply(400, "maximum context length is 4096 tokens")
        return None

    fake.handler = flaky
    prompts = ["ok 0", "down 1", "ok 2", "long 3", "ok 4"]
    items, usage = run(
        batch(make_config(max_retries=1), [LLMRequest(user(p)) for p in prompts], operator="op")
    )
    assert [item.ok for item in items] == [True, False, True, False, True]
    assert isinstance(items[1].error, LLMRetriesExhaustedError)
    assert "maximum context length" in str(items[3].error)
    stats = usage.stats("op")
    assert stats.calls == 3 and stats.failures == 2 and stats.retries == 1


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (error_reply(401, "Incorrect API key provided"), LLMAuthError),
        (
            error_reply(400, "Unrecognized request argument supplied: frobnicate"),
            LLMBadRequestError,
        ),
    ],
)
def test_endpoint_errors_stop_the_batch_without_retries(fake, make_config, reply, error):
    fake.handler = lambda request: reply if request.path == CHAT else None
    requests = [LLMRequest(user(f"q{i}")) for i in range(200)]
    with pytest.raises(error, match=reply.json["error"]["message"]):
        run(batch(make_config(max_concurrency=4), requests))
    # At most the requests already in flight when the first answer came back; none retried.
    assert 1 <= fake.chat_count <= 4


def test_a_run_of_failures_stops_the_batch(fake, make_config):
    fake.handler = lambda request: (
        error_reply(503, "upstream unavailable") if request.path == CHAT else None
    )
    requests = [LLMRequest(user(f"q{i}")) for i in range(200)]
    with pytest.raises(LLMEndpointError, match=r"1\d requests in a row failed") as info:
        run(batch(make_config(max_retries=0), requests, max_consecutive_failures=10))
    assert "upstream unavailable" in str(info.value) and info.value.status == 503
    assert fake.chat_count < 30


def test_preflight_failure_stops_before_any_work(fake, make_config):
    fake.api_key = "the-right-one"
    requests = [LLMRequest(user(f"q{i}")) for i in range(50)]
    with pytest.raises(LLMAuthError, match="Incorrect API key"):
        run(batch(make_config(max_concurrency=8), requests))
    # Eight workers waited on one preflight; it failed once; no completion was sent.
    assert fake.count("/v1/models") == 1 and fake.chat_count == 0


def test_progress_bar_counts_cached_and_failed(fake, make_config):
    config = make_config()
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)

    async def go():
        async with LLMClient(config, env={}) as client:
            await client.generate(user("q0"))  # cached for the batch
            # q1 fails: its answers stay malformed past the retries
            fake.handler = lambda r: Reply(body=b"not json") if "q1" in str(r.body) else None
            with Progress(console=console) as progress:
                items = await run_batch(
                    client, [LLMRequest(user(f"q{i}")) for i in range(4)], progress=progress
                )
                task = progress.tasks[0]
                return items, task

    items, task = run(go())
    assert task.completed == 4 and task.fields["cached"] == 1 and task.fields["failed"] == 1
    assert sum(not item.ok for item in items) == 1 and items[0].cached


def test_own_progress_bar_runs(make_config):
    items, _ = run(batch(make_config(), [LLMRequest(user("q"))], progress=True))
    assert items[0].ok


def test_empty_batch(make_config):
    assert run(batch(make_config(), []))[0] == []


def test_sync_client(fake, make_config):
    with SyncLLMClient(make_config(), env={}) as llm:
        assert llm.preflight()["models"] == ["fake-model", "fake-embed"]
        assert llm.generate(user("hello"))[0].text == "reply 1.0: hello"
        items = llm.run_batch([LLMRequest(user("a")), LLMRequest(user("b"))], operator="sync")
        assert [item.ok for item in items] == [True, True]
        assert llm.embed(["x", "y"]).shape == (2, 8)
        assert llm.usage.stats("sync").calls == 2
