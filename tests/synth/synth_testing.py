"""Helpers for the synthesis tests (a module of its own: every test folder has a
``conftest``, so ``from conftest import ...`` would pick whichever loaded first)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from fake_openai import FakeRequest, Reply  # noqa: E402


def judge_pairs(text: str) -> list[tuple[str, str]]:
    """The (question, SQL) pairs a consistency-judge prompt asks about, in order: one for
    ``consistency_judge``, each "Pair N" of ``consistency_judge_several``."""
    found = re.findall(r"^Question: ([^\n]*)$.*?^```sql\n(.*?)\n```", text, flags=re.M | re.S)
    return [(q.strip(), sql.strip()) for q, sql in found]


def judge_answer(text: str, part: Callable[[str, str], str] | str) -> str:
    """The judge's answer to prompt ``text``: ``part`` (or ``part(question, sql)``) for each
    pair it asks about, under "Pair N" headings when it asks about several."""
    pairs = judge_pairs(text)
    parts = [part if isinstance(part, str) else part(q, sql) for q, sql in pairs]
    if len(pairs) == 1 and "Pair 1" not in text:
        return parts[0]
    return "\n".join(f"Pair {k}\n{p}" for k, p in enumerate(parts, start=1))


def answer_with(fn: Callable[[list[dict[str, Any]], int, int], str]) -> Callable:
    """A fake-server handler answering chat requests with ``fn(messages, n, index)``."""

    def handler(request: FakeRequest) -> Reply | None:
        if request.path != "/v1/chat/completions":
            return None
        body = request.body or {}
        messages, n = body.get("messages", []), int(body.get("n") or 1)
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": fn(messages, n, i)},
                "finish_reason": "stop",
            }
            for i in range(n)
        ]
        usage = {"prompt_tokens": 10, "completion_tokens": 5 * n, "total_tokens": 10 + 5 * n}
        return Reply(json={"id": "x", "object": "chat.completion", "created": 0,
                           "model": body.get("model"), "choices": choices, "usage": usage})  # fmt: skip

    return handler


def styles_asked(messages: list[dict[str, Any]]) -> list[str]:
    """The styles a question-generation prompt asks for, in order: the numbered list of
    ``question_candidates``, or the one style of ``question_generation``."""
    text = messages[-1]["content"]
    listed = re.findall(r"^\d+\. ([\w-]+): ", text, flags=re.MULTILINE)
    return listed or re.findall(r'in the "([\w-]+)" style', text)


def in_styles(
    fn: Callable[[str], dict[str, str]],
) -> Callable[[list[dict[str, Any]], int, int], str]:
    """An ``answer_with`` function answering each asked style with ``fn(style)``
    (``{"question", "evidence"}``), as the question prompts want it."""

    def answer(messages: list[dict[str, Any]], n: int, i: int) -> str:
        return json.dumps({"questions": [{"style": s, **fn(s)} for s in styles_asked(messages)]})

    return answer


def run(coro):
    """Run one coroutine (an operator's ``process``) to the end."""
    return asyncio.run(coro)
