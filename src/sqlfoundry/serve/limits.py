"""Request body size limit and a per-key rate limit.

The body is refused from its Content-Length before a byte is read, and a body
sent without one (chunked) is counted as it arrives and refused once over.

The rate limit is a token bucket per identity (an API key's digest, or the
client address on open services): ``requests_per_minute`` refill, ``burst``
capacity. It lives in the process; with several gateway processes each one
counts its own share.
"""

from __future__ import annotations

import time

from starlette.requests import Request

from sqlfoundry.serve.errors import bad_request, rate_limited, too_large

# Above this many tracked identities, full (idle) buckets are forgotten.
_MAX_TRACKED = 10_000


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or a 413 GatewayError when it is over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise bad_request("Content-Length is not a number", "invalid_header") from None
        if size > limit:
            raise too_large(limit)
        return await request.body()
    chunks = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class RateLimiter:
    """Token buckets keyed by identity.

    Args:
        per_minute: tokens added per minute.
        capacity: the most tokens a bucket holds (the burst).
        clock: seconds, monotonic; injectable for tests.
    """

    def __init__(self, per_minute: float, capacity: float, clock=time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = capacity
        self.clock = clock
        self._buckets: dict[str, list[float]] = {}  # identity -> [tokens, last refill time]

    def check(self, identity: str) -> None:
        """Take one token for ``identity`` or raise a 429 GatewayError with Retry-After."""
        now = self.clock()
        bucket = self._buckets.get(identity)
        if bucket is None:
            if len(self._buckets) >= _MAX_TRACKED:
                self._forget_idle(now)
            self._buckets[identity] = [self.capacity - 1.0, now]
            return
        tokens = min(self.capacity, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return
        bucket[0] = tokens
        raise rate_limited((1.0 - tokens) / self.rate)

    def _forget_idle(self, now: float) -> None:
        full = [
            key
            for key, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.capacity
        ]
        for key in full:
            del self._buckets[key]
