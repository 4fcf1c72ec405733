"""The offline engine's reading of multi-turn chats: follow-ups, topic changes, standalone questions.

A user turn is a *follow-up* when it leans on what came before: it opens
with a continuation ("and ...", "what about ...", "only ...", "sort ..."),
points back ("those", "them", "their", "the same") or is a few words long.
These are English cues; they decide only whether the user's own words can
stand alone, never what the question means.

A follow-up is resolved from the SQL that answered it, which says exactly
what was asked: the realiser words that query as a standalone question. A
turn that is not a follow-up keeps the user's words.

A *topic change* (for the segmented extractor) is a turn that is not a
follow-up and whose queries read none of the tables the current topic's
queries read.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlfoundry.db.schema import Schema
from sqlfoundry.synth.producers.wording import realise
from sqlfoundry.synth.realiser import RealiseError

_OPENERS = (
    "and", "but", "also", "now", "then", "so", "ok", "okay", "what about", "how about",
    "only", "just", "same", "instead", "sort", "order", "filter", "group", "break it down",
    "limit", "narrow", "what if", "excluding", "except", "plus", "same for", "and for",
)  # fmt: skip
_BACK = {"those", "them", "these", "they", "their", "theirs", "same", "ones", "previous",
         "above", "earlier", "it", "its", "again"}  # fmt: skip
_SHORT = 3  # a turn of this many words or fewer cannot stand alone


def words_of(text: str) -> list[str]:
    """The lower-case words of ``text`` (apostrophes kept)."""
    return "".join(ch if ch.isalnum() or ch == "'" else " " for ch in text.lower()).split()


def is_follow_up(text: str) -> bool:
    """Does the turn lean on earlier turns (see the module doc)?"""
    tokens = words_of(text)
    if len(tokens) <= _SHORT:
        return True
    joined = " ".join(tokens)
    if any(joined == o or joined.startswith(o + " ") for o in _OPENERS):
        return True
    return bool(_BACK & set(tokens))


def standalone(
    text: str, earlier: Sequence[str], sql: str, schema: Schema, seed: str
) -> tuple[str, str]:
    """``(question, how)``: the turn as a standalone question.

    ``how`` is ``as asked`` (the user's words stand alone), ``from the SQL``
    (the realiser's question for the SQL that answered it), or ``joined`` (the
    SQL cannot be worded: the topic's user turns, joined).

    Args:
        text: the user turn.
        earlier: the earlier user turns of the same context (joined to the turn
            when the SQL cannot be worded).
        sql: the query that answered it.
    """
    if not is_follow_up(text):
        return text, "as asked"
    try:
        return realise(schema, sql, seed).text, "from the SQL"
    except RealiseError:
        return " ".join([*earlier, text]), "joined"


def topic_changed(text: str, topic_tables: set[str], new_tables: set[str]) -> bool:
    """Does the turn start a new topic (see the module doc)?"""
    if is_follow_up(text) or not topic_tables or not new_tables:
        return False
    return not topic_tables & new_tables
