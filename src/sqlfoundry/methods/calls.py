"""LLM calls made by stages, accounted per record.

:func:`ask` sends one chat request through ``ctx.llm`` (the run's client: its
cache, retries and limits apply) and adds to the record's
``meta["usage"][stage]``: calls, prompt and completion tokens, cache hits and
the seconds spent waiting. The engine's cost report sums these per question.

A scaler that repeats a generator sets :data:`SAMPLING` around each repetition,
so every LLM call inside gets that temperature and a seed of its own (and so a
cache key of its own) without the generator knowing.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.parse import ParseResult, parse_json, parse_sql
from sqlfoundry.methods.stage import StageError

USAGE_KEYS = ("calls", "prompt_tokens", "completion_tokens", "cache_hits", "seconds")


@dataclass(frozen=True)
class Sampling:
    """Sampling settings a scaler imposes on the calls made inside one repetition."""

    temperature: float | None = None
    seed: int | None = None


SAMPLING: ContextVar[Sampling | None] = ContextVar("sqlfoundry_sampling", default=None)


def usage_entry(sample: Sample, stage: str) -> dict[str, Any]:
    """The usage counters of ``stage`` in ``sample.meta["usage"]``, created at zero when missing."""
    usage = sample.meta.setdefault("usage", {})
    return usage.setdefault(stage, dict.fromkeys(USAGE_KEYS, 0))


def add_usage(into: dict[str, dict[str, Any]], more: dict[str, dict[str, Any]]) -> None:
    """Sum ``more``'s per-stage usage into ``into``."""
    for stage, counts in more.items():
        entry = into.setdefault(stage, dict.fromkeys(USAGE_KEYS, 0))
        for key in USAGE_KEYS:
            entry[key] = round(entry.get(key, 0) + counts.get(key, 0), 6)


def usage_delta(before: dict[str, dict], after: dict[str, dict]) -> dict[str, dict]:
    """What ``after``'s per-stage usage added to ``before``'s (a copy of it, grown)."""
    delta = {}
    for stage, counts in after.items():
        old = before.get(stage, {})
        delta[stage] = {k: v - old.get(k, 0) for k, v in counts.items()}
    return delta


async def ask(
    ctx: RunContext,
    sample: Sample,
    stage: str,
    messages: Sequence[dict[str, str]],
    *,
    n: int = 1,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> list[str]:
    """The texts of ``n`` completions for ``messages``; usage goes to ``sample``.

    Raises:
        LLMItemError: this request failed (recorded on the record by the stage).
        LLMEndpointError: the endpoint cannot serve the run.
    """
    llm = ctx.require_llm(stage)
    override = SAMPLING.get()
    seed = None
    if override is not None:
        temperature = override.temperature if override.temperature is not None else temperature
        seed = override.seed
    start = time.perf_counter()
    generations = await llm.generate(
        messages, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed, operator=stage
    )
    entry = usage_entry(sample, stage)
    entry["seconds"] = round(entry["seconds"] + time.perf_counter() - start, 6)
    fresh = [g for g in generations if not g.cached]
    entry["cache_hits"] += len(generations) - len(fresh)
    if fresh:
        # The samples of one call share the call's usage: count it once.
        entry["calls"] += 1
        entry["prompt_tokens"] += fresh[0].usage.prompt_tokens
        entry["completion_tokens"] += fresh[0].usage.completion_tokens
    return [g.text for g in generations]


def sql_of(text: str, what: str = "answer") -> str:
    """The SQL of a model's answer; StageError (kind ``parse``) with the raw text otherwise.

    Besides what :func:`parse_sql` finds, the last ``SQL: ...`` line of a reasoned
    answer counts (the few-shot prompts write their examples that way).
    """
    result = parse_sql(text)
    if not result.ok:
        labelled = _last_labelled(text or "")
        if labelled:
            result = parse_sql(labelled)
    return _value(result, what)


def _last_labelled(text: str) -> str | None:
    """What follows the last line starting with ``SQL:``, up to a blank line."""
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        head = lines[i].lstrip()
        if head[:4].upper() == "SQL:":
            body = [head[4:]]
            for line in lines[i + 1 :]:
                if not line.strip():
                    break
                body.append(line)
            return "\n".join(body).strip() or None
    return None


def json_of(text: str, expect: type | tuple[type, ...], what: str = "answer") -> Any:
    """The JSON value of an answer, of the expected type; StageError otherwise."""
    return _value(parse_json(text, expect=expect), what)


def list_of(text: str, what: str = "answer") -> list[str]:
    """A list of strings from a JSON or Python-literal list (```python blocks too)."""
    result = parse_json(text, expect=list)
    if result.ok:
        return [str(v) for v in result.value if str(v).strip()]
    for block in _python_blocks(text):
        try:
            value = ast.literal_eval(block)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value if str(v).strip()]
    raise StageError(f"unparsable {what}: no list found", kind="parse", raw=text)


def _python_blocks(text: str) -> list[str]:
    out = []
    rest = text
    while "```" in rest:
        _, _, after = rest.partition("```")
        body, sep, rest = after.partition("```")
        if not sep:
            break
        lines = body.split("\n", 1)
        out.append(lines[1] if len(lines) > 1 and lines[0].strip().isalpha() else body)
    start, end = text.rfind("["), text.rfind("]")
    if 0 <= start < end:
        out.append(text[start : end + 1])
    return out


def _value(result: ParseResult, what: str) -> Any:
    if not result.ok:
        raise StageError(f"unparsable {what}: {result.error}", kind="parse", raw=result.raw)
    return result.value


async def embed(ctx: RunContext, texts: Sequence[str], stage: str) -> Any:
    """Vectors for ``texts``: the run's local embedder (on a worker thread), else the
    endpoint's ``/embeddings``."""
    import asyncio

    if ctx.embedder is not None:
        return await asyncio.to_thread(ctx.embedder.encode, list(texts))
    return await ctx.require_llm(stage).embed(list(texts), operator=stage)
