"""When to retry an LLM request and how long to wait first.

Retried: 408, 409, 429, every 5xx, timeouts and connection errors. Never
retried: any other 4xx, because the same request will fail the same way and a
retry storm against a wrong key or model only hides the real message.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

RETRY_STATUSES = frozenset({408, 409, 429})
# A server asking us to wait longer than this is treated as asking for this long;
# the request then fails through the normal retry budget rather than hanging a run.
MAX_RETRY_AFTER = 300.0


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth retrying (408, 409, 429 and every 5xx)."""
    return status in RETRY_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return _clamp(float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return _clamp(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return _clamp(when.timestamp() - now)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random.

    Attempt 0 waits between base/2 and base, attempt k between d/2 and d with
    d = min(cap, base * 2**k). The fixed half keeps clients from hammering; the
    random half spreads a herd of clients that failed together.
    """
    rng = rng or random
    delay = min(cap, base * (2**attempt))
    return delay / 2 + rng.uniform(0, delay / 2)


def _clamp(seconds: float) -> float:
    return max(0.0, min(seconds, MAX_RETRY_AFTER))
