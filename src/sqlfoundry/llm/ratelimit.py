"""Requests-per-minute and tokens-per-minute limits, as token buckets.

Tokens are charged before the request the way OpenAI's own limiter counts them:
the prompt's estimated tokens plus ``max_tokens`` for each requested sample.
Over-charging when the model stops early is the safe side of a rate limit.
"""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """``capacity`` units, refilled continuously over one minute; FIFO waiting."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._level = self.capacity
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, amount: float) -> None:
        # A single request bigger than the whole bucket would wait forever.
        """Wait until ``amount`` fits in the bucket, then take it."""
        amount = min(float(amount), self.capacity)
        async with self._lock:
            while True:
                now = time.monotonic()
                self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._level >= amount:
                    self._level -= amount
                    return
                await asyncio.sleep((amount - self._level) / self.rate)


class RateLimiter:
    """Both limits together; either may be None (unlimited)."""

    def __init__(self, requests_per_minute: int | None, tokens_per_minute: int | None) -> None:
        self.requests = TokenBucket(requests_per_minute) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute) if tokens_per_minute else None

    @property
    def active(self) -> bool:
        """Whether any limit is set."""
        return self.requests is not None or self.tokens is not None

    async def acquire(self, tokens: int) -> None:
        """Wait for one request and ``tokens`` tokens under the limits."""
        if self.requests is not None:
            await self.requests.take(1)
        if self.tokens is not None:
            await self.tokens.take(tokens)


def estimate_prompt_tokens(messages: list[dict]) -> int:
    """About four characters a token, plus a few per message for the chat framing."""
    chars = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(
                len(str(part.get("text", ""))) for part in content if isinstance(part, dict)
            )
    return chars // 4 + 4 * len(messages) + 3
