"""The JSON the gateway sends: ``chat.completion`` bodies and ``chat.completion.chunk`` events.

Every body and chunk goes out through the SDK's own wire types,
``openai.types.chat.ChatCompletion`` and ``ChatCompletionChunk``: the dict built
here is validated by them and serialised by pydantic's Rust encoder, so what a
client receives is what the official SDK's types accept. Measured on the
benchmark machine this costs a few µs per response over a plain ``json.dumps``
(between -5 and +13 µs in runs on a busy machine; benchmarks/bench_gateway.py
prints both), next to ~300 µs of gateway CPU per request: cheap enough to keep.

Upstream values the types would refuse are normalised first: an unknown
``finish_reason`` becomes ``stop``, ``usage`` keeps its token counts (the total
computed when missing).

Each choice carries a ``sqlfoundry`` object (the final SQL, its dialect,
``valid``, ``errors``, the preview); the response carries one naming the
service, the database and the tables the prompt showed. OpenAI clients keep
unknown fields, so ``completion.choices[0].sqlfoundry`` works in the SDK.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import ValidationError

log = logging.getLogger(__name__)

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def new_id() -> str:
    """A fresh ``chatcmpl-...`` id."""
    return "chatcmpl-" + os.urandom(12).hex()


def now() -> int:
    """The current time in whole seconds, as ``created`` fields give it."""
    return int(time.time())


def dumps(data: Any) -> str:
    """Compact JSON text, non-ASCII kept as it is."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _typed(model: type[ChatCompletion] | type[ChatCompletionChunk], data: dict[str, Any]) -> str:
    try:
        return model.model_validate(data).model_dump_json(exclude_unset=True)
    except ValidationError as err:
        # A shape the SDK's types refuse is a gateway bug; the client still gets its answer.
        log.warning(
            "%s does not validate (%s); sending it as built", model.__name__, err.errors()[0]["msg"]
        )
        return dumps(data)


def finish_reason(value: Any) -> str:
    """``value`` when the SDK's types accept it, else ``stop``."""
    return value if value in FINISH_REASONS else "stop"


def usage_of(raw: Any) -> dict[str, Any]:
    """An upstream's ``usage`` in the shape of ``CompletionUsage``."""
    if not isinstance(raw, dict):
        return dict(ZERO_USAGE)
    prompt = raw.get("prompt_tokens") if isinstance(raw.get("prompt_tokens"), int) else 0
    completion = (
        raw.get("completion_tokens") if isinstance(raw.get("completion_tokens"), int) else 0
    )
    total = (
        raw.get("total_tokens") if isinstance(raw.get("total_tokens"), int) else prompt + completion
    )
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
    }
    for detail in ("prompt_tokens_details", "completion_tokens_details"):
        if isinstance(raw.get(detail), dict):
            usage[detail] = raw[detail]
    return usage


def completion(
    *, id: str, model: str, choices: list[dict[str, Any]], usage: Any, info: dict[str, Any]
) -> bytes:
    """A ``chat.completion`` body."""
    data = {
        "id": id, "object": "chat.completion", "created": now(), "model": model,
        "choices": choices, "usage": usage_of(usage), "system_fingerprint": None,
        "sqlfoundry": info,
    }  # fmt: skip
    return _typed(ChatCompletion, data).encode("utf-8")


def choice(index: int, content: str, reason: Any, info: dict[str, Any]) -> dict[str, Any]:
    """One ``chat.completion`` choice, with its ``sqlfoundry`` object."""
    return {
        "index": index,
        "message": {"role": "assistant", "content": content, "refusal": None},
        "finish_reason": finish_reason(reason),
        "logprobs": None,
        "sqlfoundry": info,
    }


class ChunkWriter:
    """Serialises the chunks of one stream; they share its id, created time and model."""

    def __init__(self, model: str) -> None:
        self.head = {"id": new_id(), "object": "chat.completion.chunk", "created": now(),
                     "model": model}  # fmt: skip

    def delta(self, index: int, delta: dict[str, Any], reason: str | None = None,
              info: dict[str, Any] | None = None) -> str:  # fmt: skip
        """One chunk event carrying ``delta`` for choice ``index``."""
        choice: dict[str, Any] = {"index": index, "delta": delta, "logprobs": None,
                                  "finish_reason": reason}  # fmt: skip
        if info is not None:
            choice["sqlfoundry"] = info
        return _typed(ChatCompletionChunk, {**self.head, "choices": [choice]})

    def role(self, index: int) -> str:
        """The first chunk of a choice: the assistant role, empty content."""
        return self.delta(index, {"role": "assistant", "content": ""})

    def content(self, index: int, text: str) -> str:
        """A chunk of content text for choice ``index``."""
        return self.delta(index, {"content": text})

    def finish(self, index: int, reason: Any, info: dict[str, Any]) -> str:
        """The last chunk of a choice: its finish reason and ``sqlfoundry`` object."""
        return self.delta(index, {}, finish_reason(reason), info)

    def usage(self, usage: Any) -> str:
        """The usage chunk that ends a stream when ``include_usage`` is set."""
        return _typed(ChatCompletionChunk, {**self.head, "choices": [], "usage": usage_of(usage)})


def warm_up() -> None:
    """Build the SDK types' validators now (they are built lazily) rather than on a request."""
    writer = ChunkWriter("warm-up")
    writer.finish(0, "stop", {})
    writer.usage(None)
    completion(
        id=new_id(), model="warm-up", choices=[choice(0, "", "stop", {})], usage=None, info={}
    )
