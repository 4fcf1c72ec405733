"""Readable English names for tables and columns.

``humanize("StuID")`` -> ``"student id"``, ``humanize("dept_name")`` ->
``"department name"``, ``plural("country")`` -> ``"countries"``. Used wherever
synthesis writes English about a schema (questions, chain-of-thought) and where
it checks that a question mentions what its SQL uses.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Abbreviations common in Spider, BIRD and production schemas.
ABBREVIATIONS = {
    "id": "id",
    "ids": "ids",
    "no": "number",
    "num": "number",
    "nbr": "number",
    "qty": "quantity",
    "amt": "amount",
    "avg": "average",
    "max": "maximum",
    "min": "minimum",
    "desc": "description",
    "descr": "description",
    "addr": "address",
    "dept": "department",
    "emp": "employee",
    "mgr": "manager",
    "stu": "student",
    "stuid": "student id",
    "prof": "professor",
    "crs": "course",
    "dob": "date of birth",
    "dt": "date",
    "yr": "year",
    "hrs": "hours",
    "pct": "percent",
    "perc": "percent",
    "cnt": "count",
    "tel": "telephone",
    "fname": "first name",
    "lname": "last name",
    "cust": "customer",
    "prod": "product",
    "acc": "account",
    "acct": "account",
    "loc": "location",
    "lat": "latitude",
    "lng": "longitude",
    "lon": "longitude",
    "pop": "population",
    "govt": "government",
    "info": "information",
    "src": "source",
    "dst": "destination",
    "dest": "destination",
    "org": "organization",
    "ref": "reference",
    "cat": "category",
    "temp": "temperature",
    "ht": "height",
    "wt": "weight",
    "sal": "salary",
    # Abbreviations seen in public schemas (Spider's car_1 "Edispl", BIRD's "abbrev")
    "edispl": "engine displacement",
    "displ": "displacement",
    "accel": "acceleration",
    "accelerate": "acceleration",
    "hp": "horsepower",
    "cyl": "cylinders",
    "mfr": "manufacturer",
    "mfg": "manufacturer",
    "mname": "middle name",
    "abbrev": "abbreviation",
    "indep": "independence",
    "pts": "points",
    "pos": "position",
    "bldg": "building",
    "apt": "apartment",
    "dist": "distance",
    "yrs": "years",
    "mins": "minutes",
    "secs": "seconds",
    "kms": "km",
    "approx": "approximate",
    "std": "standard",
    "natl": "national",
    "intl": "international",
    "corp": "corporation",
    "co": "company",
    "assoc": "association",
    "univ": "university",
    "lang": "language",
    "tot": "total",
    "est": "estimated",
}

# Words that keep their capitals when they are written as acronyms.
_ACRONYMS = {"id", "ids", "url", "gdp", "gnp", "isbn", "iata", "icao", "zip", "ssn", "gpa", "sku"}

_IRREGULAR_PLURALS = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "staff": "staff",
    "series": "series",
    "species": "species",
    "information": "information",
    "equipment": "equipment",
    "data": "data",
    "media": "media",
    "criteria": "criteria",
    "foot": "feet",
    "mouse": "mice",
    "goose": "geese",
    "tooth": "teeth",
    "analysis": "analyses",
    "crisis": "crises",
}
_IRREGULAR_SINGULARS = {v: k for k, v in _IRREGULAR_PLURALS.items()}
_UNCOUNTABLE = {
    "staff", "series", "species", "information", "equipment", "data", "media",
    "aircraft", "news", "sheep", "fish", "deer", "software", "furniture",
}  # fmt: skip

# camelCase / PascalCase / digit boundaries: "StuID" -> Stu ID, "tableName2" -> table Name 2.
_BOUNDARY = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])"
)


def words(identifier: str) -> list[str]:
    """Split an identifier into lower-case words, abbreviations left as they are."""
    return list(_words(identifier))


# A schema's few names are split again for every record that uses them.
@lru_cache(maxsize=65536)
def _words(identifier: str) -> tuple[str, ...]:
    parts: list[str] = []
    for chunk in re.split(r"[\s_\-./]+", identifier.strip().strip('"`[]')):
        if not chunk:
            continue
        parts.extend(p.lower() for p in _BOUNDARY.split(chunk) if p)
    return tuple(parts)


# Adjectives that schema names put last ("GNPOld", "price_new") and English first.
_TRAILING_ADJECTIVES = {"old", "new", "previous", "original", "current", "former"}
# Short pieces a split may leave that are still words of a name.
_SHORT_PIECES = {"id", "by", "of", "in", "on", "to", "at", "no"}


@lru_cache(maxsize=1)
def _word_costs() -> dict[str, float]:
    import wordninja  # English Wikipedia word frequencies; loaded on first use

    return wordninja.DEFAULT_LANGUAGE_MODEL._wordcost


@lru_cache(maxsize=65536)
def split_words(word: str) -> list[str]:
    """A run-together lower-case word split into English words (``"highschooler"`` ->
    ``["high", "schooler"]``, ``"countrylanguage"`` -> ``["country", "language"]``),
    by English word frequencies. Words the frequency list knows, abbreviations and
    splits that leave scraps (``"destairport"`` -> ``de st airport``) stay whole."""
    if len(word) < 7 or not word.isalpha() or word in ABBREVIATIONS or word in _word_costs():
        return [word]
    import wordninja

    parts = wordninja.split(word)
    if len(parts) < 2 or any(len(p) < 3 and p not in _SHORT_PIECES for p in parts):
        return [word]
    return parts


@lru_cache(maxsize=65536)
def humanize(identifier: str) -> str:
    """``"dept_name"`` -> ``"department name"``; ``"StuID"`` -> ``"student id"``;
    ``"Highschooler"`` -> ``"high schooler"``."""
    out: list[str] = []
    for word in words(identifier):
        out.extend(ABBREVIATIONS.get(piece, piece) for piece in split_words(word))
    if len(out) > 2 and out[-1] == "".join(w[0] for w in out[:-1]):
        out.pop()  # "pixel aspect ratio par": a trailing acronym of the words before it
    if len(out) == 2 and out[-1] in _TRAILING_ADJECTIVES and out[0] not in ("is", "has"):
        out.reverse()  # "GNPOld": "old gnp", as English puts the adjective first
    text = " ".join(out)
    # "student student id" from StuID in a student table reads badly; collapse repeats.
    return re.sub(r"\b(\w+) \1\b", r"\1", text)


def display(identifier: str) -> str:
    """:func:`humanize`, with acronyms in capitals (``"ISBN"``, ``"ID"``)."""
    return " ".join(w.upper() if w in _ACRONYMS else w for w in humanize(identifier).split())


def plural(noun: str) -> str:
    """English plural of the last word of ``noun``: ``"country"`` -> ``"countries"``."""
    if not noun:
        return noun
    head, _, last = noun.rpartition(" ")
    prefix = head + " " if head else ""
    low = last.lower()
    if low in _UNCOUNTABLE:
        return noun
    if low in _IRREGULAR_PLURALS:
        return prefix + _IRREGULAR_PLURALS[low]
    if low in _IRREGULAR_SINGULARS or is_plural(low):
        return noun
    if re.search(r"[^aeiou]y$", low):
        return prefix + last[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", low):
        return prefix + last + "es"
    return prefix + last + "s"


def singular(noun: str) -> str:
    """English singular of the last word of ``noun``: ``"countries"`` -> ``"country"``."""
    if not noun:
        return noun
    head, _, last = noun.rpartition(" ")
    prefix = head + " " if head else ""
    low = last.lower()
    if low in _UNCOUNTABLE:
        return noun
    if low in _IRREGULAR_SINGULARS:
        return prefix + _IRREGULAR_SINGULARS[low]
    if not is_plural(low):
        return noun
    if low.endswith("ies") and len(low) > 4:
        return prefix + last[:-3] + "y"
    if re.search(r"(ss|x|zz|ch|sh)es$", low) or low.endswith("sses"):
        return prefix + last[:-2]
    return prefix + last[:-1]


def is_plural(word: str) -> bool:
    """A guess good enough for table names: ``"singers"`` yes, ``"status"`` / ``"class"`` no."""
    low = word.lower()
    if low in _IRREGULAR_SINGULARS:
        return True
    if low in _UNCOUNTABLE or low in _IRREGULAR_PLURALS:
        return False
    return low.endswith("s") and not low.endswith(("ss", "us", "is", "ics", "ous")) and len(low) > 3


def entity(table: str) -> str:
    """The singular noun a table's rows are: ``"Student_Course_Attendance"`` ->
    ``"student course attendance"``, ``"singers"`` -> ``"singer"``."""
    return singular(humanize(table))


def entities(table: str) -> str:
    """The plural noun for a table's rows: ``"singer"`` -> ``"singers"``."""
    return plural(entity(table))
