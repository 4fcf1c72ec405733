"""Whether a finished run made anything: a run that yields nothing is a failure.

A run can end with every record rejected for one reason: the model answers in a
form nothing parses, every query fails on a schema the prompt got wrong, the
databases hold no rows. Exiting 0 then hides it; this names the reason, and one
answer the model gave, so the user sees what to fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

# Keys under a reject's sample (its meta, or deeper) that keep a model's raw answer.
_RAW_KEYS = ("raw", "raw_answer", "answer", "judge")
_EXAMPLE_CHARS = 300


def empty_run_problem(
    records: int, rejects: Sequence[dict[str, Any]], engine: str, inputs: int
) -> str | None:
    """A one-paragraph message when the run failed as a whole, else None.

    Failed as a whole: nothing came out of ``inputs`` > 0 inputs; or, with the LLM
    engine, most records were lost and every reject has the same reason (a
    systematic problem with the model's answers, not a few bad records).
    """
    if inputs == 0:
        return None
    kinds = Counter(_kind(r) for r in rejects)
    top = kinds.most_common(1)[0] if kinds else None
    one_reason = top is not None and len(kinds) == 1
    if records > 0 and not (engine == "llm" and one_reason and len(rejects) > records):
        return None
    if top is None:
        return f"no records from {inputs} inputs, and no rejects to say why"
    (operator, reason), count = top
    message = f"{records} records from {inputs} inputs: {count} of {len(rejects)} rejects are "
    message += f"{operator}: {reason}"
    example = next((a for r in rejects if _kind(r) == top[0] for a in [_raw_answer(r)] if a), None)
    if example is not None:
        message += f"; an answer that got this: {_shorten(example)!r}"
    elif top is not None:
        first = next(r for r in rejects if _kind(r) == top[0])
        message += f" (e.g. {_shorten(str(first.get('reason', '')))})"
    return message


def _kind(reject: dict[str, Any]) -> tuple[str, str]:
    reason = str(reject.get("reason", ""))
    return str(reject.get("operator", "?")), reason.split(":", 1)[0].strip()


def _raw_answer(reject: dict[str, Any]) -> str | None:
    """The model's answer kept in the rejected record: the last step's first (the
    rejecting step writes its meta last), searched depth first."""
    sample = reject.get("sample") or {}
    return _find_raw(sample.get("meta") or {})


def _find_raw(node: Any) -> str | None:
    if isinstance(node, dict):
        items = list(node.items())[::-1]
        for key, value in items:
            if _is_raw_key(key) and isinstance(value, str) and value.strip():
                return value
        for _, value in items:
            found = _find_raw(value) if isinstance(value, (dict, list)) else None
            if found:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _find_raw(value)
            if found:
                return found
    return None


def _is_raw_key(key: str) -> bool:
    return key in _RAW_KEYS or key.endswith("_raw")


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 3] + "..."
