"""Request body size limit and a per-key rate limit.

The body is refused from its Content-Length before a byte is read, and a body
sent without one (chunked) is counted as it arrives and refused once over.

The rate limit is a token bucket per identity (an API key's digest, or the
client address on open services): ``requests_per_minute`` refill, ``burst``
capacity. With one gateway process the buckets live in its memory
(:class:`RateLimiter`); with several (``sqlfoundry serve --workers N``) they live
in one SQLite file that every process opens (:class:`SharedRateLimiter`), so a
key gets its limit once in all, whichever process its requests reach.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

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


class SharedRateLimiter:
    """:class:`RateLimiter`'s token buckets in a SQLite file shared by processes.

    Each check is one short write transaction (``BEGIN IMMEDIATE``, so two processes
    never both spend the last token). The clock is ``time.monotonic``, which on
    Linux is the same for every process of the machine. The file is scratch: it
    holds key digests' prefixes and token counts, is written without fsync and can
    be deleted when the gateway stops.

    Args:
        path: the SQLite file (created when missing).
        per_minute: tokens added per minute.
        capacity: the most tokens a bucket holds (the burst).
    """

    # Idle full buckets are forgotten every this many checks.
    SWEEP_EVERY = 4096

    def __init__(self, path: str | Path, per_minute: float, capacity: float,
                 clock=time.monotonic) -> None:  # fmt: skip
        self.rate = per_minute / 60.0
        self.capacity = capacity
        self.clock = clock
        self._lock = threading.Lock()
        self._checks = 0
        self._db = sqlite3.connect(str(path), timeout=10, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE IF NOT EXISTS buckets "
                         "(identity TEXT PRIMARY KEY, tokens REAL, last REAL)")  # fmt: skip

    def check(self, identity: str) -> None:
        """Take one token for ``identity`` or raise a 429 GatewayError with Retry-After."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                now = self.clock()
                row = db.execute("SELECT tokens, last FROM buckets WHERE identity = ?",
                                 (identity,)).fetchone()  # fmt: skip
                if row is None:
                    tokens = self.capacity
                else:
                    tokens = min(self.capacity, row[0] + (now - row[1]) * self.rate)
                allowed = tokens >= 1.0
                left = tokens - 1.0 if allowed else tokens
                db.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)",
                           (identity, left, now))  # fmt: skip
                self._checks += 1
                if self._checks % self.SWEEP_EVERY == 0:
                    db.execute("DELETE FROM buckets WHERE tokens + (? - last) * ? >= ?",
                               (now, self.rate, self.capacity))  # fmt: skip
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if not allowed:
            raise rate_limited((1.0 - left) / self.rate)

    def close(self) -> None:
        """Close this process's connection to the file."""
        self._db.close()
