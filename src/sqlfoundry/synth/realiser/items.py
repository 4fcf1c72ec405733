"""Requested items as English: plurals that make sense and merged neighbours.

"first name", "last name" -> "first and last names"; "average age", "maximum
age" -> "average and maximum age"; "killed" and "line 1" stay as they are.
"""

from __future__ import annotations

from sqlfoundry.synth.naming import is_plural
from sqlfoundry.synth.realiser.grammar import join_words, plural_noun

# Leading words that pair up: "first and last name", "home and cell phone".
_PAIRED = {"first", "middle", "last", "given", "family", "nick", "maiden", "full", "home", "work",
           "cell", "mobile", "start", "end", "min", "max", "minimum", "maximum", "primary",
           "secondary", "current", "permanent", "previous", "old", "new", "original", "date"}  # fmt: skip
_PREPOSITIONS = {"by", "of", "to", "for", "in", "on", "at", "from", "with"}
_PARTICIPLE_WORDS = {"made", "done", "won", "lost", "held", "built", "sold", "paid", "given",
                     "taken", "seen", "known", "run", "spent"}  # fmt: skip


def plural_item(noun: str) -> str:
    """The plural of a requested column, leaving alone what has none ("killed", "line 1")."""
    words = noun.lower().split()
    last = words[-1]
    if len(words) > 2 and words[0] in ("date", "time", "day", "year", "when"):
        return noun  # a clause, not a noun: "date became customer"
    if (
        last in _PREPOSITIONS
        or last.isdigit()
        or last in _PARTICIPLE_WORDS
        or (last.endswith("ed") and len(last) > 4)
    ):
        return noun
    return plural_noun(noun)


def group_noun(noun: str) -> str:
    """ "cylinders" -> "number of cylinders", so "for each number of cylinders" reads."""
    return f"number of {noun}" if looks_plural(noun) and noun.islower() else noun


def looks_plural(noun: str) -> bool:
    """Whether a column noun is plural ("cylinders"), so it takes "are"."""
    last = noun.rsplit(" ", 1)[-1]
    return " of " not in noun and is_plural(last)


def merge_items(nouns: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """Merge neighbours: "average age", "maximum age" -> "average and maximum age";
    "first name", "middle name", "last name" -> "first, middle and last name"."""
    runs: list[tuple[str, list[str], str]] = []  # (kind, leading words, shared noun)
    for kind, noun, key in nouns:
        if kind == "agg" and key != "count":
            if runs and runs[-1][0] == "agg" and runs[-1][2] == noun:
                runs[-1][1].append(key)
            else:
                runs.append(("agg", [key], noun))
            continue
        parts = noun.split()
        if kind == "col" and len(parts) == 2 and parts[0].lower() in _PAIRED:
            if runs and runs[-1][0] == "pair" and runs[-1][2] == parts[1]:
                runs[-1][1].append(parts[0])
            else:
                runs.append(("pair", [parts[0]], parts[1]))
            continue
        runs.append((kind, [], noun))
    merged = []
    for kind, leads, noun in runs:
        if kind == "agg":
            merged.append(("agg", f"{join_words(leads)} {noun}"))
        elif kind == "pair":
            merged.append(("col", f"{join_words(leads)} {noun}"))
        else:
            merged.append((kind, noun))
    return merged
