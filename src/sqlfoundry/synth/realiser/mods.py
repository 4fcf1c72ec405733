"""Modifiers: a restriction on an entity, in every grammatical shape the sentence needs.

"singers *from France*", "the singer *from France*", "singers *that are from
France*", "whose author *is from France*": one :class:`Mod` carries them all,
so the sentence builder can pick the shape that fits where the restriction goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlfoundry.synth.realiser.grammar import join_words, plural_noun, with_article


@dataclass(frozen=True)
class Mod:
    """One restriction.

    Attributes:
        post: after a plural noun ("from France", "whose age is above 30", "that have a pet").
        post_one: after a singular noun ("that has a pet").
        rel: a relative clause after a plural noun ("that are from France").
        rel_one: the same after a singular noun ("that is from France").
        clause: what follows a singular subject to make it a sentence (" is from
            France", "'s age is above 30"); None for combinations, which need
            their subject repeated.
        compact: ``post`` is a short phrase (no relative pronoun) that can stand
            right after the noun.
    """

    post: str
    post_one: str
    rel: str
    rel_one: str
    clause: str | None
    compact: bool = False

    def after(self, plural: bool) -> str:
        """The restriction after a plural or a singular noun."""
        return self.post if plural else self.post_one

    def relative(self, plural: bool) -> str:
        """The restriction as a relative clause after a plural or a singular noun."""
        return self.rel if plural else self.rel_one


def whose(noun: str, predicate: str) -> Mod:
    """``whose {noun} {predicate}``: "whose age is above 30"."""
    text = f"whose {noun} {predicate}"
    return Mod(text, text, text, text, f"'s {noun} {predicate}")


# Predicates that compare ("is above 30") read after "with a price"; bounds
# ("at least 4") need "of" first; the rest are values ("is 'cat'").
_COMPARISONS = ("greater than", "more than", "above", "higher than", "over ", "less than",
                "below", "lower than", "under ", "between ", "not between ", "after ",
                "before ", "on or ", "in or ")  # fmt: skip
_BOUNDS = ("at least", "at most", "no less than", "no more than")
_TEXT_VERBS = {"contains": "containing", "starts with": "starting with",
               "ends with": "ending with", "does not contain": "not containing",
               "does not start with": "not starting with",
               "does not end with": "not ending with"}  # fmt: skip


def a_noun(noun: str) -> str:
    """The noun with "a"/"an", or bare when it is plural ("delay minutes")."""
    from sqlfoundry.synth.naming import is_plural

    last = noun.rsplit(" ", 1)[-1]
    if is_plural(last) or last.isupper() and len(last) > 1 and last.endswith("S"):
        return noun
    return with_article(noun)


def with_phrase(noun: str, predicate: str, article: bool = True) -> str | None:
    """``{noun} {predicate}`` as a "with" phrase, or None when it does not read as one:
    "with a price above 20", "with genre 'Fantasy'", "with a title starting with 'The'",
    "without an email", "with a role other than 'captain'". Without ``article``,
    comparisons read as people often write them: "with price above 20"."""
    art = a_noun if article else _bare
    if predicate == "is set":
        return f"with {art(noun)}"
    if predicate == "is not set":
        return f"without {art(noun)}"
    for verb, participle in _TEXT_VERBS.items():
        if predicate.startswith(verb + " "):
            return f"with {art(noun)} {participle} {predicate[len(verb) + 1 :]}"
    verb, _, rest = predicate.partition(" ")
    if verb not in ("is", "are") or not rest or rest.startswith(("one of", "the ", "not one")):
        return None
    if rest.startswith("neither ") and " nor " in rest:
        first, _, second = rest[8:].partition(" nor ")
        return f"with {art(noun)} other than {first} and {second}"
    if rest.startswith("none of "):
        return f"with {art(noun)} other than {rest[8:]}"
    if rest.startswith("not ") and not rest.startswith("not between"):
        return f"with {art(noun)} other than {rest[4:]}"
    if rest.startswith(_BOUNDS):
        return f"with {art(noun)} of {rest}"
    dated = rest.startswith(("on ", "in ")) and (rest[3:4].isupper() or rest[3:4].isdigit())
    if rest.startswith(_COMPARISONS) or dated:
        return f"with {art(noun)} {rest}"
    return f"with {noun} {rest}"


def _bare(noun: str) -> str:
    return noun


def attribute(noun: str, predicate: str, form: str = "with", article: bool = True) -> Mod:
    """A restriction on one of the row's own values, worded in ``form``: ``with``
    ("with a price above 20"), ``where`` ("where the price is above 20") or ``whose``
    ("whose price is above 20"); ``with`` falls back to ``where`` when it does not fit."""
    clause = f"'s {noun} {predicate}"
    if form == "with":
        phrase = with_phrase(noun, predicate, article)
        if phrase is not None:
            body = phrase.removeprefix("with ")
            if phrase.startswith("without "):
                return Mod(phrase, phrase, f"that have no {body[8:].removeprefix('a ').removeprefix('an ')}",
                           f"that has no {body[8:].removeprefix('a ').removeprefix('an ')}", clause,
                           compact=True)  # fmt: skip
            return Mod(
                phrase, phrase, f"that have {body}", f"that has {body}", clause, compact=True
            )
        form = "where"
    if form == "where":
        text = f"where the {noun} {predicate}"
        return Mod(text, text, text, text, clause)
    return whose(noun, predicate)


def be(phrase: str, past: bool = False) -> Mod:
    """A phrase that follows the noun directly: "from France", "born after 1950"."""
    many, one = ("were", "was") if past else ("are", "is")
    return Mod(phrase, phrase, f"that {many} {phrase}", f"that {one} {phrase}", f" {one} {phrase}",
               compact=True)  # fmt: skip


def did(phrase: str) -> Mod:
    """A past-tense verb phrase: "that joined in 2022"."""
    return Mod(f"that {phrase}", f"that {phrase}", f"that {phrase}", f"that {phrase}", f" {phrase}")


def be_clause(phrase: str) -> Mod:
    """A predicate that needs its verb: "that are the origin of a flight"."""
    return Mod(f"that are {phrase}", f"that is {phrase}", f"that are {phrase}",
               f"that is {phrase}", f" is {phrase}")  # fmt: skip


def have(obj: str) -> Mod:
    """``that have {obj}``: "that have more than 2 pets"."""
    return Mod(f"that have {obj}", f"that has {obj}", f"that have {obj}", f"that has {obj}",
               f" has {obj}")  # fmt: skip


def lacking(obj: str) -> Mod:
    """``that do not have {obj}``: "that do not have more than 2 pets"."""
    return Mod(f"that do not have {obj}", f"that does not have {obj}", f"that do not have {obj}",
               f"that does not have {obj}", f" does not have {obj}")  # fmt: skip


def provided(clause: str) -> Mod:
    """A condition on the whole database, not on the row: "provided that there is a review"."""
    text = f"provided that {clause}"
    return Mod(text, text, text, text, f", {text},")


def with_(phrase: str) -> Mod:
    """``with {phrase}``: "with an author from France"."""
    return Mod(f"with {phrase}", f"with {phrase}", f"that have {phrase}", f"that has {phrase}",
               f" has {phrase}", compact=True)  # fmt: skip


def all_of(mods: list[Mod]) -> Mod | None:
    """Every restriction at once (AND)."""
    mods = [m for m in mods if m is not None]
    if not mods:
        return None
    if len(mods) == 1:
        return mods[0]
    short = [m for m in mods if m.compact]
    rest = [m for m in mods if not m.compact]

    def post(plural: bool) -> str:
        head = join_words([m.after(plural) for m in short])
        tail = join_words([m.after(plural) for m in rest])
        return (
            f"{head} {tail}".strip()
            if head and tail and len(rest) == 1
            else join_words([x for x in (head, tail) if x])
        )

    return Mod(
        post=post(True),
        post_one=post(False),
        rel=join_words([m.rel for m in mods]),
        rel_one=join_words([m.rel_one for m in mods]),
        clause=None,
        compact=not rest,
    )


def any_of(mods: list[Mod]) -> Mod | None:
    """One restriction or another (OR)."""
    mods = [m for m in mods if m is not None]
    if not mods:
        return None
    if len(mods) == 1:
        return mods[0]
    compact = all(m.compact for m in mods)
    if compact:
        post = join_words([m.post for m in mods], "or")
        post_one = join_words([m.post_one for m in mods], "or")
    else:
        post = join_words([m.rel for m in mods], "or")
        post_one = join_words([m.rel_one for m in mods], "or")
    return Mod(
        post=post,
        post_one=post_one,
        rel=join_words([m.rel for m in mods], "or"),
        rel_one=join_words([m.rel_one for m in mods], "or"),
        clause=None,
        compact=compact,
    )


def through_role(role: str, inner: Mod | None, form: str = "whose") -> Mod | None:
    """A restriction on a referenced row, from the referencing one: "whose author is
    from France", "where the author is from France" (``form="where"``), "with an
    author from France" (``form="with"``) or "of authors from France" (``form="of"``),
    the last two for short restrictions."""
    if inner is None:
        return None
    if form == "of" and inner.compact:
        # "pets of students named Tracy", "the pet of a student named Tracy"
        many, one = (
            f"of {plural_noun(role)} {inner.post}",
            f"of {with_article(role)} {inner.post_one}",
        )
        have_one = f"{with_article(role)} {inner.post_one}"
        return Mod(many, one, f"that have {have_one}", f"that has {have_one}", f" has {have_one}",
                   compact=True)  # fmt: skip
    if form in ("with", "of") and inner.compact:
        return with_(f"{with_article(role)} {inner.post_one}")
    if inner.clause is not None and form == "where":
        text = f"where the {role}{inner.clause}"
        return Mod(text, text, text, text, f"'s {role}{inner.clause}")
    if inner.clause is not None:
        return Mod(f"whose {role}{inner.clause}", f"whose {role}{inner.clause}",
                   f"whose {role}{inner.clause}", f"whose {role}{inner.clause}",
                   f"'s {role}{inner.clause}")  # fmt: skip
    return with_(f"{with_article(role)} {inner.post_one}")


def through_child(noun: str, inner: Mod | None) -> Mod:
    """A restriction through rows that reference this one: "that have a pet whose type is 'cat'"."""
    obj = with_article(noun)
    if inner is not None:
        obj = f"{obj} {inner.post_one}"
    return have(obj)


def lacking_child(noun: str, inner: Mod | None, any_: bool = False) -> Mod:
    """The negation of :func:`through_child`: "that have no pet whose type is 'cat'", or
    with ``any_`` "that do not have any pets whose type is 'cat'"."""
    if any_:
        obj = f"any {plural_noun(noun)}"
        return lacking(f"{obj} {inner.post}" if inner is not None else obj)
    obj = f"no {noun}"
    if inner is not None:
        obj = f"{obj} {inner.post_one}"
    return have(obj)
