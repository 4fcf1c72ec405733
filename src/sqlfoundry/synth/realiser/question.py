"""Whole queries as questions or requests: a frame, worded with deterministic variety."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlfoundry.synth.realiser.frames import Frame
from sqlfoundry.synth.realiser.framing import Framer
from sqlfoundry.synth.realiser.grammar import sentence
from sqlfoundry.synth.realiser.lexicon import (
    ASK_MANY,
    ASK_ONE,
    COUNT_IMPERATIVES,
    DISTINCT_WORDS,
    IMPERATIVES,
    IMPERATIVES_ONE,
    LEAD_WORDS,
    PERSONS,
)
from sqlfoundry.synth.realiser.plan import Query


@dataclass(frozen=True)
class Realisation:
    """A realised query: the sentence, and which phrasing variant it took."""

    text: str
    style: str  # interrogative | imperative


class Realiser(Framer):
    """Turns query plans into sentences; one instance per schema and rng.

    The style is drawn first (interrogative or imperative, or a "Which ...?"
    question when the frame has one), then the wording within it.
    """

    def realise(self, query: Query) -> Realisation:
        """The query as a sentence, with the style it took."""
        self._plural_items = None
        self.different = self.choose.weighted(DISTINCT_WORDS)
        frame = self.frame(query)
        done = self._realise_frame(frame)
        if frame.lead and done.text not in frame.which_with_lead:
            word = self.choose.weighted(LEAD_WORDS)
            done = Realisation(_with_lead(frame.lead, done.text, word), done.style)
        return Realisation(_who(done.text), done.style)

    def _realise_frame(self, frame: Frame) -> Realisation:
        style = "interrogative"
        # Counts are asked more than ordered; other requests are often orders.
        if self.choose.rng is not None and self.choose.chance(
            0.25 if frame.kind == "count" else 0.45
        ):
            style = "imperative"
        # People ask "Which ...?" about one in ten questions: whenever it reads well.
        if style == "interrogative" and frame.which and self.choose.chance(0.8):
            return Realisation(sentence(self.choose.pick(frame.which), ""), "interrogative")
        if frame.kind == "count":
            text = self._count_sentence(frame, style)
        elif frame.kind == "group":
            text = self._group_sentence(frame, style)
        elif style == "imperative":
            verbs = IMPERATIVES if frame.plural else IMPERATIVES_ONE
            np = frame.np
            if frame.requests and self.choose.chance(0.8):
                np = self.choose.pick(frame.requests)
            text = sentence(f"{self.choose.weighted(verbs)} {np}", ".")
        else:
            ask = self.choose.pick(ASK_MANY if frame.plural else ASK_ONE)
            text = sentence(f"{ask} {frame.np}", "?")
        return Realisation(text, style)

    def _count_sentence(self, frame: Frame, style: str) -> str:
        if frame.distinct_count is not None:
            values, head = frame.distinct_count, frame.head
            if style == "imperative":
                verb = self.choose.pick(("Count", "Find the number of"))
                return sentence(f"{verb} the {self.different} {values} of {head}", ".")
            return sentence(self.choose.pick((
                f"How many {self.different} {values} are there among {head}",
                f"What is the number of {self.different} {values} of {head}",
            )), "?")  # fmt: skip
        counted, noun, mod = frame.counted, frame.count_noun or frame.counted, frame.count_mod
        if style == "imperative":
            verb = self.choose.weighted(COUNT_IMPERATIVES)
            the = "" if verb != "Count" else "the "
            return sentence(f"{verb} {the}{counted}", ".")
        # Spider's people ask "How many ...?" far more often than "What is the number of".
        if self.choose.chance(0.15):
            return sentence(f"What is the number of {counted}", "?")
        verbal = _verbal(mod)
        if verbal is not None:
            return sentence(f"How many {noun} {verbal}", "?")
        if mod is None or mod.compact:
            return sentence(f"How many {counted} are there", "?")
        return sentence(f"How many {noun} are there {mod.post}", "?")

    def _group_sentence(self, frame: Frame, style: str) -> str:
        per, items, order = frame.per, frame.items, frame.order
        of = f" of {frame.head}" if frame.head else ""
        is_count = items.startswith("the number of ") and " and " not in items
        if style == "imperative":
            if frame.per_items:
                return sentence(self.choose.pick((
                    f"List {per} with {items}{of}{order}",
                    f"Show {per} and {items}{of}{order}",
                    f"Show {per} together with {items}{of}{order}",
                )), ".")  # fmt: skip
            verb = self.choose.weighted(
                (("Show", 0.3), ("Find", 0.35), ("Give", 0.1), ("Return", 0.25))
            )
            return sentence(self.choose.pick((
                f"{verb} {items}{of} for {per}{order}",
                f"For {per}, {verb.lower()} {items}{of}{order}",
            )), ".")  # fmt: skip
        ask = "What are" if frame.plural else "What is"
        options = [
            f"For {per}, {ask.lower()} {items}{of}{order}",
            f"{ask} {items}{of} for {per}{order}",
            f"{ask} {items}{of} in {per}{order}",
        ]
        if not frame.head:
            options.append(f"{ask} {items} of {per}{order}")  # "the number of dogs of each breed"
        counted = items.removeprefix("the number of ")
        how_many = (
            f"How many {counted}{of} are there for {per}{order}"
            if frame.head
            else f"For {per}, how many {counted} are there{order}"
        )
        # Counts per group are asked "How many ...?" about half the time.
        if is_count and self.choose.chance(0.5):
            return sentence(how_many, "?")
        if is_count:
            options.append(how_many)
        return sentence(self.choose.pick(options), "?")


_PERSON_THAT = re.compile(rf"\b({'|'.join(sorted(PERSONS, key=len, reverse=True))}) that\b")


def _who(text: str) -> str:
    """ "students that have a pet" -> "students who have a pet"."""
    return _PERSON_THAT.sub(r"\1 who", text)


def _with_lead(lead: str, text: str, word: str = "among") -> str:
    """ "Among books from 2020, which genre ...?": the lead first, the sentence after
    (``word`` may say it "for books from 2020")."""
    if word != "among" and not text.lower().startswith("for "):
        lead = word + lead.removeprefix("among")
    first, _, rest = text.partition(" ")
    if not first.isupper() or len(first) == 1:
        first = first[:1].lower() + first[1:]
    return sentence(f"{lead}, {first} {rest}".rstrip(), "")


def _verbal(mod) -> str | None:
    """A restriction as the verb of "How many X ...?" ("have a pet", "were born after
    1990", "are from France and have a pet"), or None when it has no verb."""
    if mod is None or not mod.rel.startswith("that "):
        return None
    parts = mod.rel[5:].split(" and that ")
    if any(p.startswith(("that ", "whose ", "where ")) for p in parts):
        return None
    return " and ".join(parts)


# Relative clauses that read well as the verb of "How many X ...?".
_VERBAL = (
    "that have ",
    "that were ",
    "that are from ",
    "that are named ",
    "that are marked ",
    "that are not ",
    "that are among ",
)
