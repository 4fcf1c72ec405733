"""Words the realiser chooses from: column semantics and phrasing variants.

Every list of variants is ordered with the plainest wording first: without an
rng the realiser always takes the first, so its default output is stable.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

# (words in the column's name, adjective for the highest value, for the lowest)
SUPERLATIVES: tuple[tuple[frozenset[str], str, str], ...] = (
    (frozenset({"age"}), "oldest", "youngest"),
    (frozenset({"price", "cost", "fare", "fee"}), "most expensive", "cheapest"),
    (frozenset({"salary", "wage", "pay"}), "highest-paid", "lowest-paid"),
    (frozenset({"height"}), "tallest", "shortest"),
    (frozenset({"weight"}), "heaviest", "lightest"),
    (frozenset({"length", "duration", "minutes", "runtime", "distance"}), "longest", "shortest"),
    (frozenset({"capacity", "size", "area"}), "largest", "smallest"),
    (frozenset({"population"}), "most populous", "least populous"),
    (frozenset({"speed"}), "fastest", "slowest"),
    (frozenset({"rating"}), "highest-rated", "lowest-rated"),
)
# Comparatives for the same adjectives: "singers older than 30", "books cheaper than 10".
COMPARATIVES = {
    "oldest": "older", "youngest": "younger", "most expensive": "more expensive",
    "cheapest": "cheaper", "tallest": "taller", "shortest": "shorter", "heaviest": "heavier",
    "lightest": "lighter", "longest": "longer", "largest": "larger", "smallest": "smaller",
    "most populous": "more populous", "least populous": "less populous", "fastest": "faster",
    "slowest": "slower",
}  # fmt: skip
# People: a relative clause about them takes "who" ("students who have a pet").
PERSONS = frozenset(
    """
    student students employee employees singer singers player players passenger passengers
    customer customers client clients doctor doctors physician physicians patient patients
    author authors people person persons teacher teachers professor professors
    professional professionals owner owners member members highschooler highschoolers
    schoolers driver drivers pilot pilots artist artists musician musicians conductor
    conductors manager managers staff nurse nurses visitor visitors user users friend friends
    candidate candidates voter voters editor editors writer writers director directors
    actor actors actress actresses host hosts representative representatives winner winners
    loser losers captain captains officer officers volunteer volunteers guest guests
    participant participants athlete athletes coach coaches judge judges scientist
    scientists engineer engineers worker workers faculty instructor instructors advisor
    advisors buyer buyers seller sellers tenant tenants residents resident
""".split()
)

# Dates of birth sort the other way round: the latest birth date is the youngest.
BIRTH_SUPERLATIVES = ("youngest", "oldest")
DATE_SUPERLATIVES = ("most recent", "earliest")

# A date or year column named after an event reads as a participle: "born after 1950".
PARTICIPLES = {
    "birth": "born", "born": "born", "dob": "born", "birthday": "born",
    "founded": "founded", "foundation": "founded", "founding": "founded",
    "built": "built", "build": "built", "construction": "built",
    "published": "published", "publication": "published", "publish": "published",
    "hire": "hired", "hired": "hired", "hiring": "hired",
    "join": "joined", "joined": "joined",
    "registered": "registered", "registration": "registered",
    "release": "released", "released": "released",
    "opened": "opened", "opening": "opened",
    "established": "established", "establishment": "established",
    "created": "created", "creation": "created",
    "launched": "launched", "launch": "launched",
    "enrolled": "enrolled", "enrollment": "enrolled", "enrolment": "enrolled",
    "issued": "issued", "issue": "issued",
    "died": "died", "death": "died", "retired": "retired", "retirement": "retired",
    "graduated": "graduated", "graduation": "graduated", "arrived": "arrived",
    "arrival": "arrived", "departed": "departed", "departure": "departed",
    "started": "started", "ended": "ended", "scheduled": "scheduled", "shipped": "shipped",
    "delivered": "delivered", "signed": "signed", "placed": "placed",
}  # fmt: skip
# Participles of verbs without an object: "customers *who joined* in 2022", not "customers joined".
INTRANSITIVE = {"joined", "died", "retired", "graduated", "arrived", "departed", "started",
                "ended"}  # fmt: skip

# Text columns that read as a preposition with their value: "singers from France".
PLACE_PREPOSITIONS = {
    "country": "from", "nationality": "from", "citizenship": "from", "hometown": "from",
    "city": "in", "state": "in", "region": "in", "continent": "in", "district": "in",
    "province": "in", "county": "in", "location": "in",
}  # fmt: skip

# Comparison words after "is", weighted as people write them (the first is the plainest).
COMPARE_WEIGHTS = {
    ">": (("greater than", 0.2), ("more than", 0.35), ("above", 0.15), ("higher than", 0.15),
          ("over", 0.15)),
    ">=": (("at least", 0.7), ("greater than or equal to", 0.1), ("no less than", 0.2)),
    "<": (("less than", 0.5), ("below", 0.2), ("lower than", 0.15), ("under", 0.15)),
    "<=": (("at most", 0.65), ("less than or equal to", 0.15), ("no more than", 0.2)),
}  # fmt: skip
COUNT_COMPARE = {
    ">": ("more than",),
    ">=": ("at least",),
    "<": ("fewer than", "less than"),
    "<=": ("at most", "no more than"),
    "=": ("exactly",),
    "!=": ("a number other than",),
}
# Dates and years compare in time.
TIME_COMPARE = {">": "after", ">=": "on or after", "<": "before", "<=": "on or before"}
YEAR_COMPARE = {">": "after", ">=": "in or after", "<": "before", "<=": "in or before"}

ASK_ONE = ("What is",)
ASK_MANY = ("What are",)
# Verbs of requests, weighted as Spider's people use them (Find, Show and Return most).
IMPERATIVES = (("List", 0.16), ("Find", 0.3), ("Show", 0.2), ("Return", 0.18), ("Give", 0.16))
IMPERATIVES_ONE = (("Find", 0.35), ("Show", 0.2), ("Give", 0.2), ("Return", 0.2), ("Tell me", 0.05))
COUNT_IMPERATIVES = (
    ("Count the number of", 0.35),
    ("Find the number of", 0.25),
    ("Count", 0.1),
    ("Return the number of", 0.15),
    ("Give the number of", 0.15),
)
# DISTINCT, said one way per sentence: "the different titles", "the number of distinct cities".
DISTINCT_WORDS = (("different", 0.5), ("distinct", 0.35), ("unique", 0.15))
# The word before the counted rows' restriction: "Among books from 2020, ...".
LEAD_WORDS = (("among", 0.5), ("for", 0.5))
NAMED = ("named", "called", "named", "with the name")

ASCENDING = ("in ascending order", "from lowest to highest")
DESCENDING = ("in descending order", "from highest to lowest")
ORDER_VERBS = ("ordered by", "sorted by")
# How a restriction on a referenced row is said: "with an author from France", "of
# authors from France", "whose author is from France", "where the author is from France".
ROLE_FORMS = (("with", 0.5), ("of", 0.3), ("whose", 0.12), ("where", 0.08))
# A rank by a figure: "with the largest population", "with the smallest capacity".
HIGHEST = (("highest", 0.35), ("largest", 0.35), ("greatest", 0.15), ("biggest", 0.15))
LOWEST = (("lowest", 0.5), ("smallest", 0.35), ("least", 0.15))


class Chooser:
    """Deterministic choices: the first option without an rng, a seeded pick with one."""

    def __init__(self, rng: random.Random | None) -> None:
        self.rng = rng

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options``: the first without an rng, a uniform pick with one."""
        if self.rng is None or len(options) == 1:
            return options[0]
        return options[self.rng.randrange(len(options))]

    def weighted(self, options: Sequence[tuple[T, float]]) -> T:
        """One of ``(option, weight)`` pairs by weight; the first without an rng."""
        if self.rng is None or len(options) == 1:
            return options[0][0]
        return self.rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]

    def chance(self, p: float) -> bool:
        """True with probability ``p`` (never without an rng)."""
        return self.rng is not None and self.rng.random() < p
