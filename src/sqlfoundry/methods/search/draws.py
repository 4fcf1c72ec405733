"""From a model's completion of a partial query to the actions it proposes.

A *draw* is one sampled completion of the prefix ``P`` (the node's partial SQL),
read as the whole query it makes and the clause segments that follow ``P``, each
with the sum of its tokens' log probabilities. The segments are the tree's
actions: the first one becomes a child of the node, the rest are the rollout
the search follows from that child without asking the model again.

* Chat (a model trained on the schema-aware prompt answers with the whole
  query): the SQL is taken from the answer (a code block or bare text), and its
  tokens must start with ``P``'s (case and spacing aside); what follows is the
  continuation. An answer that is only a continuation (it does not start like a
  query) is read after ``P``; an answer that is another whole query, ignoring
  ``P``, is not usable.
* Completions (a base model continues the prompt, whose last line is ``P``): the
  text is the continuation itself.

Token log probabilities are mapped to segments by where each token's first
non-space character falls: from the offsets ``/completions`` gives, or by
adding up the token texts for chat.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.llm.generation import Generation, TokenLogprob
from sqlfoundry.llm.parse import parse_sql, strip_thinking
from sqlfoundry.sql.clauses import clause_starts, match_prefix, normalize_spacing, token_key
from sqlfoundry.sql.parse import tokens_of, validate

_QUERY_STARTS = (TokenType.SELECT, TokenType.WITH)


@dataclass(frozen=True)
class Segment:
    """One clause segment of a completion: its text and log probability (None when the
    completion came without log probabilities)."""

    text: str
    logprob: float | None
    key: Hashable = field(compare=False, default=None)


@dataclass(frozen=True)
class Draw:
    """One usable completion: the segments after the prefix and the whole query they make."""

    segments: tuple[Segment, ...]
    sql: str

    @property
    def logprob(self) -> float | None:
        """The sum over the segments, None when any is unknown."""
        values = [s.logprob for s in self.segments]
        return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Reading:
    """A completion read: a draw, or why it is not usable."""

    draw: Draw | None
    problem: str | None = None


def join(prefix: str, text: str) -> str:
    """The partial query after one more segment."""
    return f"{prefix} {text}".strip() if prefix else text.strip()


def relative_offsets(tokens: Sequence[TokenLogprob]) -> list[int]:
    """Where each token starts in the completion's text. Server offsets are taken relative
    to the first token's (servers differ on whether they count the prompt); without
    offsets, the token texts are added up."""
    if tokens and all(t.offset is not None for t in tokens):
        first = tokens[0].offset or 0
        return [(t.offset or 0) - first for t in tokens]
    out, at = [], 0
    for t in tokens:
        out.append(at)
        at += len(t.token)
    return out


def anchors(tokens: Sequence[TokenLogprob]) -> list[tuple[int, float]]:
    """``(position of the token's first non-space character, log probability)`` per token."""
    return [
        (offset + (len(t.token) - len(t.token.lstrip())) if t.token.strip() else offset, t.logprob)
        for t, offset in zip(tokens, relative_offsets(tokens), strict=True)
    ]


def span_logprob(points: Sequence[tuple[int, float]], start: int, end: int) -> float:
    """The log probability of the tokens anchored in ``[start, end)``."""
    return sum(lp for at, lp in points if start <= at < end)


def read_chat(
    prefix: str, generation: Generation, max_segments: int, dialect: str = "sqlite"
) -> Reading:
    """A chat answer read as a completion of ``prefix`` (see the module doc)."""
    parsed = parse_sql(generation.text)
    if parsed.ok:
        sql: str = parsed.value
    else:
        # Bare text that only continues the prefix (it cannot start like a query, so the
        # parser above did not take it): kept when prefix and text make a query.
        sql = strip_thinking(generation.text).strip().rstrip(";").rstrip()
        if not prefix or not sql or validate(f"{prefix} {sql}", dialect):
            return Reading(None, "no SQL in the answer")
    position = max(0, generation.text.rfind(sql))
    try:
        start = match_prefix(prefix, sql, dialect)
        if start is not None:
            full, shift = sql, position
        else:
            first = tokens_of(sql, dialect)
            if first and first[0].token_type in _QUERY_STARTS:
                return Reading(None, "the answer is another query, not a completion of the prefix")
            full = f"{prefix} {sql}"
            start, shift = len(prefix) + 1, position - len(prefix) - 1
    except (SqlfoundryError, TokenError):
        return Reading(None, "the answer does not tokenize as SQL")
    return _reading(prefix, full, start, shift, generation.logprobs, max_segments, dialect)


def read_completion(
    prefix: str, generation: Generation, max_segments: int, dialect: str = "sqlite"
) -> Reading:
    """A ``/completions`` continuation of ``prefix`` read as a draw."""
    full = prefix + generation.text
    return _reading(prefix, full, len(prefix), -len(prefix), generation.logprobs, max_segments,
                    dialect)  # fmt: skip


def _reading(
    prefix: str,
    full: str,
    start: int,
    shift: int,
    logprobs: list[TokenLogprob] | None,
    max_segments: int,
    dialect: str,
) -> Reading:
    """Cut ``full`` after ``start`` into segments; ``shift`` maps an offset in ``full`` to
    one in the generated text the log probabilities describe."""
    end = len(full.rstrip().rstrip(";").rstrip())
    while start < end and full[start].isspace():
        start += 1
    if start >= end:
        if not prefix:
            return Reading(None, "empty answer")
        return Reading(Draw((), prefix))
    try:
        cuts = [c for c in clause_starts(full[:end], dialect) if c > start]
        points = anchors(logprobs) if logprobs is not None else None
        bounds = [start, *cuts, end]
        segments = []
        for a, b in zip(bounds, bounds[1:], strict=False):
            text = full[a:b].strip()
            if not text:
                continue
            lp = span_logprob(points, a + shift, b + shift) if points is not None else None
            segments.append(_segment(text, lp, dialect))
        if len(segments) > max_segments:
            tail = segments[max_segments - 1 :]
            lps = [s.logprob for s in tail]
            merged = " ".join(s.text for s in tail)
            total = None if any(v is None for v in lps) else sum(lps)  # type: ignore[arg-type]
            segments = [*segments[: max_segments - 1], _segment(merged, total, dialect)]
    except SqlfoundryError:
        return Reading(None, "the answer does not tokenize as SQL")
    sql = prefix
    for segment in segments:
        sql = join(sql, segment.text)
    return Reading(Draw(tuple(segments), sql))


def _segment(text: str, lp: float | None, dialect: str) -> Segment:
    text = normalize_spacing(text, dialect)
    return Segment(text, lp, token_key(text, dialect))
