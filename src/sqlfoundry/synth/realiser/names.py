"""What a schema's tables and columns are called in English, computed once per schema.

Tables become entities (``Student_Course_Attendance`` -> "student course
attendance"), columns become nouns relative to their table (``singer.Singer_Name``
-> "name"), foreign keys become roles (``flights.DestAirport`` -> "destination
airport"). BIRD-style readable column names win over the identifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from sqlfoundry.core.lru import per_object
from sqlfoundry.db.schema import Column, Schema, Table
from sqlfoundry.synth.naming import display as _naming_display
from sqlfoundry.synth.naming import humanize, words
from sqlfoundry.synth.realiser.grammar import plural_noun, singular_noun
from sqlfoundry.synth.realiser.lexicon import (
    BIRTH_SUPERLATIVES,
    DATE_SUPERLATIVES,
    PARTICIPLES,
    PLACE_PREPOSITIONS,
    SUPERLATIVES,
)

_DATE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_NUMBER_TEXT = re.compile(r"^-?\d+(?:\.\d+)?$")
_NUMBER_TYPES = ("int", "real", "num", "float", "double", "decimal", "dec", "money")
# Words at the end of a key column that name the key, not the thing: "author id" -> "author".
_KEY_WORDS = {"id", "ids", "code", "key", "no", "number", "num", "ref", "fk", "name"}
_NAME_NOUNS = {"name", "title", "full name"}
# Trailing words of a table name that say it is a collection: "cars_data" holds cars.
_COLLECTION_WORDS = {"data", "datum", "info", "information", "details", "list", "lists", "records",
                     "record", "table", "entries"}  # fmt: skip
# Acronyms beyond naming's own list.
_MORE_ACRONYMS = {"tv", "dvd", "cd", "usa", "uk", "eu", "api", "ip", "pc", "mpg", "vip", "ceo",
                  "gps", "sms", "pdf", "html", "nba", "nfl", "fifa", "ppt"}  # fmt: skip


def display(text: str) -> str:
    """naming.display, with a few more acronyms in capitals ("TV channel")."""
    out = _naming_display(text)
    if not any(w.lower() in _MORE_ACRONYMS for w in out.split()):
        return out
    return " ".join(w.upper() if w.lower() in _MORE_ACRONYMS else w for w in out.split())


_TIME_WORDS = {"date", "time", "year", "at", "on", "datetime", "timestamp", "day", "when"}
# Words that leave a measure the row's own: "unit price" is still the price of the row.
_MEASURE_MODIFIERS = {"unit", "total", "annual", "base", "average", "seat", "list", "retail",
                      "monthly", "net", "gross", "current", "max", "maximum", "in", "km", "mg", "surface",
                      "land", "floor"}  # fmt: skip
# "Directed_by" names the director.
_AGENTS = {"directed": "director", "written": "writer", "produced": "producer",
           "created": "creator", "owned": "owner", "made": "maker", "published": "publisher",
           "managed": "manager", "edited": "editor", "reported": "reporter", "built": "builder",
           "composed": "composer", "designed": "designer", "painted": "painter",
           "sung": "singer", "performed": "performer", "caused": "cause", "hosted": "host",
           "sponsored": "sponsor", "organized": "organizer", "organised": "organiser"}  # fmt: skip
# One-letter prefixes of name columns: "LName", "FName".
_NAME_LETTERS = {"f": "first", "l": "last", "m": "middle"}


@dataclass(frozen=True)
class ColumnWords:
    """How one column reads.

    Attributes:
        noun: the column relative to its own table ("name", "age", "ID").
        qualified: the column with its table, for use away from it ("singer age").
        kind: number, text, date, year or bool.
        key: the table's single-column primary key.
        fk: the referenced (table, column), when the column is a foreign key.
        role: what the referenced row is to this one ("author" for ``author_id``).
        name_like: the column names its row ("name", "title").
        participle: "born" for a birth date, "founded" for a founding year...
        superlative: adjectives for the highest and lowest value ("oldest", "youngest").
        place: "from" / "in" for place columns compared with a value.
        flag: "is controlled" for ``is_controlled``: a yes/no column.
        passive: "directed by" for a ``Directed_by`` column (its noun is "director").
        codes: what coded values mean, from a BIRD-style value description
            ("F: female; M: male" gives ``{"F": "female", "M": "male"}``).
    """

    table: str
    name: str
    noun: str
    qualified: str
    kind: str
    key: bool = False
    fk: tuple[str, str] | None = None
    role: str | None = None
    name_like: bool = False
    participle: str | None = None
    superlative: tuple[str, str] | None = None
    place: str | None = None
    flag: str | None = None
    passive: str | None = None
    nullable: bool = True
    codes: dict[str, str] = field(default_factory=dict)


@dataclass
class TableWords:
    table: Table
    entity: str
    entities: str
    columns: dict[str, ColumnWords] = field(default_factory=dict)
    name_column: str | None = None
    bridge: bool = False


class SchemaWords:
    """English for one schema's tables and columns; build with :func:`schema_words`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        vocabulary = _vocabulary(schema)
        self.tables: dict[str, TableWords] = {}
        plain = {t.name.lower(): _entity(t.name, vocabulary) for t in schema.tables}
        for table in schema.tables:
            entity = _without_collection_word(plain[table.name.lower()], plain.values())
            self.tables[table.name.lower()] = self._table_words(table, entity)
        for tw in self.tables.values():
            tw.bridge = self._is_bridge(tw)

    def table(self, name: str) -> TableWords | None:
        """The words of a table, by name in any case; None when unknown."""
        return self.tables.get(name.lower())

    def column(self, table: str, column: str) -> ColumnWords | None:
        """The words of a table's column, by names in any case; None when unknown."""
        tw = self.tables.get(table.lower())
        return tw.columns.get(column.lower()) if tw else None

    def fk_columns(self, child: str, parent: str) -> list[ColumnWords]:
        """The foreign keys of ``child`` that point at ``parent``."""
        tw = self.tables.get(child.lower())
        if tw is None:
            return []
        return [c for c in tw.columns.values() if c.fk and c.fk[0].lower() == parent.lower()]

    # ------------------------------------------------------------------ building

    def _table_words(self, table: Table, ent: str) -> TableWords:
        tw = TableWords(table=table, entity=ent, entities=plural_noun(ent))
        fks = {}
        for fk in table.foreign_keys:
            for col, ref in zip(fk.columns, fk.ref_columns or [None] * len(fk.columns),
                                strict=False):  # fmt: skip
                fks[col.lower()] = (fk.ref_table, ref or "")
        sole_pk = table.primary_key[0].lower() if len(table.primary_key) == 1 else None
        if sole_pk is None:
            sole_pk = next((c.name.lower() for c in table.columns if c.primary_key), None)
            if sum(c.primary_key for c in table.columns) != 1:
                sole_pk = None
        nouns = {c.name.lower(): _column_noun(c, ent, table.name) for c in table.columns}
        seen: dict[str, int] = {}
        for noun in nouns.values():
            seen[noun] = seen.get(noun, 0) + 1
        for c in table.columns:
            key = c.name.lower()
            noun = nouns[key]
            if seen[noun] > 1:  # two columns read the same once shortened: keep them whole
                noun = display(c.readable_name or humanize(c.name))
            fk = fks.get(key)
            tw.columns[key] = _column_words(table, c, noun, ent, fk, key == sole_pk)
        tw.name_column = next((c.name for c in tw.columns.values() if c.name_like), None)
        return tw

    def _is_bridge(self, tw: TableWords) -> bool:
        """A link table: foreign keys to exactly two tables and at most one other column."""
        targets = {c.fk[0].lower() for c in tw.columns.values() if c.fk}
        others = [c for c in tw.columns.values() if not c.fk and not c.key]
        return len(targets) == 2 and len(others) <= 1


def _vocabulary(schema: Schema) -> frozenset[str]:
    vocab: set[str] = set()
    for table in schema.tables:
        vocab.update(w for w in words(table.name) if len(w) >= 3)
        for c in table.columns:
            vocab.update(w for w in words(c.name) if len(w) >= 3)
    return frozenset(vocab)


def _segment(word: str, vocabulary: frozenset[str]) -> list[str] | None:
    """Split a run-together name ("countrylanguage") into words the schema uses elsewhere."""
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(3, n + 1):
        for start in range(0, end - 2):
            piece = word[start:end]
            if best[start] is not None and piece in vocabulary:
                candidate = best[start] + [piece]
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    result = best[n]
    return result if result and len(result) > 1 else None


@lru_cache(maxsize=4096)
def _entity_cached(name: str, vocabulary: frozenset[str]) -> str:
    text = humanize(name)
    parts = text.split()
    if len(parts) == 1 and len(parts[0]) >= 8:
        split = _segment(parts[0], vocabulary - {parts[0]})
        if split:
            text = " ".join(split)
    if text.startswith("has ") and len(text) > 4:
        text = text[4:]
    return singular_noun(text)


def _entity(name: str, vocabulary: frozenset[str]) -> str:
    return display(_entity_cached(name, vocabulary))


def _without_collection_word(entity: str, others) -> str:
    """ "cars data" -> "car", unless another table already reads "car"."""
    parts = entity.split()
    if len(parts) < 2 or parts[-1].lower() not in _COLLECTION_WORDS:
        return entity
    shorter = singular_noun(" ".join(parts[:-1]))
    if any(o.lower() == shorter.lower() for o in others):
        return entity
    return shorter


def _column_noun(column: Column, entity: str, table: str) -> str:
    base = column.readable_name or humanize(column.name)
    parts = base.lower().split()
    if len(parts) >= 2 and parts[0] in _NAME_LETTERS and parts[1] == "name":
        parts = [_NAME_LETTERS[parts[0]]] + parts[1:]
    ent = entity.lower().split()
    # "GName" in Video_Games: a one-letter clip of the entity before the noun.
    if (
        len(parts) >= 2
        and len(parts[0]) == 1
        and parts[0].isalpha()
        and any(word.startswith(parts[0]) for word in ent)
    ):
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == "number" and parts[1].endswith("s"):
        parts = ["number", "of", parts[1]]  # "Number_products" -> "number of products"
    # "ContId" in continents: a clipped entity name before the key word.
    if (
        len(parts) == 2
        and len(parts[0]) >= 3
        and ent
        and ent[0].startswith(parts[0])
        and (parts[0] != ent[0] and parts[1] in ("id", "code", "name", "no"))
    ):
        parts = parts[1:]
    # The entity's name, or its last words ("template type" in "reference template type").
    prefixes = [ent, plural_noun(entity).lower().split(), humanize(table).split()]
    prefixes += [ent[k:] for k in range(1, len(ent))]
    for prefix in prefixes:
        if len(parts) > len(prefix) and parts[: len(prefix)] == prefix:
            parts = parts[len(prefix) :]
            break
    if len(parts) > 2 and parts[-2] == "of" and parts[-1] in (ent[-1], plural_noun(ent[-1])):
        parts = parts[:-2]
    return display(" ".join(parts))


def _kind(column: Column, parts: list[str]) -> str:
    declared = column.type.lower()
    if "bool" in declared or (parts and parts[0] in ("is", "has") and len(parts) > 1):
        return "bool"
    if len(parts) > 1 and parts[-1] in ("yn", "flag", "ind"):
        return "bool"
    if "date" in declared or "time" in declared or "date" in parts:
        return "date"
    if parts and parts[-1] in ("dob", "birthday", "timestamp", "datetime", "at", "on"):
        return "date"
    if "year" in parts or "yr" in parts:
        return "year"
    if any(t in declared for t in _NUMBER_TYPES):
        return "number"
    if column.samples and all(isinstance(s, str) and _DATE_VALUE.match(s) for s in column.samples):
        return "date"
    if column.samples and all(
        isinstance(s, (int, float)) or (isinstance(s, str) and _NUMBER_TEXT.match(s))
        for s in column.samples
    ):
        return "number"  # numbers stored as text (Spider's car_1 horsepower) still rank as numbers
    return "text"


def _column_words(
    table: Table,
    column: Column,
    noun: str,
    entity: str,
    fk: tuple[str, str] | None,
    key: bool,
) -> ColumnWords:
    parts = humanize(column.name).split()
    low = noun.lower()
    kind = _kind(column, parts)
    noun_words = low.split()
    superlative = None
    participle = None
    if kind in ("date", "year"):
        participle = next((PARTICIPLES[w] for w in parts if w in PARTICIPLES), None)
        rest = set(noun_words) - _TIME_WORDS - set(PARTICIPLES)
        if participle == "born":
            superlative = BIRTH_SUPERLATIVES
        elif participle:
            superlative = (f"most recently {participle}", f"earliest {participle}")
        elif not rest:
            superlative = DATE_SUPERLATIVES
    elif kind == "number" and noun_words and set(noun_words[:-1]) <= _MEASURE_MODIFIERS:
        # Only a measure of the row itself: "age", "unit price"; not "winner age".
        last = {noun_words[-1]}
        superlative = next(((hi, lo) for stems, hi, lo in SUPERLATIVES if last & stems), None)
    # What a referenced row is to this one; computed for every column, since joins
    # on undeclared keys (Spider's flight_2) need it too.
    kept = list(parts)
    while kept and kept[-1] in _KEY_WORDS:
        kept.pop()
    if "by" in kept[:-1]:  # "caused_by_ship_id": the ship
        kept = kept[kept.index("by") + 1 :]
    role = display(singular_noun(" ".join(kept))) if kept and kept != parts or fk else None
    if role == "":
        role = None
    place = PLACE_PREPOSITIONS.get(low) if kind == "text" else None
    flag = None
    if kind == "bool" and parts[0] in ("is", "has"):
        flag = " ".join(parts)
    elif kind == "bool" and len(parts) > 1 and parts[-1] in ("yn", "flag", "ind"):
        flag = "is " + " ".join(parts[:-1])  # "abandoned_yn": "is abandoned"
    passive = None
    if kind == "text" and len(noun_words) == 2 and noun_words[1] == "by":
        passive = low  # "directed by": "cartoons directed by Ben Jones"
        noun = _AGENTS.get(noun_words[0], noun)
        low = noun.lower()
    if kind == "bool" and noun_words[:1] in (["is"], ["has"]) and len(noun_words) > 1:
        # A flag shown as a value: "the names and male flags", not "the names and is males".
        noun = " ".join(noun.split()[1:]) + " flag"
        low = noun.lower()
    elif kind == "bool" and len(noun_words) > 1 and noun_words[-1] in ("yn", "ind"):
        noun = " ".join(noun.split()[:-1]) + " flag"  # "abandoned_yn": "abandoned flag"
        low = noun.lower()
    name_like = kind == "text" and (low in _NAME_NOUNS or low == entity.lower())
    qualified = noun if low.startswith(entity.lower()) else f"{entity} {noun}"
    return ColumnWords(
        table=table.name,
        name=column.name,
        noun=noun,
        qualified=qualified,
        kind=kind,
        key=key,
        fk=fk,
        role=role,
        name_like=name_like,
        participle=participle,
        superlative=superlative,
        place=place,
        flag=flag,
        passive=passive,
        nullable=column.nullable and not column.primary_key,
        codes=value_codes(column.value_description),
    )


_CODE = re.compile(r"^\s*'?([A-Za-z0-9]{1,4})'?\s*[:=]\s*([A-Za-z][A-Za-z -]{1,30}?)\s*$")


def value_codes(description: str | None) -> dict[str, str]:
    """``"F: female; M: male"`` -> ``{"F": "female", "M": "male"}``: short codes a
    BIRD-style value description spells out. Empty when it spells out none."""
    if not description:
        return {}
    out = {}
    for part in re.split(r"[;,\n]", description):
        match = _CODE.match(part)
        if match is None:
            continue
        code, meaning = match.groups()
        if meaning.lower() != code.lower():
            out[code] = meaning.strip().lower()
    return out if len(out) >= 2 else {}


@per_object(512)
def schema_words(schema: Schema) -> SchemaWords:
    """The (cached) :class:`SchemaWords` of ``schema``."""
    return SchemaWords(schema)
