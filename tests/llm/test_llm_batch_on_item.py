"""run_batch's on_item: each answer handed over as it arrives, before the batch ends."""

from __future__ import annotations

from fake_openai import Reply, error_reply
from llm_testing import run, user

from sqlfoundry.llm import LLMClient, LLMRequest, run_batch

CHAT = "/v1/chat/completions"


def test_each_item_is_handed_over_once_in_the_order_answers_arrive(fake, make_config):
    # q0 answers last: it reaches on_item after the others, and the result keeps request order.
    def slow_first(request):
        if request.path == CHAT and request.body["messages"][0]["content"] == "q0":
            return Reply(delay=1.0)  # long enough for the others to answer first
        return None

    fake.handler = slow_first
    seen: list[tuple[int, str]] = []

    async def go():
        async with LLMClient(make_config(max_concurrency=4), env={}) as client:
            requests = [LLMRequest(user(f"q{i}")) for i in range(3)]
            items = await run_batch(client, requests,
                                    on_item=lambda item: seen.append((item.index, item.text)))  # fmt: skip
            return [item.text for item in items]

    texts = run(go())
    assert [index for index, _ in seen][-1] == 0
    assert sorted(seen) == [(0, texts[0]), (1, texts[1]), (2, texts[2])]
    assert [t.split(": ")[1] for t in texts] == ["q0", "q1", "q2"]


def test_a_failed_item_is_handed_over_with_its_error(fake, make_config):
    fake.handler = lambda request: error_reply(503, "overloaded") if (
        request.path == CHAT and request.body["messages"][0]["content"] == "bad") else None  # fmt: skip
    seen = []

    async def go():
        async with LLMClient(make_config(), env={}) as client:
            await run_batch(client, [LLMRequest(user("ok")), LLMRequest(user("bad"))],
                            on_item=seen.append)  # fmt: skip

    run(go())
    assert sorted((item.index, item.ok) for item in seen) == [(0, True), (1, False)]
    assert "overloaded" in next(item for item in seen if not item.ok).error.message
