"""Pull the answer out of a model's text: SQL, JSON, or a yes/no verdict.

Every parser returns a ParseResult instead of raising: an operator stores
``raw`` and ``error`` in the record's ``meta`` when ``ok`` is False and the run
goes on. Reasoning models' ``<think>...</think>`` blocks are dropped first, so a
draft inside the thinking is never taken for the answer.

Regular expressions here only find code fences and verdict words in prose;
the SQL itself is left to sqlglot downstream.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
# ```lang\n body ``` ; the closing fence may be missing when the model hit max_tokens.
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_SQL_START = re.compile(r"^\s*(?:SELECT|WITH)\b", re.IGNORECASE)
_SQL_LABEL = re.compile(r"^\s*(?:final\s+)?(?:sql|query|answer)\s*:\s*", re.IGNORECASE)
_SQL_LANGS = {"sql", "sqlite", "postgresql", "postgres", "mysql", "tsql", "plsql", "pgsql"}


@dataclass(slots=True)
class ParseResult:
    """``value`` when ``ok``; otherwise ``error`` says why. ``raw`` is always the input text."""

    ok: bool
    value: Any
    raw: str
    error: str | None = None

    def meta(self, prefix: str = "parse") -> dict[str, Any]:
        """What to put in a record's ``meta`` when parsing failed (empty when it worked)."""
        if self.ok:
            return {}
        return {f"{prefix}_error": self.error, f"{prefix}_raw": self.raw}


def _fail(raw: str, error: str) -> ParseResult:
    return ParseResult(False, None, raw, error)


def strip_thinking(text: str) -> str:
    """Drop ``<think>...</think>`` blocks (an unclosed one runs to the end)."""
    return _THINK.sub("", text)


def _fences(text: str) -> list[tuple[str, str]]:
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]


def sql_blocks(text: str) -> list[str]:
    """The code blocks of ``text`` that hold SQL, in order: its ```sql blocks (any SQL
    dialect tag), else its untagged blocks that start like a query."""
    fences = _fences(text)
    blocks = [code for lang, code in fences if lang in _SQL_LANGS]
    return blocks or [code for lang, code in fences if not lang and _SQL_START.match(code)]


def parse_sql(text: str | None) -> ParseResult:
    """The SQL of an answer.

    In order: the last ```sql block (any SQL dialect tag); else the last untagged
    block that starts like a query; else the whole text when it starts like a
    query (after a "SQL:" label). Whitespace and one trailing ``;`` are removed.
    """
    raw = text or ""
    body = strip_thinking(raw).strip()
    if not body:
        return _fail(raw, "empty answer")
    candidates = sql_blocks(body)
    if candidates:
        sql = _clean_sql(candidates[-1])
        if sql:
            return ParseResult(True, sql, raw)
        return _fail(raw, "the SQL block is empty")
    if _FENCE.search(body):
        return _fail(raw, "no ```sql block and no code block holding a query")
    bare = _SQL_LABEL.sub("", body, count=1)
    if _SQL_START.match(bare):
        return ParseResult(True, _clean_sql(bare), raw)
    return _fail(raw, "no SQL found: no ```sql block and the text does not start with SELECT/WITH")


def _clean_sql(sql: str) -> str:
    sql = sql.strip()
    while sql.endswith(";"):
        sql = sql[:-1].rstrip()
    return sql


def parse_json(text: str | None, *, expect: type | tuple[type, ...] | None = None) -> ParseResult:
    """The JSON value of an answer.

    In order: the last ```json block that decodes; else the whole text; else the
    last object or array embedded in prose. ``expect`` (e.g. ``dict``) rejects
    values of another type.
    """
    raw = text or ""
    body = strip_thinking(raw).strip()
    if not body:
        return _fail(raw, "empty answer")
    attempts: list[str] = [code for lang, code in reversed(_fences(body)) if lang in ("json", "")]
    attempts.append(body)
    error = "no JSON value found"
    for attempt in attempts:
        try:
            value = json.loads(attempt)
        except ValueError as err:
            error = f"invalid JSON: {err}"
            continue
        return _check_type(value, raw, expect)
    value = _last_embedded(body)
    if value is not _MISSING:
        return _check_type(value, raw, expect)
    return _fail(raw, error)


_MISSING = object()


def _last_embedded(text: str) -> Any:
    """The last ``{...}`` or ``[...]`` in the text that decodes as JSON."""
    decoder = json.JSONDecoder()
    found: Any = _MISSING
    end_of_found = -1
    for i, ch in enumerate(text):
        if ch not in "{[" or i < end_of_found:
            continue
        try:
            value, end = decoder.raw_decode(text, i)
        except ValueError:
            continue
        found, end_of_found = value, end
    return found


def _check_type(value: Any, raw: str, expect: type | tuple[type, ...] | None) -> ParseResult:
    if expect is not None and not isinstance(value, expect):
        names = (
            "/".join(t.__name__ for t in expect) if isinstance(expect, tuple) else expect.__name__
        )
        return _fail(raw, f"expected JSON {names}, got {type(value).__name__}")
    return ParseResult(True, value, raw)


_YES = {"yes", "true", "consistent", "correct", "equivalent", "match", "matches", "valid"}
_NO = {"no", "false", "inconsistent", "incorrect", "not equivalent", "mismatch", "invalid"}
_VERDICT_LINE = re.compile(
    r"(?:final\s+)?(?:verdict|answer|judgement|judgment|conclusion|result)\s*[:=\-]\s*"
    r"\**\s*(not equivalent|[a-z]+)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
# "Pair 2", "**Pair 2:**", "### Pair #2 -": a heading at the start of a line.
_PAIR_HEADING = re.compile(r"^[ \t>#*_]*pair[ \t]*#?(\d+)\b[ \t]*[:.)*_\-\u2013\u2014]*",
                           re.IGNORECASE | re.MULTILINE)  # fmt: skip


def parse_yes_no(text: str | None) -> ParseResult:
    """A yes/no verdict as a bool.

    In order: a JSON object's ``verdict``/``answer``/``consistent``/``correct`` field;
    the last "Verdict: X" / "Answer: X" line; the first word of the answer; the
    last word. Synonyms: true/consistent/correct/equivalent/valid and their opposites.
    """
    raw = text or ""
    body = strip_thinking(raw).strip()
    if not body:
        return _fail(raw, "empty answer")
    as_json = parse_json(body, expect=dict)
    if as_json.ok:
        for field in ("verdict", "answer", "consistent", "correct", "equivalent", "result"):
            if field in as_json.value:
                verdict = _as_verdict(as_json.value[field])
                if verdict is not None:
                    return ParseResult(True, verdict, raw)
    lines = _VERDICT_LINE.findall(body)
    if lines:
        verdict = _as_verdict(lines[-1])
        if verdict is not None:
            return ParseResult(True, verdict, raw)
    words = _WORD.findall(body)
    for word in (words[0], words[-1]) if words else ():
        verdict = _as_verdict(word)
        if verdict is not None:
            return ParseResult(True, verdict, raw)
    return _fail(raw, "no yes/no verdict found")


def _as_verdict(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    word = value.strip().strip("*.!\"'`").lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


def pair_sections(text: str | None, count: int) -> list[str | None]:
    """Each of ``count`` numbered pairs' part of one answer, in order; None for a pair the
    answer leaves out.

    A part is the text after its "Pair N" heading (the rest of the heading line
    included) up to the next heading; the first heading of a number counts. An answer
    without such headings but with exactly ``count`` verdict lines is cut after each
    of them; otherwise nothing can be told apart and every pair is None.
    """
    body = strip_thinking(text or "")
    found: list[str | None] = [None] * count
    heads = list(_PAIR_HEADING.finditer(body))
    if heads:
        for head, after in zip(heads, [*heads[1:], None], strict=True):
            k = int(head.group(1))
            if 1 <= k <= count and found[k - 1] is None:
                found[k - 1] = body[head.end() : after.start() if after else len(body)].strip()
        return found
    verdicts = list(_VERDICT_LINE.finditer(body))
    if len(verdicts) != count:
        return found
    start = 0
    for k, verdict in enumerate(verdicts):
        end = body.find("\n", verdict.end())
        end = len(body) if end < 0 else end
        found[k] = body[start:end].strip()
        start = end
    return found
