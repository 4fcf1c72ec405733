"""The offline consistency check: does a question talk about what its SQL does?

Two kinds of evidence, both read from the SQL tree (sqlglot) and the schema:

* **Mentions.** The question (with its external knowledge) should name the
  query's main table, the columns that carry meaning (selected and filtered
  ones; keys and join columns say nothing), and the literal values of its
  filters. Names are matched as English (``synth.naming.humanize``), singular or
  plural, by a light stemmer, by a few synonyms, and by the column's
  description; values by their words, numbers and dates in common forms. The
  share found is the coverage.
* **Contradictions.** What the question asks for must not clash with what the
  SQL computes: "how many" with no COUNT (nor a count-like column), "average"
  with no AVG, "highest/most" answered by an ascending order or MIN, "lowest/
  fewest" by a descending order or MAX ("oldest" and "latest" read by whether
  the ranked column is an age or a date), "descending" with an ascending sort.
  And the other way round: a number or quoted value the question states that
  the SQL never uses, a LIMIT with no ranking word in the question, an ORDER BY
  with no ordering word, a COUNT / AVG / SUM / MAX / MIN returned unasked.

:func:`check` returns both; the operator keeps a pair when there is no
contradiction and the coverage reaches its threshold. The word lists were tuned
on Spider dev and checked on Spider train, Spider-Realistic and BIRD mini-dev
(see the operator's module doc for the figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.sql.literals import with_literals
from sqlfoundry.sql.parse import read_tree
from sqlfoundry.synth.naming import humanize, singular, words

# ------------------------------------------------------------------ words

_STOP = frozenset(
    """a an the of in on at to for from by with and or is are was were be been do does did
    has have had what which who whom whose where when how many much all any each every
    that this these those their its there than then as it they them give show list find
    return tell me please also both either not no only some same different distinct
    number id ids code codes key name names type types value values info information
    detail details data record records""".split()
)
# Words that say little about which column is meant.
_WEAK = frozenset(
    {"id", "ids", "code", "key", "no", "number", "num", "name", "names", "type", "flag"}
)

_SYNONYMS = {
    "age": {"old", "older", "oldest", "young", "younger", "youngest", "aged"},
    "name": {"called", "named", "title"},
    "title": {"name", "called", "named"},
    "price": {"cost", "expensive", "cheap", "cheapest", "priced", "costly", "pay"},
    "cost": {"price", "expensive", "cheap", "cheapest", "costly", "pay", "paid"},
    "salary": {"earn", "earns", "paid", "pay", "wage", "income"},
    "earnings": {"earn", "earned", "money", "income"},
    "population": {"populous", "people", "populated", "inhabitants"},
    "sex": {"male", "female", "men", "women", "man", "woman", "gender", "boy", "girl"},
    "gender": {"male", "female", "men", "women", "man", "woman", "sex", "boy", "girl"},
    "weight": {"heavy", "heavier", "heaviest", "weigh", "weighs", "light", "lighter"},
    "height": {"tall", "taller", "tallest", "short", "shorter", "shortest"},
    "capacity": {"hold", "holds", "seats", "capacities", "accommodate"},
    "surface": {"area", "large", "big"},
    "area": {"large", "big", "size"},
    "year": {"when", "yearly", "annual"},
    "date": {"when", "day"},
    "city": {"where", "town", "located"},
    "country": {"where", "nation", "nationality", "located", "countries"},
    "nationality": {"country", "from", "citizen", "citizenship"},
    "citizenship": {"country", "citizen", "nationality"},
    "location": {"where", "located", "place"},
    "address": {"where", "live", "lives", "located"},
    "duration": {"long", "length", "time"},
    "length": {"long", "longest", "short", "shortest"},
    "horsepower": {"hp", "power"},
    "rating": {"rated", "stars", "score"},
    "rank": {"ranked", "ranking"},
    "language": {"speak", "spoken", "speaks"},
    "email": {"mail", "e-mail"},
    "phone": {"telephone", "call", "mobile", "cell"},
    "mobile": {"phone", "cell"},
    "description": {"describe", "described", "about"},
    "owner": {"own", "owns", "owned"},
    "winner": {"won", "win", "wins", "winning"},
    "birth": {"born"},
    "mpg": {"miles", "gallon", "fuel", "gasoline", "efficient"},
    "accelerate": {"acceleration", "accelerates"},
    "percentage": {"percent", "share", "proportion", "predominantly", "mostly", "main"},
    "loser": {"lost", "lose"},
}

# Abbreviations in column names that synth.naming leaves alone.
_MORE_ABBREVIATIONS = {"apt": "apartment", "bldg": "building", "dob": "birth", "yr": "year",
                       "amt": "amount", "dist": "distance", "pos": "position"}  # fmt: skip

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "thousand": 1000,
    "once": 1, "twice": 2, "single": 1, "dozen": 12,
}  # fmt: skip
_MONTHS = (
    "january february march april may june july august september october november december"
).split()
# Adjectives questions use for place values ("French singers" for country = 'France').
_DEMONYMS = {
    "france": "french", "germany": "german", "spain": "spanish", "italy": "italian",
    "china": "chinese", "japan": "japanese", "england": "english", "britain": "british",
    "united kingdom": "british", "netherlands": "dutch", "holland": "dutch",
    "greece": "greek", "sweden": "swedish", "norway": "norwegian", "denmark": "danish",
    "finland": "finnish", "poland": "polish", "turkey": "turkish", "ireland": "irish",
    "portugal": "portuguese", "switzerland": "swiss", "thailand": "thai",
    "united states": "american", "usa": "american", "us": "american", "mexico": "mexican",
    "canada": "canadian", "brazil": "brazilian", "korea": "korean", "india": "indian",
    "russia": "russian", "australia": "australian", "egypt": "egyptian",
}  # fmt: skip
_CODES = {
    "f": {"female", "females", "women", "woman", "girl", "girls"},
    "m": {"male", "males", "men", "man", "boy", "boys"},
}

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light stem: plural, -ing, -ed and -ly endings off (``engineering`` ->
    ``engineer``, ``countries`` -> ``country``)."""
    w = word.lower()
    if len(w) <= 3 or w.isdigit():
        return w
    w = singular(w)
    for suffix in ("ing", "ed", "ly"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            w = w[: -len(suffix)]
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


@lru_cache(maxsize=262144)
def _similar(a: str, b: str) -> bool:
    """Same stem, one word the start of the other (``citizen``/``citizenship``), or
    a likely typo of it (``countires``/``countries``)."""
    if a == b:
        return True
    sa, sb = stem(a), stem(b)
    if sa == sb:
        return True
    short, long_ = sorted((sa, sb), key=len)
    if len(short) >= 4 and long_.startswith(short) and len(long_) - len(short) <= 5:
        return True
    # "cardiologists" / "cardiology": a long shared beginning
    shared = len(_common_prefix(sa, sb))
    if shared >= 7 and shared >= 0.75 * len(short):
        return True
    return min(len(a), len(b)) >= 6 and a[0] == b[0] and SequenceMatcher(None, a, b).ratio() >= 0.85


@dataclass
class Text:
    """A question (plus its external knowledge) as tokens."""

    raw: str
    tokens: list[str]
    stems: set[str]
    question: str = ""  # the question alone, without the external knowledge
    evidence: str = ""

    @classmethod
    def of(cls, question: str, evidence: str | None = None) -> Text:
        """The question and its external knowledge as tokens and stems."""
        raw = f"{question} {evidence or ''}".lower()
        raw = raw.replace("’", "'")
        tokens = _TOKEN.findall(raw)
        return cls(
            raw, tokens, {stem(t) for t in tokens}, question.lower(), (evidence or "").lower()
        )

    def has_word(self, word: str) -> bool:
        """Whether the text holds ``word``: by stem, as a likely typo, split in two or run together."""
        word = word.lower()
        if stem(word) in self.stems:
            return True
        if len(word) < 4:
            return False
        if any(_similar(word, t) for t in self.tokens if len(t) >= 4):
            return True
        # "high schoolers" for "highschooler", "countrylanguage" for "country language"
        pairs = (a + b for a, b in zip(self.tokens, self.tokens[1:], strict=False))
        return any(_similar(word, p) for p in pairs) or self._compound(word)

    def _compound(self, word: str) -> bool:
        if len(word) < 8:
            return False
        for cut in range(4, len(word) - 3):
            head, tail = word[:cut], word[cut:]
            if stem(head) in self.stems and (stem(tail) in self.stems or self.has_word(tail)):
                return True
        return False

    def has_any(self, candidates) -> bool:
        """Whether the text holds any of ``candidates`` (see :meth:`has_word`)."""
        return any(self.has_word(c) for c in candidates)

    def has_phrase(self, phrase: str) -> bool:
        """Whether ``phrase`` occurs as whole words in the text."""
        # Most phrases are not there at all: the substring test spares building the pattern.
        return phrase in self.raw and re.search(rf"\b{re.escape(phrase)}\b", self.raw) is not None


def content_words(identifier: str) -> list[str]:
    """The words of a table or column name worth looking for in a question."""
    found = []
    parts = humanize(identifier).split() + words(identifier)
    parts += [_MORE_ABBREVIATIONS[w] for w in parts if w in _MORE_ABBREVIATIONS]
    for word in parts:
        if word not in _STOP and word not in _WEAK and len(word) > 1 and word not in found:
            found.append(word)
    return found


# ------------------------------------------------------------------ the SQL side


@dataclass
class ColumnUse:
    table: str
    column: str
    role: str  # "select" or "filter"
    values: list[str] = field(default_factory=list)  # literals it is compared with


@dataclass
class SqlFacts:
    """What a query reads, filters on and computes."""

    main_table: str | None = None
    tables: list[str] = field(default_factory=list)
    columns: list[ColumnUse] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    aggregates: set[str] = field(default_factory=set)  # anywhere in the query
    projected: set[str] = field(default_factory=set)  # aggregates in an outer SELECT list
    ranked_by: set[str] = field(default_factory=set)  # aggregates in ORDER BY / HAVING
    directions: set[str] = field(default_factory=set)  # "asc"/"desc" of ORDER BY terms
    limited_directions: set[str] = field(default_factory=set)  # with a LIMIT
    ranked_columns: list[str] = field(default_factory=list)  # ORDER BY and MAX/MIN columns
    used_columns: set[str] = field(default_factory=set)  # every column name read, as spelled
    literals: list[str] = field(default_factory=list)  # every literal, LIMIT counts included
    computed_average: bool = False  # SUM(...) / COUNT(...) and the like
    percent: bool = False  # the outer SELECT returns a value times 100
    counted: list[str] = field(default_factory=list)  # tables the outer COUNT(*) counts rows of


_AGGREGATES = (exp.Count, exp.Avg, exp.Sum, exp.Max, exp.Min)


def analyse_sql(sql: str, schema: Schema, dialect: str = "sqlite") -> SqlFacts:
    """Read the query's tables, meaningful columns, filter values, aggregates and order.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    # The tree the question generator's plan read: shared, so copied before any change.
    tree = with_literals(read_tree(sql, dialect), dialect)
    facts = SqlFacts()
    keys = _key_columns(schema)
    for select in tree.find_all(exp.Select):
        aliases = _aliases(select, schema)
        if facts.main_table is None and aliases:
            facts.main_table = next(iter(aliases.values()))
        for table in aliases.values():
            if table not in facts.tables:
                facts.tables.append(table)
        joins = _join_columns(select)
        for item in select.expressions:
            for col in item.find_all(exp.Column):
                _use(facts, select, col, aliases, schema, keys, joins, "select")
            # A conditional count or share filters inside the CASE: its values count.
            for case in item.find_all(exp.Case, exp.If):
                _filters(facts, select, case, aliases, schema, keys, joins)
        for clause in ("where", "having"):
            node = select.args.get(clause)
            if node is not None:
                _filters(facts, select, node, aliases, schema, keys, joins)
        order = select.args.get("order")
        if order is not None:
            limited = select.args.get("limit") is not None
            for term in order.expressions:
                direction = "desc" if term.args.get("desc") else "asc"
                facts.directions.add(direction)
                if limited:
                    facts.limited_directions.add(direction)
                for col in term.find_all(exp.Column):
                    facts.ranked_columns.append(col.name.lower())
    # One walk of the whole tree for what it reads everywhere; each list and set is
    # filled in the order of the walk, as one walk per kind of node would.
    for node in tree.walk():
        if isinstance(node, exp.Column):
            facts.used_columns.add(node.name)
        elif isinstance(node, exp.Literal):
            facts.literals.append(str(node.this))
        elif isinstance(node, _AGGREGATES):
            facts.aggregates.add(node.key)
            if node.key in ("max", "min"):
                facts.ranked_columns.extend(c.name.lower() for c in node.find_all(exp.Column))
        if isinstance(node, (exp.Order, exp.Having)):
            for agg in node.find_all(*_AGGREGATES):
                facts.ranked_by.add(agg.key)
    outer = tree
    while isinstance(outer, exp.SetOperation):
        outer = outer.this
    if isinstance(outer, exp.Select):
        for item in outer.expressions:
            agg = _bare_aggregate(item)
            if agg is not None:
                # SUM(CASE WHEN c THEN 1 ELSE 0 END) counts the rows where c holds.
                counts = isinstance(agg, exp.Sum) and agg.find(exp.Case, exp.If) is not None
                facts.projected.add("count" if counts else agg.key)
    if isinstance(outer, exp.Select):
        facts.percent = any(
            _is_number(lit.this) and float(lit.this) == 100
            for item in outer.expressions
            for mul in item.find_all(exp.Mul)
            for lit in (mul.this, mul.expression)
            if isinstance(lit, exp.Literal) and not lit.is_string
        )
        counts_rows = any(
            isinstance(agg, exp.Count) and not isinstance(agg.this, exp.Distinct)
            for item in outer.expressions
            if (agg := _bare_aggregate(item)) is not None
        )
        if counts_rows:
            facts.counted = list(_aliases(outer, schema).values())
    facts.computed_average = any(
        div.find(exp.Sum, exp.Count, exp.Avg) is not None for div in tree.find_all(exp.Div)
    )
    return facts


def _bare_aggregate(item: exp.Expression) -> exp.Expression | None:
    """The aggregate an output column is, through aliases, casts and rounding; None for
    arithmetic on aggregates (a ratio, a difference), whose words vary too much."""
    node = item
    while isinstance(node, (exp.Alias, exp.Cast, exp.Round, exp.Paren)):
        node = node.this
    return node if isinstance(node, (exp.Count, exp.Avg, exp.Sum, exp.Max, exp.Min)) else None


def _aliases(select: exp.Select, schema: Schema) -> dict[str, str]:
    """Alias or name -> schema table name, for this select's own base tables."""
    out = {}
    nodes = []
    if select.args.get("from_") is not None:
        nodes.append(select.args["from_"].this)
    nodes.extend(j.this for j in select.args.get("joins") or ())
    for node in nodes:
        if isinstance(node, exp.Table):
            table = schema.table(node.name)
            if table is not None:
                out[node.alias_or_name.lower()] = table.name
    return out


def _key_columns(schema: Schema) -> set[tuple[str, str]]:
    keys = set()
    for table in schema.tables:
        for col in table.primary_key:
            keys.add((table.name.lower(), col.lower()))
        for fk in table.foreign_keys:
            for col in fk.columns:
                keys.add((table.name.lower(), col.lower()))
    return keys


def _join_columns(select: exp.Select) -> set[int]:
    """ids of columns compared with another column (join keys say nothing)."""
    out = set()
    for eq in select.find_all(exp.EQ):
        if isinstance(eq.this, exp.Column) and isinstance(eq.expression, exp.Column):
            out.update({id(eq.this), id(eq.expression)})
    return out


def _owner(select, col: exp.Column, aliases, schema: Schema) -> str | None:
    if col.table:
        return aliases.get(col.table.lower())
    for table in aliases.values():
        found = schema.table(table)
        if found is not None and found.column(col.name) is not None:
            return table
    return None


def _use(facts, select, col, aliases, schema, keys, joins, role, values=()) -> None:
    if isinstance(col.this, exp.Star) or id(col) in joins:
        return
    table = _owner(select, col, aliases, schema)
    if table is None:
        return
    name = col.name.lower()
    if (table.lower(), name) in keys or _is_identifier(name):
        return
    for use in facts.columns:
        if use.table == table and use.column == name:
            use.values.extend(values)
            return
    facts.columns.append(ColumnUse(table, name, role, list(values)))


def _is_identifier(name: str) -> bool:
    parts = words(name)
    return bool(parts) and parts[-1] in ("id", "ids", "key", "pk", "fk")


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike,
                exp.In, exp.Between, exp.Is)  # fmt: skip


def _own(node: exp.Expression, select: exp.Select) -> bool:
    return node.find_ancestor(exp.Select) is select


def _filters(facts, select, node, aliases, schema, keys, joins) -> None:
    """Filtered columns, each with the literal values it is compared with."""
    for predicate in node.find_all(*_COMPARISONS):
        if not _own(predicate, select):
            continue
        texts = []
        for literal in predicate.find_all(exp.Literal):
            if not _own(literal, select):
                continue
            if literal.is_string:
                value = literal.this.strip("%_ ").strip()
                if value:
                    facts.strings.append(value)
                    texts.append(value)
            else:
                facts.numbers.append(literal.this)
                texts.append(literal.this)
        for col in predicate.find_all(exp.Column):
            if _own(col, select):
                _use(facts, select, col, aliases, schema, keys, joins, "filter", texts)


# ------------------------------------------------------------------ mentions


def _column_mentioned(text: Text, schema: Schema, use: ColumnUse) -> bool:
    """By its name, a synonym, its description, or the value it is compared with
    ("French singers" names ``country = 'France'``)."""
    if any(_value_mentioned(text, v) for v in use.values if not _is_number(v)):
        return True
    table = schema.table(use.table)
    column = table.column(use.column) if table else None
    names = content_words(column.name if column else use.column)
    if column is not None and column.readable_name:
        names += content_words(column.readable_name)
    if not names:
        return True  # nothing to look for: do not count it against the question
    if text.has_any(names):
        return True
    for name in names:
        if text.has_any(_SYNONYMS.get(name, ())):
            return True
    if column is not None and column.description:
        described = [w for w in content_words(column.description) if len(w) >= 4]
        if described and text.has_any(described[:4]):
            return True
    parts = set(humanize(use.column).split()) | set(words(use.column))
    # "full name" / "who" for first_name and last_name; "when" / "year" for dates
    if "name" in parts and parts & _NAME_PARTS and (text.has_word("name") or "who" in text.tokens):
        return True
    # "Which car maker ...?" asks for the maker's name (FullName), as people ask for names.
    if use.role == "select" and parts & {"name", "title"} and {"which", "who"} & set(text.tokens):
        return True
    return bool(parts & _DATE_WORDS) and bool(set(text.tokens) & {"when", "year", "date", "time"})


def _table_mentioned(text: Text, schema: Schema, table_name: str) -> bool:
    """By its name, its description, or the name of one of its columns (a question
    about "models" is about ``car_names`` when that table has ``model``)."""
    table = schema.table(table_name)
    names = content_words(table_name)
    if table is not None and table.description:
        names += [w for w in content_words(table.description) if len(w) >= 4][:4]
    if not names:
        return True
    if text.has_any(names) or any(text.has_any(_SYNONYMS.get(n, ())) for n in names):
        return True
    if table is None:
        return False
    column_words = {w for c in table.columns for w in content_words(c.name) if len(w) >= 4}
    return text.has_any(sorted(column_words))


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _value_mentioned(text: Text, value: str) -> bool:
    return _number_mentioned(text, value) if _is_number(value) else _string_mentioned(text, value)


def _string_mentioned(text: Text, value: str) -> bool:
    low = value.lower().strip()
    if low in _CODES:
        return text.has_any(_CODES[low]) or low in text.tokens
    if len(low) == 1 or low in ("t", "y", "n", "yes", "no", "true", "false"):
        return True  # flags and one-letter codes are rarely spelled out: no evidence either way
    if low in text.raw or _DEMONYMS.get(low, "\0") in text.tokens:
        return True
    squeezed = re.sub(r"[^a-z0-9]", "", low)
    if len(squeezed) >= 4 and squeezed in re.sub(r"[^a-z0-9]", "", text.raw):
        return True
    date = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?.*", low)
    if date:
        return _date_mentioned(text, date.group(1), date.group(2), date.group(3))
    tokens = [t for t in _TOKEN.findall(low) if t not in _STOP]
    if not tokens:
        return True
    found = sum(1 for t in tokens if t in text.tokens or text.has_word(t))
    return found * 2 >= len(tokens) if len(tokens) > 1 else found == 1


def _date_mentioned(text: Text, year: str, month: str, day: str | None) -> bool:
    if year in text.tokens:
        return True
    month_name = _MONTHS[int(month) - 1] if 1 <= int(month) <= 12 else ""
    return bool(month_name) and month_name in text.tokens


def _number_mentioned(text: Text, number: str) -> bool:
    try:
        value = float(number)
    except ValueError:
        return True
    if value in (0, 1):
        return True  # "any", "more than one", "at least once": usually implicit
    # "more than one" is ">= 2": small bounds may be off by one
    near = {value, value - 1, value + 1} if value.is_integer() and value <= 10 else {value}
    for token in text.tokens:
        try:
            if float(token) in near:
                return True
        except ValueError:
            if _NUMBER_WORDS.get(token) in near:
                return True
    # "more than one hundred", "1,000": compare without separators
    if number.replace(".0", "") in text.raw.replace(",", ""):
        return True
    # a percentage written 0.5 vs "50%", or a value the question rounds
    return value < 1 and str(round(value * 100)) in text.tokens


# ------------------------------------------------------------------ contradictions

# "number of" counts only after these words: "phone number of" names a column.
_COUNT_LEADS = frozenset(
    """the a total what which and with by count find show give list return tell is are
    their its his her largest smallest greatest highest most least fewest biggest lowest
    same different of in for""".split()
)
_COUNT_PHRASE = re.compile(r"(?:^|\b(\w+)\s+)(number|count) of\b|\bhow many\b|\bcount the\b")
_AVERAGE_WORDS = ("average", "averaged", "avg", "the mean", "mean of", "mean value")
_HIGH = ("highest", "most", "maximum", "max", "largest", "greatest", "biggest",
         "longest", "heaviest", "tallest", "best", "richest", "maximal", "most expensive")  # fmt: skip
_LOW = ("lowest", "least", "fewest", "minimum", "min", "smallest", "shortest", "lightest",
        "cheapest", "worst", "minimal", "poorest")  # fmt: skip
# Words whose direction depends on what is compared: dates, or ages.
_LATER = ("latest", "newest", "most recent", "youngest")
_EARLIER = ("earliest", "oldest", "eldest")
_OLDER = ("oldest", "eldest")
_YOUNGER = ("youngest",)
_DESCENDING = ("descending", "decreasing", "descend", "high to low", "highest to lowest",
               "largest to smallest", "most to least", "reverse alphabetical",
               "reverse order", "reversed", "alphabetically last", "last alphabetically",
               "last in alphabetical order")  # fmt: skip
_ASCENDING = ("ascending", "increasing", "alphabetical", "alphabetically", "low to high",
              "lowest to highest", "smallest to largest", "least to most")  # fmt: skip
_COUNTISH = ("count", "number", "num", "total", "amount", "quantity", "qty", "cnt")

# What a question says when its SQL ranks, sorts or aggregates (checked the other way:
# the SQL does something the question never asks for).
_NOT_SUPERLATIVE = frozenset(
    """interest interested request requested west test tests rest forest guest quest honest
    modest suggest nest contest protest digest manifest arrest pest chest""".split()
)
_RANKING = re.compile(
    r"\b(most|least|top|bottom|first|last|max|maximum|min|minimum|predominantly|mostly|"
    r"main|leading|majority|rank|ranked|ranking|\w+est|older|younger|more|less|fewer|higher|"
    r"lower|bigger|smaller|larger|earlier|later|faster|slower|longer|shorter|better|worse|"
    r"greater|heavier|lighter|taller|cheaper|richer)\b"
)
_ORDERING = re.compile(
    r"\b(order|ordered|ordering|sort|sorted|sorting|ascending|descending|alphabetical|"
    r"alphabetically|rank|ranked|ranking|decreasing|increasing|arranged|arrange)\b"
)
_ASKS = {
    "count": re.compile(r"\b(how many|numbers?|counts?|counted|total|amount|tally|quantity|"
                        r"frequency|times|often)\b"),
    "avg": re.compile(r"\b(average|averages|mean|avg)\b"),
    "sum": re.compile(r"\b(total|sum|combined|overall|altogether|together|how many|how much|"
                      r"in all|aggregate|entire|whole)\b"),
}  # fmt: skip


def _phrases(text: Text, phrases) -> list[str]:
    return [p for p in phrases if text.has_phrase(p)]


def _ranks(raw: str) -> bool:
    return any(m.group(1) not in _NOT_SUPERLATIVE for m in _RANKING.finditer(raw))


_NAME_PARTS = frozenset({"first", "last", "middle", "full", "given", "family", "sur", "fore"})
_DATE_WORDS = frozenset(
    """date time year day month founded built opened birth dob registered hired created
    creation established since when""".split()
)


def _kinds(facts: SqlFacts) -> set[str]:
    """ "date" and/or "age" when the ranked columns are dates/years or ages."""
    kinds = set()
    for column in facts.ranked_columns:
        parts = set(words(column)) | set(humanize(column).split())
        if parts & _DATE_WORDS:
            kinds.add("date")
        if "age" in parts:
            kinds.add("age")
    return kinds


@dataclass(frozen=True)
class Contradiction:
    """A clash between question and SQL: ``kind`` is one of a few fixed sentences
    (reject reasons are counted by their text); ``detail`` says what was seen."""

    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


COUNTS_NOTHING = "asks to count but the SQL counts nothing"
NO_AVERAGE = "asks for an average but the SQL computes none"
TAKES_LOWEST = "asks for the highest but the SQL takes the lowest"
TAKES_HIGHEST = "asks for the lowest but the SQL takes the highest"
SORTS_ASCENDING = "asks for descending order but the SQL sorts ascending"
SORTS_DESCENDING = "asks for ascending order but the SQL sorts descending"
UNUSED_VALUE = "states a value the SQL does not use"
UNASKED_RANKING = "the SQL keeps only the top rows but the question asks for no ranking"
UNASKED_ORDER = "the SQL sorts but the question asks for no order"
UNASKED_AGGREGATE = "the SQL returns an aggregate the question does not ask for"
UNASKED_PERCENT = "the SQL returns a percentage the question does not ask for"
COUNTS_OTHER = "asks to count something the SQL does not count"
OTHER_COLUMN = "asks for a column the SQL does not return"


def contradictions(text: Text, facts: SqlFacts, schema: Schema) -> list[Contradiction]:
    """The clashes between what the question asks and what the SQL computes."""
    found: list[Contradiction] = []
    raw = _without_bounds(text.raw)
    clean = Text(raw, text.tokens, text.stems)
    counting = _counting(raw)
    if counting and not facts.aggregates & {"count", "sum"} and not _count_like(facts, text):
        found.append(Contradiction(COUNTS_NOTHING, counting))
    averaging = _phrases(clean, _AVERAGE_WORDS)
    if (
        averaging
        and "avg" not in facts.aggregates
        and not facts.computed_average
        and not _column_says(facts, ("average", "avg", "mean"))
        and averaging[0] not in text.evidence  # the external knowledge maps it to a column
    ):
        found.append(Contradiction(NO_AVERAGE, averaging[0]))
    high, low = _phrases(clean, _HIGH), _phrases(clean, _LOW)
    kinds = _kinds(facts)
    if "date" in kinds:
        high, low = high + _phrases(clean, _LATER), low + _phrases(clean, _EARLIER)
    elif "age" in kinds:
        high, low = high + _phrases(clean, _OLDER), low + _phrases(clean, _YOUNGER)
    ups = facts.aggregates & {"max"} or facts.limited_directions & {"desc"}
    downs = facts.aggregates & {"min"} or facts.limited_directions & {"asc"}
    if high and not low and downs and not ups:
        found.append(Contradiction(TAKES_LOWEST, high[0]))
    if low and not high and ups and not downs:
        found.append(Contradiction(TAKES_HIGHEST, low[0]))
    desc, asc = _phrases(clean, _DESCENDING), _phrases(clean, _ASCENDING)
    if desc and not asc and facts.directions == {"asc"}:
        found.append(Contradiction(SORTS_ASCENDING, desc[0]))
    if asc and not desc and facts.directions == {"desc"}:
        found.append(Contradiction(SORTS_DESCENDING, asc[0]))
    # The other way round: the question states what the SQL ignores, or the SQL
    # ranks, sorts or aggregates unasked. Numbers inside names count as used
    # ("Enrollment (K-12)"), and so do values the external knowledge explains.
    known = facts.literals + sorted(facts.used_columns) + ([text.evidence] if text.evidence else [])
    for value in _question_values(text.question):
        if not _in_literals(value, known):
            found.append(Contradiction(UNUSED_VALUE, value))
            break
    if facts.limited_directions and not _ranks(raw):
        found.append(Contradiction(UNASKED_RANKING))
    elif facts.directions and not facts.limited_directions and not _ORDERING.search(raw):
        found.append(Contradiction(UNASKED_ORDER))
    # An aggregate the query also ranks or filters by is the measure behind "most
    # invoices" or "at least 3 languages": the question names it that way.
    for aggregate in ("count", "avg", "sum", "max", "min"):
        if aggregate not in facts.projected:
            continue
        if aggregate in facts.ranked_by and (_ranks(raw) or aggregate == "count"):
            continue
        asked = _ranks(raw) if aggregate in ("max", "min") else _ASKS[aggregate].search(raw)
        if not asked:
            found.append(Contradiction(UNASKED_AGGREGATE, f"{aggregate.upper()}(...)"))
    if facts.percent and not _PERCENT_WORDS.search(raw):
        found.append(Contradiction(UNASKED_PERCENT))
    other = _counted_other(text, facts, schema)
    if other is not None:
        found.append(Contradiction(COUNTS_OTHER, other))
    asked = _other_column(text, facts, schema)
    if asked is not None:
        found.append(Contradiction(OTHER_COLUMN, asked))
    return found


_PERCENT_WORDS = re.compile(r"\b(percent|percentage|percentages|per cent)\b|%")
_COUNTED = re.compile(
    r"\b(?:how many|number of|count of|count the)\s+(?:the\s+|different\s+|distinct\s+|unique\s+)*"
    r"([a-z0-9]+(?:\s+[a-z]+)?)"
)


def _counted_other(text: Text, facts: SqlFacts, schema: Schema) -> str | None:
    """The noun a counting question counts, when the SQL counts the rows of another
    table: "how many authors" over ``FROM books``, "the number of 1s"."""
    if not facts.counted:
        return None
    match = _COUNTED.search(text.question)
    if match is None or re.search(r"\b(different|distinct|unique)\b", match.group(0)):
        return None  # COUNT(DISTINCT fk) counts the rows a key refers to
    noun = match.group(1).split()[0]
    if noun[0].isdigit():
        return noun  # "the number of 1s": a constant, not a thing
    if stem(noun) in _STOP or noun in _STOP:
        return None
    counted = {t.lower() for t in facts.tables}
    for table in schema.tables:
        if table.name.lower() in counted:
            continue
        names = content_words(table.name)
        names_other = names and any(_similar(noun, w) for w in names[-1:])
        # A table the query does not read; the counted rows are something else.
        if names_other and not any(
            _similar(noun, w) for t in facts.tables for w in content_words(t)
        ):
            return noun
    return None


def _other_column(text: Text, facts: SqlFacts, schema: Schema) -> str | None:
    """A column the question asks for ("the cities of airports") when the SQL returns
    another column of that table, which the question never names."""
    selected = [u for u in facts.columns if u.role == "select" and not u.values]
    if not selected or facts.projected:
        return None
    missing = [u for u in selected if not _column_mentioned(text, schema, u)]
    if not missing:
        return None
    table = schema.table(missing[0].table)
    if table is None:
        return None
    used = {c.lower() for c in facts.used_columns}
    request = re.search(r"\b(?:what (?:are|is|were|was)|list|show|give|find|return|tell me)\s+"
                        r"(?:me\s+)?(?:all\s+)?the\s+([a-z ]+?)\s+of\b", text.question)  # fmt: skip
    if request is None:
        return None
    asked = request.group(1).split()
    for column in table.columns:
        if column.name.lower() in used or column.primary_key:
            continue
        names = content_words(column.name)
        if names and all(any(_similar(n, a) for a in asked) for n in names):
            return column.name
    return None


def _counting(raw: str) -> str | None:
    """The counting phrase of a question ("how many", "number of"), if it has one."""
    for match in _COUNT_PHRASE.finditer(raw):
        lead = match.group(1)
        if match.group(2) and lead is not None and lead not in _COUNT_LEADS:
            continue
        return match.group(0).strip().removeprefix(lead or "").strip()
    return None


_QUOTED = re.compile(r"""(?:^|[\s(])(?:'([^']{2,40})'|"([^"]{2,40})"|``\s*([^`']{2,40}?)\s*'')""")
# Numbers, not times of day (0:01:54) nor digits glued to words.
_NUMBER = re.compile(r"(?<![\w.,$:])(\d+(?:\.\d+)?)(?![\w.:]\w|:)")


def _question_values(raw: str) -> list[str]:
    """Numbers and quoted strings the question states."""
    values = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(raw)]
    return values + [m.group(1) for m in _NUMBER.finditer(raw)]


def _in_literals(value: str, literals: list[str]) -> bool:
    low = value.lower().strip()
    if _is_number(low):
        number = float(low)
        for literal in literals:
            if low in literal:
                return True
            # "over 19" is ">= 20": integer bounds may be off by one
            if _is_number(literal) and (
                float(literal) == number
                or (number.is_integer() and abs(float(literal) - number) <= 1)
            ):
                return True
        return False
    squeezed = re.sub(r"\s+", " ", low)
    return any(squeezed in re.sub(r"\s+", " ", lit.lower()) or
               re.sub(r"\s+", " ", lit.lower()).strip("% ") in squeezed for lit in literals)  # fmt: skip


def _without_bounds(raw: str) -> str:
    # "at least 3" and "at most 5" are bounds, not superlatives
    return re.sub(r"\bat (least|most)\b", "at_bound", raw)


def _column_says(facts: SqlFacts, hints) -> bool:
    return any(
        any(h in words(c) or h in humanize(c).split() for h in hints) for c in facts.used_columns
    )


def _count_like(facts: SqlFacts, text: Text) -> bool:
    """A stored count answers "how many": a count-like column, or the thing counted is a
    column the query reads ("how many cylinders" -> ``cylinders``)."""
    if _column_says(facts, _COUNTISH):
        return True
    for match in re.finditer(r"\b(?:how many|number of)\s+(?:the\s+)?([a-z]+)", text.raw):
        noun = match.group(1)
        for column in facts.used_columns:
            if any(_similar(noun, w) for w in humanize(column).split()):
                return True
    return False


# ------------------------------------------------------------------ the verdict


@dataclass
class Verdict:
    coverage: float
    found: dict[str, list[str]]
    missing: dict[str, list[str]]
    contradictions: list[Contradiction]

    def to_meta(self) -> dict:
        """The verdict as plain data for a record's ``meta``."""
        return {
            "method": "heuristic",
            "coverage": round(self.coverage, 3),
            "found": {k: v for k, v in self.found.items() if v},
            "missing": {k: v for k, v in self.missing.items() if v},
            "contradictions": [str(c) for c in self.contradictions],
        }


def check(
    question: str,
    evidence: str | None,
    sql: str,
    schema: Schema,
    dialect: str = "sqlite",
    *,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.5),
) -> Verdict:
    """Mentions and contradictions of one question/SQL pair.

    Args:
        weights: the weight of the main table, of each column and of each value in
            the coverage.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    facts = analyse_sql(sql, schema, dialect)
    text = Text.of(question, evidence)
    found: dict[str, list[str]] = {"tables": [], "columns": [], "values": []}
    missing: dict[str, list[str]] = {"tables": [], "columns": [], "values": []}
    w_table, w_column, w_value = weights
    total = got = 0.0
    if facts.tables:
        hit = next((t for t in facts.tables if _table_mentioned(text, schema, t)), None)
        total += w_table
        if hit is not None:
            got += w_table
            found["tables"].append(hit)
        else:
            missing["tables"].append(facts.main_table or facts.tables[0])
    for use in facts.columns:
        total += w_column
        label = f"{use.table}.{use.column}"
        if _column_mentioned(text, schema, use):
            got += w_column
            found["columns"].append(label)
        else:
            missing["columns"].append(label)
    for value in dict.fromkeys(facts.strings):
        total += w_value
        if _string_mentioned(text, value):
            got += w_value
            found["values"].append(value)
        else:
            missing["values"].append(value)
    for number in dict.fromkeys(facts.numbers):
        total += w_value
        if _number_mentioned(text, number):
            got += w_value
            found["values"].append(number)
        else:
            missing["values"].append(number)
    coverage = got / total if total else 1.0
    return Verdict(coverage, found, missing, contradictions(text, facts, schema))
