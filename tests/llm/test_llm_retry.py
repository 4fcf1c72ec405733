"""Retry policy and rate limits as pure functions."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time

import pytest

from sqlfoundry.llm.ratelimit import RateLimiter, TokenBucket, estimate_prompt_tokens
from sqlfoundry.llm.retry import backoff_delay, is_retryable_status, parse_retry_after


@pytest.mark.parametrize(
    ("status", "retry"),
    [
        (408, True),
        (409, True),
        (429, True),
        (500, True),
        (503, True),
        (599, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
        (413, False),
    ],
)
def test_retryable_statuses(status, retry):
    assert is_retryable_status(status) is retry


def test_retry_after_forms():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = time.time()
    date = email.utils.formatdate(now + 20, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(20, abs=1)
    assert parse_retry_after({"retry-after": "100000"}) == 300.0  # capped
    assert parse_retry_after({"retry-after": "-4"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None


def test_backoff_grows_with_jitter_and_a_cap():
    rng = random.Random(1)
    for attempt, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]):
        delays = [backoff_delay(attempt, 0.5, 60, rng) for _ in range(200)]
        assert low <= min(delays) and max(delays) <= high
        assert len(set(delays)) > 100  # jittered, not a fixed schedule
    assert all(5 <= backoff_delay(30, 0.5, 10, rng) <= 10 for _ in range(50))


def test_token_bucket_waits_when_empty():
    async def go():
        bucket = TokenBucket(600)  # 10 per second
        start = time.perf_counter()
        await bucket.take(600)
        assert time.perf_counter() - start < 0.05
        await bucket.take(3)
        return time.perf_counter() - start

    assert 0.25 <= asyncio.run(go()) < 0.6


def test_rate_limiter_charges_requests_and_tokens():
    async def go():
        limiter = RateLimiter(requests_per_minute=None, tokens_per_minute=6000)  # 100/s
        assert limiter.active and limiter.requests is None
        start = time.perf_counter()
        await limiter.acquire(6000)
        await limiter.acquire(20)
        return time.perf_counter() - start

    assert 0.15 <= asyncio.run(go()) < 0.5
    assert not RateLimiter(None, None).active


def test_estimate_prompt_tokens():
    assert estimate_prompt_tokens([{"role": "user", "content": "x" * 400}]) == 100 + 4 + 3
    parts = [{"role": "user", "content": [{"type": "text", "text": "y" * 40}]}]
    assert estimate_prompt_tokens(parts) == 10 + 4 + 3
