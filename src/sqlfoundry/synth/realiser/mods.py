"""Modifiers: a restriction on an entity, in every grammatical shape the sentence needs.

"singers *from France*", "the singer *from France*", "singers *that are from
France*", "whose author *is from France*": one :class:`Mod` carries them all,
so the sentence builder can pick the shape that fits where the restriction goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlfoundry.synth.realiser.grammar import join_words, with_article


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
        return self.post if plural else self.post_one

    def relative(self, plural: bool) -> str:
        return self.rel if plural else self.rel_one


def whose(noun: str, predicate: str) -> Mod:
    """``whose {noun} {predicate}``: "whose age is above 30"."""
    text = f"whose {noun} {predicate}"
    return Mod(text, text, text, text, f"'s {noun} {predicate}")


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


def through_role(role: str, inner: Mod | None) -> Mod | None:
    """A restriction on a referenced row, from the referencing one: "whose author is from France"."""
    if inner is None:
        return None
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


def lacking_child(noun: str, inner: Mod | None) -> Mod:
    """The negation of :func:`through_child`: "that have no pet whose type is 'cat'"."""
    obj = f"no {noun}"
    if inner is not None:
        obj = f"{obj} {inner.post_one}"
    return have(obj)
