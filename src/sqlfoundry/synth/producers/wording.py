"""How the offline engine words SQL: realised questions and paraphrase styles.

The realiser (:mod:`sqlfoundry.synth.realiser`) says what a query asks, as a
question or as a request. The language styles of the question generator
(``question_styles.toml``, after OmniSQL) are built on those two readings:

* ``interrogative``, ``imperative``: the realiser's own two forms;
* ``formal``: the request, politely ("Please list ...");
* ``colloquial``: the request as a casual question ("Hey, can you list ...?");
* ``concise``: the request without its verb ("Titles and prices of all books.");
* ``descriptive``: the question after a sentence of context;
* ``conversational``: a short exchange whose last user turn asks the question.

``vague`` and ``metaphorical`` need external knowledge that pins the wording
down to the SQL; only the LLM engine writes those.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from sqlglot import exp

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.db.schema import Schema
from sqlfoundry.sql.parse import parse_one
from sqlfoundry.synth.naming import entities
from sqlfoundry.synth.realiser import Realisation, RealiseError, realise_detail

OFFLINE_STYLES = (
    "interrogative",
    "imperative",
    "formal",
    "colloquial",
    "concise",
    "descriptive",
    "conversational",
)
_TRIES = 16  # realiser draws tried to find a reading in a wanted form
# Request verbs the concise style drops; "Count the X" reads "Number of X".
_VERBS = ("Give me", "Tell me", "List", "Show", "Find", "Return", "Get", "Display")
_COUNTS = ("Find the number of", "Count the number of", "Count the", "Count")


def realise(schema: Schema, sql: str, seed: str, *, dialect: str | None = None) -> Realisation:
    """The realiser's question for ``sql``, its wording drawn from ``seed``.

    Raises:
        RealiseError: the SQL does not parse or cannot be said.
    """
    try:
        return realise_detail(
            sql, schema, rng=random.Random(seed), dialect=dialect or schema.dialect
        )
    except RealiseError:
        raise
    except Exception as err:  # a realiser bug on one query must not stop a run
        raise RealiseError(f"internal error ({type(err).__name__}: {err})", sql=sql) from err


def readings(
    schema: Schema, sql: str, form: str, seed: str, dialect: str | None = None
) -> Iterator[str]:
    """The distinct realisations in ``form`` (``interrogative`` or ``imperative``) among
    the first draws from ``seed``, in the order drawn (lazily: take what you need)."""
    found: set[str] = set()
    for attempt in range(_TRIES):
        result = realise(schema, sql, f"{seed}:{form}:{attempt}", dialect=dialect)
        if result.style == form and result.text not in found:
            found.add(result.text)
            yield result.text


def reading(
    schema: Schema, sql: str, form: str, seed: str, dialect: str | None = None
) -> str | None:
    """The first realisation in ``form``, or None."""
    return next(readings(schema, sql, form, seed, dialect), None)


def in_style(
    schema: Schema,
    sql: str,
    style: str,
    seed: str,
    dialect: str | None = None,
    hypothesis: str | None = None,
) -> str | None:
    """The question ``sql`` answers, worded in ``style``; None when the style
    cannot be done offline for this query.

    Args:
        hypothesis: a clause the question starts with ("Assuming every price
            were 10% higher"): the what-if of a hypothetical pair, whose
            ``sql`` is then the query without the scaling.

    Raises:
        RealiseError: the SQL cannot be said at all.
    """
    text = _styled(schema, sql, style, seed, dialect)
    if text is None or not hypothesis:
        return text
    context, _, question = text.rpartition("User: " if style == "conversational" else ". ")
    if style not in ("conversational", "descriptive") or not context:
        return with_hypothesis(hypothesis, text)
    joint = "User: " if style == "conversational" else ". "
    return f"{context}{joint}{with_hypothesis(hypothesis, question)}"


def with_hypothesis(hypothesis: str, question: str) -> str:
    """``"Assuming ..., what is ...?"``."""
    return f"{hypothesis}, {_lower_first(question)}"


def _styled(schema: Schema, sql: str, style: str, seed: str, dialect: str | None) -> str | None:
    if style not in OFFLINE_STYLES:
        return None
    if style in ("interrogative", "descriptive", "conversational"):
        question = reading(schema, sql, "interrogative", seed, dialect)
        if question is None:
            return None
        if style == "interrogative":
            return question
        topic = _topic(sql, dialect or schema.dialect)
        if style == "descriptive":
            return f"I am putting together an overview of the {topic}. {question}"
        return (
            f"User: I have a question about the {topic}.\n"
            "Assistant: Sure, what would you like to know?\n"
            f"User: {question}"
        )
    if style == "concise":
        shortened = (_concise(r) for r in readings(schema, sql, "imperative", seed, dialect))
        return next((text for text in shortened if text), None)
    request = reading(schema, sql, "imperative", seed, dialect)
    if request is None:
        return None
    if style == "imperative":
        return request
    # "For each genre, list ..." keeps its lead: "For each genre, please list ...".
    head, comma, rest = request.partition(", ")
    lead = f"{head}, " if request.startswith("For ") and comma else ""
    body = _lower_first(rest if lead else request)
    if style == "formal":
        return f"{lead}please {body}" if lead else f"Please {body}"
    return f"Hey, {_lower_first(lead)}can you {body.rstrip('.')}?"


def _concise(request: str) -> str | None:
    head, comma, rest = request.partition(", ")
    if request.startswith("For each ") and comma:
        shortened = _concise(rest[:1].upper() + rest[1:])
        return (
            f"{shortened.rstrip('.')} per {head.removeprefix('For each ')}." if shortened else None
        )
    for verb in _COUNTS:
        if request.startswith(verb + " "):
            rest = request[len(verb) + 1 :].removeprefix("the ")
            return f"Number of {rest}"
    for verb in _VERBS:
        if request.startswith(verb + " "):
            rest = request[len(verb) + 1 :].removeprefix("the ").removeprefix("all ")
            return rest[:1].upper() + rest[1:]
    return None


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():  # an acronym ("ISBN ...")
        return text
    return text[:1].lower() + text[1:]


def _topic(sql: str, dialect: str) -> str:
    """What the query is about, for a sentence of context: its first table's rows."""
    try:
        table = parse_one(sql, dialect).find(exp.Table)
    except SqlfoundryError:
        table = None
    return entities(table.name) if table is not None and table.name else "data"
