"""What a query asks, before it is worded: a :class:`Frame`.

A frame names the kind of request (a list, a superlative, a count, an
aggregate, a per-group figure or a set operation) and holds its parts already
in English: the requested items ("the names and ages"), the head they belong
to ("singers from France"), the grouping ("each country") and the ordering.
:mod:`sqlfoundry.synth.realiser.question` turns a frame into a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlfoundry.synth.realiser.mods import Mod


@dataclass
class Frame:
    """One query, in parts.

    Attributes:
        kind: list, sup (ORDER BY ... LIMIT), count, agg (one row of
            aggregates), group (a figure per group), list_of (the groups
            themselves: "the genres that have more than 20 books") or set.
        items: what is asked for, with its article: "the names and ages".
        plural: whether ``items`` takes "are".
        head: the rows the items belong to: "singers from France", "the oldest singer".
        per: the groups, for ``group``: "each country".
        per_items: the group columns the result also lists ("country"), if any.
        order: a trailing ordering phrase: ", ordered by age in descending order".
        counted: for ``count``: the counted rows with their restrictions
            ("singers from France"); ``count_noun`` and ``count_mod`` the same
            in parts ("singers", from France).
        distinct_count: for COUNT(DISTINCT x): what x's values are ("different countries").
        which: complete "Which ...?" questions, when they read naturally.
        np: the whole request as a noun phrase, for nesting in another sentence.
        rows: what one result row is, as a plural noun phrase ("countries that
            have more than 2 car makers"), for a query counted from outside;
            ``rows_head`` and ``rows_mod`` are its noun and restriction, when known.
    """

    kind: str
    items: str = ""
    plural: bool = True
    head: str = ""
    per: str | None = None
    per_items: str | None = None
    order: str = ""
    counted: str = ""
    count_noun: str = ""
    count_mod: Mod | None = None
    distinct_count: str | None = None
    which: list[str] = field(default_factory=list)
    np: str = ""
    rows: str = ""
    rows_head: str = ""
    rows_mod: Mod | None = None
    lead: str = ""  # said before the sentence: "among books from 2020" (restricts what is counted)
    which_with_lead: list[str] = field(default_factory=list)  # "which" questions saying the lead
    # Shorter objects for a request ("the country with the most cities, and that number"),
    # used instead of ``np`` after an imperative verb when there are some.
    requests: list[str] = field(default_factory=list)
    note: str = ""  # the lead as a tail, for when the frame is nested in another sentence
