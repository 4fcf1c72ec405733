"""Words of a question: normalised terms, structure cues, and links to the schema.

- :func:`terms` turns text into the terms retrieval compares: lower-case words
  without stop words, reduced by a light stemmer (plurals, -ing, -ed), so
  "singers released" and "singer release" meet.
- :func:`question_cues` reads the words that say what shape the SQL has:
  "how many" is a COUNT, "average" an AVG, "for each" a GROUP BY, "oldest" a
  maximum...; :mod:`index` reads the same cues off each SQL query.
- :class:`SchemaLexicon` links a question's terms to tables and columns through
  their English names (``sqlfoundry.synth.naming`` and the realiser's
  :class:`SchemaWords`: nouns, roles, readable names, BIRD descriptions), and
  superlatives ("oldest" -> age, "most expensive" -> price).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlfoundry.db.schema import Schema
from sqlfoundry.synth.naming import humanize, singular
from sqlfoundry.synth.realiser.names import schema_words

_WORD = re.compile(r"[a-z0-9]+")

STOP_WORDS = frozenset(
    """a an the of in on at to for from by with and or is are was were be been being
    what which who whom whose where when how show list find give return tell me all
    that this these those there their its his her it they them do does did done please
    each every any some also as into about than then have has had having i we you our
    your can could would should will shall may might must get got one ones whom out up
    s t many much""".split()
)

# Words that say what shape the query has; matched on lower-case text with word bounds.
_CUES: dict[str, tuple[str, ...]] = {
    "count": ("how many", "number of", "count", "how much"),
    "avg": ("average", "mean", "avg"),
    "sum": ("total", "sum", "combined", "altogether", "overall"),
    "max": ("maximum", "max", "highest", "largest", "biggest", "greatest", "most", "oldest",
            "latest", "longest", "heaviest", "tallest", "top", "newest", "best", "maximal",
            "most recent", "most expensive", "farthest"),
    "min": ("minimum", "min", "lowest", "smallest", "least", "fewest", "youngest", "earliest",
            "shortest", "lightest", "cheapest", "worst", "minimal"),
    "group": ("each", "per", "for every", "corresponding", "grouped", "by each"),
    "order": ("order", "ordered", "sort", "sorted", "descending", "ascending", "alphabetical",
              "alphabetically", "arranged", "ranked", "rank"),
    "neg": ("not", "no", "never", "without", "except", "other than", "excluding", "none",
            "n't", "dont", "doesnt", "didnt", "neither", "nor"),
    "intersect": ("both", "as well as", "and also"),
    "union": ("either",),
    "gt": ("more than", "greater", "larger than", "bigger than", "higher than", "older than",
           "above", "over", "exceed", "exceeds", "at least", "after", "later than",
           "longer than", "heavier than", "taller than", "more", "beyond"),
    "lt": ("less than", "fewer than", "smaller than", "lower than", "younger than", "below",
           "under", "at most", "before", "earlier than", "shorter than", "less", "fewer",
           "lighter than", "cheaper than"),
    "between": ("between",),
    "like": ("contain", "contains", "containing", "includes", "including", "substring",
             "starting with", "start with", "starts with", "ending with", "ends with",
             "begin with", "begins with", "word"),
}  # fmt: skip
_CUE_PATTERNS = {
    cue: re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![a-z])")
    for cue, phrases in _CUES.items()
}
# Sort directions; "reverse alphabetical" is read before "alphabetical".
_DESCENDING = re.compile(
    r"\b(?:descending|decreasing|reverse alphabetical|reversed? (?:alphabetical )?order|"
    r"from (?:the )?(?:highest|largest|biggest|most|oldest|newest|latest|longest|greatest|"
    r"heaviest|tallest)|high to low|large to small|z to a|(?:highest|largest|biggest|oldest|"
    r"newest|latest|longest|greatest|most recent|most \w+) first)\b"
)
_ASCENDING = re.compile(
    r"\b(?:ascending|increasing|alphabetical|alphabetically|lexicographic\w*|"
    r"from (?:the )?(?:lowest|smallest|least|fewest|youngest|earliest|oldest to|shortest|"
    r"cheapest|first)|low to high|small to large|a to z|(?:lowest|smallest|youngest|earliest|"
    r"shortest|cheapest|least \w+) first)\b"
)
_TOTAL_NUMBER = re.compile(r"\btotal (?:number|count|amount of (?:different|distinct))\b")


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """A light stemmer: plural, -ing and -ed endings and a final e go."""
    w = word.lower()
    if len(w) <= 3 or w.isdigit():
        return w
    w = singular(w)
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            w = w[: -len(suffix)]
            if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "aeiouls":
                w = w[:-1]  # "shipped" -> "ship"
            break
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    """The lower-case words of ``text``, possessive ``'s`` left out."""
    return _WORD.findall(text.lower().replace("'s", " ").replace("’s", " "))


def terms(text: str) -> list[str]:
    """Stemmed content words of ``text``, in order, stop words left out."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]


def question_cues(question: str, names: Iterable[str] = ()) -> frozenset[str]:
    """The structure cues a question's wording carries (see the module doc).

    Args:
        question: the question.
        names: lower-case column names read as English ("number of products"); a cue
            word inside one of them is part of the name, not a cue.
    """
    low = " " + question.lower().replace("’", "'") + " "
    for name in names:
        if name in low:
            low = re.sub(rf"(?<![a-z]){re.escape(name)}(?![a-z])", " ", low)
    found = set()
    # A sort direction ("from the oldest to the youngest") is read first and taken
    # out, so its superlatives do not read as MAX / MIN.
    direction = _DESCENDING.search(low)
    if direction:
        found.add("desc")
    else:
        direction = _ASCENDING.search(low)
        if direction:
            found.add("asc")
    if direction:
        low = low[: direction.start()] + " " + _span_rest(low, direction.end())
    found.update(cue for cue, pattern in _CUE_PATTERNS.items() if pattern.search(low))
    if "sum" in found and _TOTAL_NUMBER.search(low):
        found.discard("sum")  # "the total number of" is a count
        found.add("count")
    return frozenset(found)


def _span_rest(low: str, end: int) -> str:
    """What follows a sort direction, without its "to the youngest" half."""
    rest = low[end:]
    match = re.match(r"\s+to\s+(?:the\s+)?\w+", rest)
    return rest[match.end() :] if match else rest


# --------------------------------------------------------------------------- schema links


@dataclass(frozen=True)
class Links:
    """How strongly (0..1) a question names each table and column (lower-case names)."""

    tables: dict[str, float]
    columns: dict[tuple[str, str], float]

    def column(self, key: tuple[str, str]) -> float:
        """The link score of a ``(table, column)`` key, 0 when unlinked."""
        return self.columns.get(key, 0.0)

    def table(self, name: str) -> float:
        """The link score of a table, 0 when unlinked."""
        return self.tables.get(name, 0.0)


class SchemaLexicon:
    """The English terms of a schema's tables and columns, for linking questions to them."""

    def __init__(self, schema: Schema) -> None:
        names = schema_words(schema)
        self.table_phrases: dict[str, list[tuple[str, ...]]] = {}
        self.column_phrases: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        # Superlatives name a column on their own: "the oldest singer" -> singer.Age.
        self.superlatives: dict[tuple[str, str], tuple[str, ...]] = {}
        # number, year, date, text or bool: which columns may stand in for which.
        self.kinds: dict[tuple[str, str], str] = {}
        # Column names holding cue words ("number of products", "average attendance").
        self.cue_names: list[str] = []
        for table in schema.tables:
            tkey = table.name.lower()
            tw = names.table(table.name)
            texts = [humanize(table.name)]
            if tw is not None:
                texts += [tw.entity, tw.entities]
            self.table_phrases[tkey] = _phrases(texts)
            for column in table.columns:
                ckey = (tkey, column.name.lower())
                cw = names.column(table.name, column.name)
                texts = [humanize(column.name)]
                if column.readable_name:
                    texts.append(column.readable_name)
                if cw is not None:
                    # Not the role: "singer" names the singer table, not its key column.
                    texts += [t for t in (cw.noun, cw.passive, cw.flag, cw.participle) if t]
                    if cw.superlative:
                        self.superlatives[ckey] = tuple(cw.superlative)
                    self.kinds[ckey] = cw.kind
                self.column_phrases[ckey] = _phrases(texts)
                for text in texts:
                    low = " ".join(words(text))
                    if " " in low and question_cues(low) and low not in self.cue_names:
                        self.cue_names.append(low)
        # Longest first, so "average attendance" goes before "attendance".
        self.cue_names.sort(key=len, reverse=True)
        self._superlative_patterns = {
            key: re.compile(rf"\b(?:{re.escape(high)}|{re.escape(lowest)})\b")
            for key, (high, lowest) in self.superlatives.items()
        }
        # term -> the phrases holding it, so a question visits only the names it uses.
        self._phrases_with: dict[str, list[tuple[bool, Any, int]]] = {}
        for is_table, named in ((True, self.table_phrases), (False, self.column_phrases)):
            for key, phrases in named.items():
                for n, phrase in enumerate(phrases):
                    for term in phrase:
                        self._phrases_with.setdefault(term, []).append((is_table, key, n))

    def link(self, question_terms: Iterable[str], question: str = "") -> Links:
        """Link a question (its :func:`terms`, and its text for superlatives) to the schema."""
        present = set(question_terms)
        # "high schoolers" names the Highschooler table: join neighbouring words too.
        plain = words(question)
        present.update(stem(a + b) for a, b in zip(plain, plain[1:], strict=False))
        # How many words of each phrase the question uses (phrases hold each word once).
        used: dict[tuple[bool, Any, int], int] = {}
        for term in present:
            for entry in self._phrases_with.get(term, ()):
                used[entry] = used.get(entry, 0) + 1
        # The share of a name's words the question uses: "song name" is half named
        # by "name"; a name is only linked for sure when all its words are there.
        tables: dict[str, float] = {}
        columns: dict[tuple[str, str], float] = {}
        for (is_table, key, n), count in used.items():
            if is_table:
                tables[key] = max(tables.get(key, 0.0), count / len(self.table_phrases[key][n]))
            else:
                phrase = self.column_phrases[key][n]
                columns[key] = max(columns.get(key, 0.0), count / len(phrase))
        low = question.lower()
        for key, pattern in self._superlative_patterns.items():
            if pattern.search(low):
                columns[key] = max(columns.get(key, 0.0), 0.9)
        # In schema order, as every use of the links expects.
        return Links({t: tables[t] for t in self.table_phrases if t in tables},
                     {c: columns[c] for c in self.column_phrases if c in columns})  # fmt: skip


def _phrases(texts: Iterable[str]) -> list[tuple[str, ...]]:
    out = []
    for text in texts:
        phrase = tuple(dict.fromkeys(terms(text)))
        if phrase and phrase not in out:
            out.append(phrase)
    return out
