"""The JSON the gateway sends: ``chat.completion`` bodies and ``chat.completion.chunk`` events.

The shapes are those of ``openai.types.chat.ChatCompletion`` and
``ChatCompletionChunk`` (the tests check every answer against them), but they
are built as plain dicts and serialised once: constructing and dumping the
pydantic objects for every response and chunk costs more than the gateway's
whole non-stream hot path otherwise does (see benchmarks/bench_gateway.py).

Each choice carries a ``sqlfoundry`` object (the final SQL, its dialect,
``valid``, ``errors``, the preview); the response carries one naming the
service, the database and the tables the prompt showed. OpenAI clients keep
unknown fields, so ``completion.choices[0].sqlfoundry`` works in the SDK.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def new_id() -> str:
    return "chatcmpl-" + os.urandom(12).hex()


def now() -> int:
    return int(time.time())


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def completion(
    *, id: str, model: str, choices: list[dict[str, Any]], usage: dict[str, Any] | None,
    info: dict[str, Any],
) -> bytes:  # fmt: skip
    """A ``chat.completion`` body."""
    return dumps({
        "id": id, "object": "chat.completion", "created": now(), "model": model,
        "choices": choices, "usage": usage or ZERO_USAGE, "system_fingerprint": None,
        "sqlfoundry": info,
    }).encode("utf-8")  # fmt: skip


def choice(index: int, content: str, finish_reason: str, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": index,
        "message": {"role": "assistant", "content": content, "refusal": None},
        "finish_reason": finish_reason,
        "logprobs": None,
        "sqlfoundry": info,
    }


class ChunkWriter:
    """Serialises the chunks of one stream; they share its id, created time and model."""

    def __init__(self, model: str) -> None:
        self.head = {"id": new_id(), "object": "chat.completion.chunk", "created": now(),
                     "model": model}  # fmt: skip

    def delta(self, index: int, delta: dict[str, Any], finish_reason: str | None = None,
              info: dict[str, Any] | None = None) -> str:  # fmt: skip
        choice: dict[str, Any] = {"index": index, "delta": delta, "logprobs": None,
                                  "finish_reason": finish_reason}  # fmt: skip
        if info is not None:
            choice["sqlfoundry"] = info
        return dumps({**self.head, "choices": [choice]})

    def role(self, index: int) -> str:
        return self.delta(index, {"role": "assistant", "content": ""})

    def content(self, index: int, text: str) -> str:
        return self.delta(index, {"content": text})

    def finish(self, index: int, reason: str, info: dict[str, Any]) -> str:
        return self.delta(index, {}, reason, info)

    def usage(self, usage: dict[str, Any] | None) -> str:
        return dumps({**self.head, "choices": [], "usage": usage or ZERO_USAGE})
