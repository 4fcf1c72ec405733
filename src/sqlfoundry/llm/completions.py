"""What a ``/completions`` request gives back: text completions of a raw prompt.

Base models, and fine-tuned models served without a chat template, are reached
through the legacy completions endpoint: the prompt is raw text, ``n`` samples,
``logprobs`` (the token log probabilities with the top-k alternatives),
``echo`` (the prompt is repeated before the completion, with its own token
log probabilities: the way to score a given text). Its log probabilities come
in parallel lists (``tokens``, ``token_logprobs``, ``top_logprobs``,
``text_offset``), read here into the same :class:`Generation` the chat endpoint
gives, with each token's ``offset`` in the text. The first token of an echoed
prompt has no log probability (nothing precedes it); it is read as 0.0.
"""

from __future__ import annotations

from typing import Any

from sqlfoundry.llm.generation import (
    Generation,
    TokenLogprob,
    completion_choices,
    logprobs_missing,
    malformed,
)
from sqlfoundry.llm.usage import Usage


def parse_text_completion(
    data: Any, *, want_logprobs: bool, raw: str = "", base_url: str | None = None
) -> tuple[list[Generation], Usage, str | None]:
    """Parse a ``/completions`` body into generations (in choice order), usage and model.

    Raises:
        LLMLogprobsMissingError: log probabilities were asked for and a choice has none.
        LLMResponseError: no ``choices`` list, a choice without text, malformed log probabilities.
    """

    bad = malformed(raw, base_url)
    choices, usage, model = completion_choices(data, bad)
    out = []
    for position, choice in enumerate(choices):
        text = choice.get("text")
        if not isinstance(text, str):
            raise bad(f"choice {position} has no 'text' string")
        logprobs = None
        if want_logprobs:
            block = choice.get("logprobs")
            if not isinstance(block, dict):
                raise logprobs_missing(bad, position)
            logprobs = _tokens(block, position, bad)
        index = choice.get("index", position)
        generation = Generation(text=text, finish_reason=choice.get("finish_reason"), usage=usage,
                                logprobs=logprobs, model=model)  # fmt: skip
        out.append((index if isinstance(index, int) else position, generation))
    out.sort(key=lambda pair: pair[0])
    return [g for _, g in out], usage, model


def _tokens(block: dict[str, Any], position: int, bad) -> list[TokenLogprob]:
    tokens = block.get("tokens") or []
    values = block.get("token_logprobs") or []
    tops = block.get("top_logprobs") or []
    offsets = block.get("text_offset") or []
    if not isinstance(tokens, list) or not isinstance(values, list) or len(values) != len(tokens):
        raise bad(f"choice {position} logprobs: 'tokens' and 'token_logprobs' differ in length")
    out = []
    try:
        for i, token in enumerate(tokens):
            top_entry = tops[i] if i < len(tops) and isinstance(tops[i], dict) else {}
            top = sorted(((str(t), float(lp)) for t, lp in top_entry.items()),
                         key=lambda pair: -pair[1])  # fmt: skip
            offset = offsets[i] if i < len(offsets) and isinstance(offsets[i], int) else None
            value = 0.0 if values[i] is None else float(values[i])
            out.append(TokenLogprob(str(token), value, top, offset))
    except (TypeError, ValueError):
        raise bad(f"choice {position} has a malformed logprobs entry") from None
    return out
