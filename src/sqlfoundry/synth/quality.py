"""Quality figures of a set of records: what a person reading the data would notice.

Text figures read the questions: mean words (overall and per level), the share
of questions using "whose" (column-name English leans on it; people seldom
do), distinct word uni- and bigrams per word (repetitive templates score low).
SQL figures read the queries against their schema: the share with a contrived
filter (:mod:`sqlfoundry.synth.contrived`). Check figures come from the
rejects: how many records each check dropped in the ``sql_semantic_filter``
step, and how many candidates the offline ``sql_generator`` turned down with
the same checks before they became records. Used by the run summary and
``benchmarks/bench_quality.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlfoundry.core.sample import Sample

_WORD = re.compile(r"[A-Za-z0-9']+")
LEVELS = ("easy", "medium", "hard", "extra")
# Reject kinds of the semantic filter, as the summary names them.
CHECK_KINDS = {
    "tie at the LIMIT cutoff": "ties",
    "fan-out": "fan_out",
    "degenerate result": "degenerate",
    "tautology": "tautology",
    "contrived filter": "contrived",
}


def words_of(text: str) -> list[str]:
    """The words of ``text`` (letters, digits and apostrophes)."""
    return _WORD.findall(text or "")


def text_figures(questions: Sequence[str]) -> dict[str, Any]:
    """Mean words, "whose" share and distinct n-grams of some questions."""
    tokens = [[w.lower() for w in words_of(q)] for q in questions if q]
    if not tokens:
        return {"questions": 0}
    total = sum(len(t) for t in tokens)
    unigrams = {w for t in tokens for w in t}
    bigrams = {pair for t in tokens for pair in zip(t, t[1:], strict=False)}
    return {
        "questions": len(tokens),
        "mean_words": round(total / len(tokens), 2),
        "whose_share": round(sum("whose" in t for t in tokens) / len(tokens), 4),
        "distinct_1": round(len(unigrams) / max(1, total), 4),
        "distinct_2": round(len(bigrams) / max(1, total - len(tokens)), 4),
    }


def words_by_level(samples: Iterable[Sample]) -> dict[str, float]:
    """Mean words per question for each Spider hardness level present."""
    counts: dict[str, list[int]] = {}
    for s in samples:
        level = s.hardness or s.component_difficulty
        if s.question and level:
            counts.setdefault(level, []).append(len(words_of(s.question)))
    return {lv: round(sum(v) / len(v), 2) for lv in LEVELS if (v := counts.get(lv))}


def contrived_share(samples: Sequence[Sample], schema_of: Callable[[str], Any]) -> float:
    """The share of records whose SQL has a contrived filter."""
    from sqlfoundry.synth.contrived import contrived_filters

    if not samples:
        return 0.0
    found = 0
    for s in samples:
        schema = schema_of(s.db_id)
        if s.sql and schema is not None and contrived_filters(s.sql, schema, schema.dialect):
            found += 1
    return round(found / len(samples), 4)


def check_counts(
    rejects: Iterable[dict[str, Any]], checked: int, operator: str = "sql_semantic_filter"
) -> dict[str, Any]:
    """Records each semantic check dropped in ``operator``'s step, and the share of
    the records it saw."""
    dropped: Counter[str] = Counter()
    for r in rejects:
        if r.get("operator") != operator:
            continue
        kind = CHECK_KINDS.get(str(r.get("reason", "")).split(":", 1)[0])
        if kind:
            dropped[kind] += 1
    seen = checked or 0
    return {
        "checked": seen,
        "dropped": {k: dropped[k] for k in CHECK_KINDS.values()},
        "dropped_share": {
            k: round(dropped[k] / seen, 4) if seen else 0.0 for k in CHECK_KINDS.values()
        },  # fmt: skip
    }
