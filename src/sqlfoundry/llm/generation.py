"""What a chat completion gives back, parsed from the wire format into plain data.

The wire JSON is read by hand rather than through the SDK's models: it is
faster, and OpenAI-compatible servers differ in small ways (missing usage,
``reasoning_content``, null fields) that a tolerant reader absorbs. Anything
that is not a usable completion raises LLMResponseError with the raw body kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlfoundry.core.errors import LLMLogprobsMissingError, LLMResponseError
from sqlfoundry.llm.usage import Usage

RAW_KEEP = 2000  # characters of a bad body kept on the error


@dataclass(slots=True)
class TokenLogprob:
    """One generated token, its log probability and the top alternatives at that position.

    ``offset`` is where the token starts in the completion's text, when the server
    says (``/completions`` does; chat does not).
    """

    token: str
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)
    offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The token, its log-probability, the alternatives and the offset as JSON-ready data."""
        out = {"token": self.token, "logprob": self.logprob, "top": [list(t) for t in self.top]}
        if self.offset is not None:
            out["offset"] = self.offset
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenLogprob:
        """Read one back from :meth:`to_dict`'s output."""
        return cls(data["token"], data["logprob"], [(t, lp) for t, lp in data.get("top", [])],
                   data.get("offset"))  # fmt: skip


@dataclass(slots=True)
class Generation:
    """One sample of a completion.

    ``usage`` is the usage of the server call that produced it; with ``n`` > 1 the
    samples of one call share it (the API reports usage per call, not per sample).
    ``index`` is the sample index within the request; ``cached`` says it came
    from the disk cache. ``reasoning`` holds a reasoning model's separate
    thinking text (``reasoning_content``) when the server sends one.
    """

    text: str
    finish_reason: str | None
    usage: Usage = field(default_factory=Usage)
    logprobs: list[TokenLogprob] | None = None
    reasoning: str | None = None
    model: str | None = None
    index: int = 0
    cached: bool = False

    @property
    def truncated(self) -> bool:
        """True when the model stopped at max_tokens, so the text is probably cut off."""
        return self.finish_reason == "length"

    @property
    def sum_logprob(self) -> float | None:
        """Log probability of the whole completion, when logprobs were asked for."""
        if self.logprobs is None:
            return None
        return math.fsum(t.logprob for t in self.logprobs)

    @property
    def mean_logprob(self) -> float | None:
        """Per-token average log probability (length-normalised score)."""
        if not self.logprobs:
            return None
        return self.sum_logprob / len(self.logprobs)  # type: ignore[operator]

    def to_dict(self) -> dict[str, Any]:
        """For the cache and for a record's meta; ``cached`` is a property of the read, not stored."""
        out: dict[str, Any] = {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "usage": self.usage.to_dict(),
            "model": self.model,
        }
        if self.logprobs is not None:
            out["logprobs"] = [t.to_dict() for t in self.logprobs]
        if self.reasoning is not None:
            out["reasoning"] = self.reasoning
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, index: int = 0, cached: bool = False) -> Generation:
        """Read one generation back from its cached JSON form."""
        logprobs = data.get("logprobs")
        return cls(
            text=data.get("text", ""),
            finish_reason=data.get("finish_reason"),
            usage=Usage.from_dict(data.get("usage")),
            logprobs=[TokenLogprob.from_dict(t) for t in logprobs]
            if logprobs is not None
            else None,
            reasoning=data.get("reasoning"),
            model=data.get("model"),
            index=index,
            cached=cached,
        )


def malformed(raw: str, base_url: str | None) -> Callable[[str], LLMResponseError]:
    """The error maker for a body that is not a usable completion (``raw`` kept on it)."""

    def bad(why: str) -> LLMResponseError:
        return LLMResponseError(
            f"malformed completion: {why}", base_url=base_url, status=200, raw=raw[:RAW_KEEP]
        )

    return bad


def logprobs_missing(
    bad: Callable[[str], LLMResponseError], position: int
) -> LLMLogprobsMissingError:
    """The error for a choice without the log probabilities that were asked for."""
    error = bad(f"logprobs were requested but choice {position} has none")
    return LLMLogprobsMissingError(error.message, base_url=error.base_url, status=200,
                                   raw=error.raw)  # fmt: skip


def completion_choices(
    data: Any, bad: Callable[[str], LLMResponseError]
) -> tuple[list[dict[str, Any]], Usage, str | None]:
    """A completion body's ``choices`` (each an object), usage and model, for both endpoints.

    Raises:
        LLMResponseError: not an object, no ``choices`` list (or an error sent with
            status 200), or a choice that is not an object.
    """
    if not isinstance(data, dict):
        raise bad("the body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            raise bad(f"the server sent an error with status 200: {error['message']}")
        raise bad("no 'choices' list")
    for position, choice in enumerate(choices):
        if not isinstance(choice, dict):
            raise bad(f"choice {position} is not an object")
    usage = Usage.from_dict(data.get("usage"))
    model = data.get("model") if isinstance(data.get("model"), str) else None
    return choices, usage, model


def parse_chat_completion(
    data: Any, *, want_logprobs: bool, raw: str = "", base_url: str | None = None
) -> tuple[list[Generation], Usage, str | None]:
    """Parse a ``/chat/completions`` body into generations, the call's usage and model.

    Raises:
        LLMResponseError: no ``choices`` list, a choice with no message, text that
            is not a string, or asked-for logprobs that are malformed.
    """

    bad = malformed(raw, base_url)
    choices, usage, model = completion_choices(data, bad)
    out = []
    for position, choice in enumerate(choices):
        message = choice.get("message")
        if not isinstance(message, dict):
            raise bad(f"choice {position} has no 'message' object")
        text = message.get("content")
        if text is None:
            text = ""  # a refusal, a tool call or a content filter: finish_reason says which
        if not isinstance(text, str):
            raise bad(f"choice {position} content is {type(text).__name__}, not text")
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        logprobs = None
        if want_logprobs:
            logprobs = _parse_logprobs(choice.get("logprobs"), bad, position)
        out.append(
            (
                choice.get("index", position),
                Generation(
                    text=text,
                    finish_reason=choice.get("finish_reason"),
                    usage=usage,
                    logprobs=logprobs,
                    reasoning=reasoning if isinstance(reasoning, str) else None,
                    model=model,
                ),
            )
        )
    out.sort(key=lambda pair: pair[0] if isinstance(pair[0], int) else 0)
    return [g for _, g in out], usage, model


def _parse_logprobs(block: Any, bad, position: int) -> list[TokenLogprob]:
    if block is None:
        raise logprobs_missing(bad, position)
    content = block.get("content") if isinstance(block, dict) else None
    if content is None:
        content = []
    if not isinstance(content, list):
        raise bad(f"choice {position} logprobs.content is not a list")
    tokens = []
    for entry in content:
        try:
            top = [
                (str(alt["token"]), float(alt["logprob"]))
                for alt in (entry.get("top_logprobs") or [])
            ]
            tokens.append(TokenLogprob(str(entry["token"]), float(entry["logprob"]), top))
        except (AttributeError, KeyError, TypeError, ValueError):
            raise bad(f"choice {position} has a malformed logprobs entry: {entry!r}") from None
    return tokens


def parse_embeddings(
    data: Any, count: int, *, raw: str = "", base_url: str | None = None
) -> tuple[list[list[float]], Usage]:
    """Parse an ``/embeddings`` body into ``count`` vectors in input order."""

    def bad(why: str) -> LLMResponseError:
        return LLMResponseError(
            f"malformed embeddings response: {why}",
            base_url=base_url,
            status=200,
            raw=raw[:RAW_KEEP],
        )

    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise bad("no 'data' list")
    vectors: list[list[float] | None] = [None] * count
    for position, item in enumerate(data["data"]):
        if not isinstance(item, dict) or not isinstance(item.get("embedding"), list):
            raise bad(f"item {position} has no 'embedding' list")
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < count:
            raise bad(f"item {position} has index {index!r} outside 0..{count - 1}")
        vectors[index] = item["embedding"]
    if any(v is None for v in vectors):
        raise bad(f"{sum(v is None for v in vectors)} of {count} inputs got no embedding")
    return vectors, Usage.from_dict(data.get("usage"))  # type: ignore[return-value]
