"""Token usage and cost, per run and per operator.

The client records every server call, cache hit, retry and failure under the
operator that asked for it. ``UsageTracker.to_dict()`` is what goes into a
run's metadata; ``render_usage`` is the end-of-run summary table.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlfoundry.llm.config import Price


@dataclass(slots=True)
class Usage:
    """Tokens of one server call, as the server reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        """The token counts as JSON-ready data."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage:
        """Tolerant of servers that leave fields out or send nulls."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(
            prompt_tokens=_as_int(data.get("prompt_tokens")),
            completion_tokens=_as_int(data.get("completion_tokens")),
        )


@dataclass(slots=True)
class UsageStats:
    """Counters for one operator (or for the whole run).

    ``calls`` are requests answered by the server (retries not counted again);
    ``cache_hits`` are generations served from the disk cache with no call;
    ``retries`` are extra attempts; ``failures`` are requests that finally failed.
    ``cost_usd`` stays None while no call had a known price.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: UsageStats) -> None:
        """Add another set of counters to this one."""
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cache_hits += other.cache_hits
        self.retries += other.retries
        self.failures += other.failures
        self.unpriced_calls += other.unpriced_calls
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd

    def to_dict(self) -> dict[str, Any]:
        """The counters (and cost, when priced) as JSON-ready data."""
        out = asdict(self)
        out["total_tokens"] = self.total_tokens
        if out["cost_usd"] is not None:
            out["cost_usd"] = round(out["cost_usd"], 6)
        return out


@dataclass
class UsageTracker:
    """Thread-safe usage counters keyed by operator name, with an optional price table."""

    prices: Mapping[str, Price] = field(default_factory=dict)
    _by_operator: dict[str, UsageStats] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _stats(self, operator: str) -> UsageStats:
        stats = self._by_operator.get(operator)
        if stats is None:
            stats = self._by_operator[operator] = UsageStats()
        return stats

    def record_call(self, operator: str, model: str | None, usage: Usage) -> None:
        """Count one call of ``operator`` and its token usage."""
        price = self.prices.get(model) if model else None
        with self._lock:
            stats = self._stats(operator)
            stats.calls += 1
            stats.prompt_tokens += usage.prompt_tokens
            stats.completion_tokens += usage.completion_tokens
            if price is None:
                stats.unpriced_calls += 1
            else:
                cost = (
                    usage.prompt_tokens * price.input + usage.completion_tokens * price.output
                ) / 1_000_000
                stats.cost_usd = (stats.cost_usd or 0.0) + cost

    def record_cache_hits(self, operator: str, count: int = 1) -> None:
        """Count answers ``operator`` got from the cache."""
        with self._lock:
            self._stats(operator).cache_hits += count

    def record_retry(self, operator: str) -> None:
        """Count one retried request of ``operator``."""
        with self._lock:
            self._stats(operator).retries += 1

    def record_failure(self, operator: str) -> None:
        """Count one request of ``operator`` that failed for good."""
        with self._lock:
            self._stats(operator).failures += 1

    def operators(self) -> list[str]:
        """The operators with counters, sorted."""
        with self._lock:
            return sorted(self._by_operator)

    def stats(self, operator: str | None = None) -> UsageStats:
        """A copy of one operator's counters, or of the run's total when None."""
        with self._lock:
            if operator is not None:
                out = UsageStats()
                if operator in self._by_operator:
                    out.add(self._by_operator[operator])
                return out
            total = UsageStats()
            for stats in self._by_operator.values():
                total.add(stats)
            return total

    @property
    def total(self) -> UsageStats:
        """The run's counters, all operators together."""
        return self.stats()

    def merge(self, other: UsageTracker) -> None:
        """Add another tracker's counters (e.g. from a worker process) into this one."""
        with other._lock:
            items = [(name, stats) for name, stats in other._by_operator.items()]
        with self._lock:
            for name, stats in items:
                self._stats(name).add(stats)

    def to_dict(self) -> dict[str, Any]:
        """``{"total": {...}, "operators": {name: {...}}}`` for the run metadata."""
        names = self.operators()
        return {
            "total": self.total.to_dict(),
            "operators": {name: self.stats(name).to_dict() for name in names},
        }


def render_usage(tracker: UsageTracker, title: str = "LLM usage"):
    """A rich Table of the tracker: one row per operator and a total row."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("operator")
    for name in ("calls", "prompt tok", "completion tok", "cache hits", "retries", "failures"):
        table.add_column(name, justify="right")
    table.add_column("cost (USD)", justify="right")

    def row(name: str, stats: UsageStats, style: str | None = None) -> None:
        if stats.cost_usd is None:
            cost = "-"
        else:
            cost = f"{stats.cost_usd:.4f}" + ("+" if stats.unpriced_calls else "")
        table.add_row(
            name,
            f"{stats.calls:,}",
            f"{stats.prompt_tokens:,}",
            f"{stats.completion_tokens:,}",
            f"{stats.cache_hits:,}",
            f"{stats.retries:,}",
            f"{stats.failures:,}",
            cost,
            style=style,
        )

    names = tracker.operators()
    for name in names:
        row(name, tracker.stats(name))
    if len(names) != 1:
        table.add_section()
        row("total", tracker.total, style="bold")
    return table


def print_usage(tracker: UsageTracker, console=None) -> None:
    """Print the summary table; a cost ending in ``+`` leaves out calls with no known price."""
    from rich.console import Console

    (console or Console(stderr=True)).print(render_usage(tracker))


def _as_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
