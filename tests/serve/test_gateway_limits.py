"""API keys per service or global, and the rate limit per key."""

from __future__ import annotations

import json

import openai
import pytest
from gateway_testing import answer, upstream

from sqlfoundry.serve.auth import KeyTable, bearer_token
from sqlfoundry.serve.errors import GatewayError
from sqlfoundry.serve.limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, capacity=2, clock=clock)
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(GatewayError) as info:
        limiter.check("a")
    assert (info.value.status, info.value.headers) == (429, {"Retry-After": "1"})
    limiter.check("b")  # every identity has its own bucket
    clock.now += 0.5
    with pytest.raises(GatewayError):
        limiter.check("a")
    clock.now += 0.6  # a second and a bit: one token back
    limiter.check("a")
    with pytest.raises(GatewayError):
        limiter.check("a")


def test_key_table_scopes():
    keys = KeyTable(["global"], {"a": ["only-a"], "b": []})
    assert keys.locked and not keys.is_open("b")
    assert keys.check("Bearer global", "b", "1.2.3.4").startswith("key:")
    assert keys.check("Bearer only-a", "a", "1.2.3.4") != keys.check(
        "Bearer global", "a", "1.2.3.4"
    )
    with pytest.raises(GatewayError, match="this API key is not valid for the service 'b'"):
        keys.check("Bearer only-a", "b", "1.2.3.4")
    with pytest.raises(GatewayError, match="incorrect API key provided"):
        keys.check("Bearer nope", "a", "1.2.3.4")
    open_keys = KeyTable([], {"a": ["only-a"], "b": []})
    assert open_keys.check(None, "b", "1.2.3.4") == "ip:1.2.3.4"
    assert bearer_token("bearer  abc ") == "abc" and bearer_token("Basic abc") is None


def test_per_service_keys_and_models_listing(fake, gateways):
    running = gateways({"services": {
        "open": {"type": "openai", "upstream": upstream(fake)},
        "team": {"type": "openai", "upstream": upstream(fake), "api_keys_env": ["TEAM_KEYS"]},
    }}, env={"TEAM_KEYS": "team-1, team-2"})  # fmt: skip
    answer(fake, "SELECT 1")
    ddl = "CREATE TABLE t (x int);\nHow many rows?"
    messages = [{"role": "user", "content": ddl}]
    status, _, body = running.raw("GET", "/v1/models")  # no key at all
    assert status == 200 and [m["id"] for m in json.loads(body)["data"]] == ["open"]
    assert [m.id for m in running.client("stranger").models.list().data] == ["open"]
    assert [m.id for m in running.client("team-2").models.list().data] == ["open", "team"]
    assert (
        running.client("stranger").chat.completions.create(model="open", messages=messages).choices
    )
    assert running.client("team-1").chat.completions.create(model="team", messages=messages).choices
    with pytest.raises(openai.AuthenticationError):
        running.client("team-3").chat.completions.create(model="team", messages=messages)
    status, _, body = running.raw("POST", "/v1/chat/completions", json.dumps(
        {"model": "team", "messages": messages}).encode())  # fmt: skip
    assert status == 401 and json.loads(body)["error"]["code"] == "invalid_api_key"


def test_a_key_variable_that_is_not_set_stops_the_start(fake):
    from sqlfoundry.core.errors import ConfigError
    from sqlfoundry.serve import create_app, load_gateway_config

    config = load_gateway_config({"gateway": {"api_keys_env": ["GATEWAY_KEYS"]},
                                  "services": {"s": {"type": "openai", "upstream": upstream(fake)}}})  # fmt: skip
    with pytest.raises(ConfigError, match="environment variable GATEWAY_KEYS is not set"):
        create_app(config, env={})


def test_rate_limit_per_key_is_429_with_retry_after(fake, gateways):
    running = gateways({"gateway": {"api_keys": ["k1", "k2"], "rate_limit": {"requests_per_minute": 6, "burst": 2}},
                        "services": {"s": {"type": "openai", "upstream": upstream(fake)}}})  # fmt: skip
    answer(fake, "SELECT 1")
    messages = [{"role": "user", "content": "CREATE TABLE t (x int);\nHow many rows?"}]
    first = running.client("k1")
    first.chat.completions.create(model="s", messages=messages)
    first.chat.completions.create(model="s", messages=messages)
    with pytest.raises(openai.RateLimitError) as info:
        first.chat.completions.create(model="s", messages=messages)
    assert info.value.response.headers["retry-after"] == "10"
    assert info.value.body["code"] == "rate_limit_exceeded"
    # another key has its own budget
    assert running.client("k2").chat.completions.create(model="s", messages=messages).choices
