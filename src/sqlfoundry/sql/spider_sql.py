"""Spider's structured form of a query, read the way the official scorer reads it.

The exact-set-match metric (taoyds/spider and taoyds/test-suite-sql-eval
``evaluation.py``) does not compare SQL text or SQL trees: it compares the
structure its own token-level parser (``process_sql.py``) builds. Which queries
that parser accepts, and what it makes of them, depends on details a SQL
grammar does not see, so a verdict can only be reproduced by reading the query
the same way:

* **Whitespace matters.** Words come from NLTK's word tokenizer. It splits off
  brackets, ``< >``, ``*``, ``!``, ``;`` and a comma before a non-digit, but not ``=``,
  ``+``, ``-`` or ``.``. So ``age=30`` is one word, which is no column, and the
  query is rejected; ``T1.name`` is one word, which is how qualified columns
  are read.
* **Quotes pair up in order**, single and double alike, whatever SQL would say
  about them. An odd number of quote characters rejects the query.
* **Reading is forgiving in some places and strict in others.** Anything after
  a complete query is ignored. A comparison whose right side is a column eats
  the words up to the next ``AND`` or clause keyword, so ``a = T2.b OR c = 1``
  keeps only the first comparison. ``FROM a, b``, ``LEFT JOIN``, ``AS`` on a
  subquery or in the select list, ``IS NULL``, ``IN (1, 2)``, parenthesised
  conditions and an alias that is also a table name are all rejected.
* ``A UNION B UNION C`` nests to the right, and ORDER BY / LIMIT written after a
  set operation belong to its last branch.

So this module reads a query in exactly that way. It does not use sqlglot,
because sqlglot's tokens and tree have already dropped the spacing and quote
pairing that decide these verdicts. The words come from
:func:`official_tokens`, and :func:`read_spider_sql` builds the structure from
them. The structure keeps the official field shapes (tuples with the same
operator ids, conditions as flat ``[unit, 'and', unit, ...]`` sequences), so the
comparisons in :mod:`sqlfoundry.sql.exact_match` behave as the official ones do,
including where the official scorer crashes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlfoundry.core.errors import InputError, SqlfoundryError
from sqlfoundry.core.io import input_name, read_text

# Operator ids, as numbered by the official scorer (they are compared, so they must agree).
AGG_OPS = ("none", "max", "min", "count", "sum", "avg")
UNIT_OPS = ("none", "-", "+", "*", "/")
WHERE_OPS = ("not", "between", "=", ">", "<", ">=", "<=", "!=", "in", "like", "is", "exists")
CLAUSE_KEYWORDS = frozenset(
    ("select", "from", "where", "group", "order", "limit", "intersect", "union", "except")
)
JOIN_KEYWORDS = frozenset(("join", "on", "as"))
SET_OPS = ("intersect", "union", "except")
ORDER_DIRECTIONS = ("desc", "asc")

STAR = "__all__"

# Column unit: (aggregate id, column id, distinct). Value unit: (arithmetic op id,
# column unit, second column unit or None). Condition unit: (negated, operator id,
# value unit, value, second value for BETWEEN). A value is a float, a quoted
# string, a column unit or a nested query.
ColUnit = tuple[int, str, Any]
ValUnit = tuple[int, ColUnit, ColUnit | None]
CondUnit = tuple[bool, int, ValUnit, Any, Any]
# A condition alternates units and 'and' / 'or' as they were read. When two
# comparisons follow each other with no connector, they sit side by side, exactly
# as in the official structure.
Condition = tuple[Any, ...]
# ("table_unit", table id) or ("sql", SpiderSQL).
TableUnit = tuple[str, Any]

# Which official scorer to follow: taoyds/test-suite-sql-eval or taoyds/spider.
Variant = Literal["test-suite", "spider"]


class SpiderSQLError(SqlfoundryError):
    """The official Spider parser would reject this query."""


class SpiderSchema:
    """The schema as the official scorer sees it: lower-cased names plus foreign-key classes.

    Build it with :meth:`from_tables_json` (a ``tables.json`` entry) or
    :meth:`from_sqlite` (the database file, which is what the official scorer
    reads; for the Spider databases both give the same tables and columns).

    Attributes:
        db_id: the database id.
        tables: table name -> column names, lower-cased, in schema order.
        foreign_key_map: column id (``__table.column__``) -> the id that stands for
            its foreign-key class: the official ``build_foreign_key_map`` result.
    """

    __slots__ = ("db_id", "tables", "foreign_key_map", "id_map", "_valid_columns")

    def __init__(
        self,
        db_id: str,
        tables: Mapping[str, tuple[str, ...] | list[str]],
        foreign_key_map: Mapping[str, str] | None = None,
    ) -> None:
        self.db_id = db_id
        self.tables: dict[str, tuple[str, ...]] = {
            name.lower(): tuple(col.lower() for col in cols) for name, cols in tables.items()
        }
        self.foreign_key_map: dict[str, str] = dict(foreign_key_map or {})
        # name -> id, columns first and tables second, so a table name wins a clash.
        id_map = {"*": STAR}
        for table, columns in self.tables.items():
            for column in columns:
                id_map[f"{table}.{column}"] = f"__{table}.{column}__"
        for table in self.tables:
            id_map[table] = f"__{table}__"
        self.id_map: dict[str, str] = id_map
        self._valid_columns: dict[tuple[str, ...], frozenset[str]] = {}

    @classmethod
    def from_tables_json(cls, entry: Mapping[str, Any]) -> SpiderSchema:
        """Build from one ``tables.json`` entry (``table_names_original``, ...)."""
        try:
            table_names = entry["table_names_original"]
            tables: dict[str, list[str]] = {name.lower(): [] for name in table_names}
            for table_index, column in entry["column_names_original"]:
                if table_index >= 0:
                    tables[table_names[table_index].lower()].append(column)
            fk_map = foreign_key_map(entry)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InputError(
                f"not a Spider tables.json entry: {exc!r}", db_id=entry.get("db_id")
            ) from None
        return cls(entry.get("db_id", ""), tables, fk_map)

    @classmethod
    def from_sqlite(cls, path: str | Path, entry: Mapping[str, Any] | None = None) -> SpiderSchema:
        """Read tables and columns from a SQLite file, as the official ``get_schema`` does.

        Args:
            path: the database file (opened read-only).
            entry: its ``tables.json`` entry, for the foreign keys; without it no
                columns are treated as equivalent.
        """
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True)
        try:
            names = [
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            tables = {}
            for name in names:
                quoted = name.replace("'", "''")
                rows = conn.execute(f"PRAGMA table_info('{quoted}')").fetchall()
                tables[name.lower()] = [row[1] for row in rows]
        finally:
            conn.close()
        fk_map = foreign_key_map(entry) if entry is not None else {}
        db_id = entry.get("db_id", "") if entry is not None else Path(path).stem
        return cls(db_id, tables, fk_map)

    def valid_columns(self, table_ids: tuple[str, ...]) -> frozenset[str]:
        """The column ids of the given tables: the only ones foreign-key equivalence applies to."""
        cached = self._valid_columns.get(table_ids)
        if cached is None:
            if len(self._valid_columns) > 4096:  # predictions can name any mix of tables
                self._valid_columns.clear()
            prefixes = {table_id[:-2] for table_id in table_ids}
            cached = frozenset(
                value
                for value in self.id_map.values()
                if "." in value and value[: value.index(".")] in prefixes
            )
            self._valid_columns[table_ids] = cached
        return cached

    def __repr__(self) -> str:
        return f"SpiderSchema({self.db_id!r}, {len(self.tables)} tables)"


def foreign_key_map(entry: Mapping[str, Any]) -> dict[str, str]:
    """Foreign-key classes of a ``tables.json`` entry, as the official scorer builds them.

    Each foreign-key pair joins the first class that already holds either of its
    columns (classes are not merged further), and every column of a class maps to
    the column of the class with the lowest index.

    Returns:
        column id (``__table.column__``) -> the class representative's id.
    """
    table_names = entry["table_names_original"]
    ids = [
        f"__{table_names[t].lower()}.{c.lower()}__" if t >= 0 else STAR
        for t, c in entry["column_names_original"]
    ]
    classes: list[set[int]] = []
    for left, right in entry["foreign_keys"]:
        target = next((c for c in classes if left in c or right in c), None)
        if target is None:
            target = set()
            classes.append(target)
        target.update((left, right))
    mapping: dict[str, str] = {}
    for members in classes:
        representative = ids[min(members)]
        for index in sorted(members):
            mapping[ids[index]] = representative
    return mapping


def load_spider_schemas(tables_json: str | Path) -> dict[str, SpiderSchema]:
    """Every schema of a Spider ``tables.json``, by ``db_id``."""
    try:
        entries = json.loads(read_text(tables_json))  # ``-``: standard input
    except ValueError as exc:
        raise InputError(f"cannot read tables.json: {exc}", file=input_name(tables_json)) from None
    return {entry["db_id"]: SpiderSchema.from_tables_json(entry) for entry in entries}


@dataclass(eq=True, slots=True)
class SpiderSQL:
    """One query (or one branch of a set operation) in the official structure.

    Like the official dict, it is compared field by field, cannot be hashed and
    cannot be ordered; the scorer's behaviour depends on all three.

    Attributes:
        select: (distinct, ((aggregate id, value unit), ...)); ``distinct`` becomes
            None once the scorer drops DISTINCT.
        from_tables: table units in FROM order.
        from_conds: the ON conditions of all joins, joined by 'and'.
        where, having: conditions (see :data:`Condition`).
        group_by: column units.
        order_by: None, or (direction, value units); one direction for all keys,
            the last one written.
        limit: None, or the limit (always 1 under the test-suite rule).
        intersect, union, except_: the next branch of a set operation.
    """

    select: tuple[Any, tuple[tuple[int, ValUnit], ...]] = (False, ())
    from_tables: tuple[TableUnit, ...] = ()
    from_conds: Condition = ()
    where: Condition = ()
    group_by: tuple[ColUnit, ...] = ()
    having: Condition = ()
    order_by: tuple[str, tuple[ValUnit, ...]] | None = None
    limit: int | None = None
    intersect: SpiderSQL | None = None
    except_: SpiderSQL | None = None
    union: SpiderSQL | None = None

    def set_branch(self, op: str) -> SpiderSQL | None:
        """The INTERSECT, UNION or EXCEPT query ``op`` names, or None."""
        return getattr(self, "except_" if op == "except" else op)


# -------------------------------------------------------------------- tokenizer

# NLTK's word tokenizer puts spaces around these wherever they are.
_ALWAYS_SPLIT = frozenset("«“‘„»”’;@#$%&?!*[](){}<>\u2012\u2013\u2014\u2015")
_SPLIT_OR_COMMA = _ALWAYS_SPLIT | frozenset("`,:")
# What may follow the period NLTK splits off the end of the text.
_FINAL_PERIOD_TAIL = frozenset("])}>\"'»”’ ")
# NLTK splits these words after their third letter ("cannot" -> "can not") when they
# stand alone; "wanna" only before a space, which every word end is once NLTK has
# padded the text.
_CONTRACTIONS = frozenset(("cannot", "gimme", "gonna", "gotta", "lemme", "wanna"))


def official_tokens(sql: str) -> list[str]:
    """The words the official parser reads ``sql`` as.

    String literals (single or double quoted; quotes pair up in order) come back
    whole, with double quotes; everything else is lower-cased.

    Raises:
        SpiderSQLError: an odd number of quote characters.
    """
    text = sql.replace("'", '"')
    quotes = []
    position = text.find('"')
    while position >= 0:
        quotes.append(position)
        position = text.find('"', position + 1)
    if len(quotes) % 2:
        raise SpiderSQLError("unexpected quote: quote characters do not pair up", sql=sql)
    values: dict[str, str] = {}
    if quotes:
        parts = []
        end = 0
        for start, stop in zip(quotes[::2], quotes[1::2], strict=True):
            # A placeholder made of word characters, so it joins neighbouring
            # letters into one word exactly as the official placeholder does.
            key = f"__val_{start}_{stop}__"
            values[key] = text[start : stop + 1]
            parts.append(text[end:start])
            parts.append(key)
            end = stop + 1
        parts.append(text[end:])
        text = "".join(parts)
    tokens = [word.lower() for word in _nltk_words(text)]
    if values:
        tokens = [values.get(token, token) for token in tokens]
    return _join_comparisons(tokens)


def _join_comparisons(tokens: list[str]) -> list[str]:
    """Rejoin ``!`` / ``>`` / ``<`` with a following ``=`` word.

    Positions are taken once and handled from the right; the one before position
    0 is the last word, as in the official code.
    """
    for index in reversed([i for i, token in enumerate(tokens) if token == "="]):
        before = tokens[index - 1]
        if before in ("!", ">", "<"):
            tokens = tokens[: index - 1] + [before + "="] + tokens[index + 1 :]
    return tokens


def _final_period(text: str) -> int:
    """Index of the period NLTK splits off the end of ``text``, or -1."""
    index = text.rfind(".")
    if index <= 0 or text[index - 1] == ".":
        return -1
    end = index + 1
    while end < len(text) and text[end] in _FINAL_PERIOD_TAIL:
        end += 1
    while end < len(text) and text[end].isspace():
        end += 1
    return index if end == len(text) else -1


def _nltk_words(text: str) -> list[str]:
    """``nltk.word_tokenize(text, preserve_line=True)`` for text without quote characters.

    NLTK pads some characters with spaces, one rule after another, and splits
    on whitespace. Without quotes in the text the rules do not interact, so
    deciding in one pass where words break gives the same words.
    """
    final_period = _final_period(text)
    if final_period >= 0:
        text = f"{text[:final_period]} . {text[final_period + 1 :]}"
    words: list[str] = []
    for chunk in text.split():
        if _SPLIT_OR_COMMA.isdisjoint(chunk) and ".." not in chunk and "--" not in chunk:
            words.append(chunk)
        else:
            _split_chunk(chunk, words)
    lowered = text.lower()
    if any(contraction in lowered for contraction in _CONTRACTIONS):
        words = [piece for word in words for piece in _split_contractions(word)]
    return words


def _split_chunk(chunk: str, words: list[str]) -> None:
    """Append the words of one whitespace-free ``chunk``."""
    word: list[str] = []
    n = len(chunk)
    i = 0

    def cut() -> None:
        if word:
            words.append("".join(word))
            word.clear()

    while i < n:
        char = chunk[i]
        if char in _ALWAYS_SPLIT:
            cut()
            words.append(char)
            i += 1
        elif char == "`":
            # A run of backticks is padded, then split again into pairs.
            run = 1
            while i + run < n and chunk[i + run] == "`":
                run += 1
            cut()
            words.extend(["``"] * (run // 2) + ["`"] * (run % 2))
            i += run
        elif char in ",:":
            if i + 1 < n and chunk[i + 1].isdecimal():
                word.append(char)  # "1,000": a comma before a digit stays inside the word
                i += 1
                continue
            cut()
            words.append(char)
            i += 1
            # NLTK's rule consumed the next character along with this one, so a
            # second comma right after is not split off from what follows it.
            if i < n and chunk[i] in ",:":
                if i == n - 1:
                    words.append(chunk[i])
                else:
                    word.append(chunk[i])
                i += 1
        elif char == "." and i + 1 < n and chunk[i + 1] == ".":
            run = 2
            while i + run < n and chunk[i + run] == ".":
                run += 1
            cut()
            words.append(chunk[i : i + run])
            i += run
        elif char == "-" and i + 1 < n and chunk[i + 1] == "-":
            cut()
            words.append("--")
            i += 2
        else:
            word.append(char)
            i += 1
    cut()


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _split_contractions(word: str) -> list[str]:
    """Split whole-word contractions inside ``word`` as NLTK does."""
    pieces: list[str] = []
    start = 0  # start of the text not yet emitted
    i = 0
    n = len(word)
    while i < n:
        if not _is_word_char(word[i]):
            i += 1
            continue
        end = i
        while end < n and _is_word_char(word[end]):
            end += 1
        lowered = word[i:end].lower()
        if lowered in _CONTRACTIONS and (lowered != "wanna" or end == n):
            pieces.extend([word[start:i], word[i : i + 3], word[i + 3 : end]])
            start = end
        i = end
    pieces.append(word[start:])
    return [piece for piece in pieces if piece]


# ------------------------------------------------------------------------ reader


class _Reject(Exception):
    """The official parser raises here (an assertion, a failed lookup, running out of words)."""


@dataclass
class _Reader:
    """Reads the words as the official parser does; each method returns the next position."""

    tokens: list[str]
    schema: SpiderSchema
    variant: Variant
    aliases: dict[str, str]

    def at(self, i: int, tokens: list[str] | None = None) -> str:
        """The word at ``i``; running out of words rejects the query, as the official IndexError does."""
        tokens = self.tokens if tokens is None else tokens
        if i >= len(tokens):
            raise _Reject("ran out of words")
        return tokens[i]

    def is_(self, i: int, *words: str) -> bool:
        """Whether the word at ``i`` exists and is one of ``words``."""
        return i < len(self.tokens) and self.tokens[i] in words

    def expect(self, i: int, word: str, tokens: list[str] | None = None) -> int:
        if self.at(i, tokens) != word:
            raise _Reject(f"expected {word!r}")
        return i + 1

    @staticmethod
    def lookup(mapping: Mapping[str, Any], key: str) -> Any:
        try:
            return mapping[key]
        except KeyError:
            raise _Reject(f"unknown name {key!r}") from None

    # -- names

    def column(self, i: int, default_tables: list[str], tokens: list[str]) -> tuple[int, str]:
        word = self.at(i, tokens)
        if word == "*":
            return i + 1, STAR
        if "." in word:
            parts = word.split(".")
            if len(parts) != 2:
                raise _Reject(f"cannot split {word!r}")
            table = self.lookup(self.aliases, parts[0])
            return i + 1, self.lookup(self.schema.id_map, f"{table}.{parts[1]}")
        if not default_tables:
            raise _Reject("column outside any FROM")
        for name in default_tables:
            table = self.lookup(self.aliases, name)
            if word in self.lookup(self.schema.tables, table):
                return i + 1, self.schema.id_map[f"{table}.{word}"]
        raise _Reject(f"no column {word!r}")

    def col_unit(
        self, i: int, default_tables: list[str], tokens: list[str] | None = None
    ) -> tuple[int, ColUnit]:
        """A column, maybe DISTINCT, maybe in an aggregate, maybe in parentheses.

        ``tokens`` is a slice of the words when a value is read as a column.
        """
        toks = self.tokens if tokens is None else tokens
        in_parens = self.at(i, toks) == "("
        if in_parens:
            i += 1
        if self.at(i, toks) in AGG_OPS:
            agg = AGG_OPS.index(toks[i])
            i = self.expect(i + 1, "(", toks)
            distinct = self.at(i, toks) == "distinct"
            if distinct:
                i += 1
            i, col = self.column(i, default_tables, toks)
            # A parenthesis opened before the aggregate is left open.
            return self.expect(i, ")", toks), (agg, col, distinct)
        distinct = self.at(i, toks) == "distinct"
        if distinct:
            i += 1
        i, col = self.column(i, default_tables, toks)
        if in_parens:
            i = self.expect(i, ")", toks)
        return i, (0, col, distinct)

    def val_unit(self, i: int, default_tables: list[str]) -> tuple[int, ValUnit]:
        """A column unit, or two joined by ``+ - * /``, maybe in parentheses."""
        in_parens = self.at(i) == "("
        if in_parens:
            i += 1
        i, first = self.col_unit(i, default_tables)
        op, second = 0, None
        if i < len(self.tokens) and self.tokens[i] in UNIT_OPS:
            op = UNIT_OPS.index(self.tokens[i])
            i, second = self.col_unit(i + 1, default_tables)
        if in_parens:
            i = self.expect(i, ")")
        return i, (op, first, second)

    def table_unit(self, i: int) -> tuple[int, str, str]:
        name = self.lookup(self.aliases, self.at(i))
        i += 3 if self.is_(i + 1, "as") else 1
        return i, self.lookup(self.schema.id_map, name), name

    # -- values and conditions

    def value(self, start: int, default_tables: list[str]) -> tuple[int, Any]:
        i = start
        in_parens = self.at(i) == "("
        if in_parens:
            i += 1
        word = self.at(i)
        if word == "select":
            i, value = self.query(i)
        elif '"' in word:
            value, i = word, i + 1
        else:
            try:
                value, i = float(word), i + 1
            except ValueError:
                # Not a number: read a column from the words up to the next
                # boundary, starting again at ``start`` (before any '(').
                end = i
                while end < len(self.tokens) and not self._ends_value(self.tokens[end]):
                    end += 1
                _, value = self.col_unit(0, default_tables, self.tokens[start:end])
                i = end
        if in_parens:
            i = self.expect(i, ")")
        return i, value

    @staticmethod
    def _ends_value(word: str) -> bool:
        return word in (",", ")", "and") or word in CLAUSE_KEYWORDS or word in JOIN_KEYWORDS

    def condition(self, i: int, default_tables: list[str]) -> tuple[int, Condition]:
        items: list[Any] = []
        n = len(self.tokens)
        while i < n:
            i, val_unit = self.val_unit(i, default_tables)
            negated = self.at(i) == "not"
            if negated:
                i += 1
            if not (i < n and self.tokens[i] in WHERE_OPS):
                raise _Reject("expected a comparison operator")
            op = WHERE_OPS.index(self.tokens[i])
            i += 1
            if op == 1:  # BETWEEN low AND high
                i, low = self.value(i, default_tables)
                if self.at(i) != "and":
                    raise _Reject("BETWEEN without AND")
                i, high = self.value(i + 1, default_tables)
                items.append((negated, op, val_unit, low, high))
            else:
                i, value = self.value(i, default_tables)
                items.append((negated, op, val_unit, value, None))
            if i < n and (
                self.tokens[i] in CLAUSE_KEYWORDS
                or self.tokens[i] in (")", ";")
                or self.tokens[i] in JOIN_KEYWORDS
            ):
                break
            if i < n and self.tokens[i] in ("and", "or"):
                items.append(self.tokens[i])
                i += 1
        return i, tuple(items)

    # -- clauses

    def select(self, i: int, default_tables: list[str]) -> tuple[bool, tuple[Any, ...]]:
        # Runs to the next clause keyword; where it ends is not used.
        i = self.expect(i, "select")
        distinct = self.is_(i, "distinct")
        if distinct:
            i += 1
        items = []
        n = len(self.tokens)
        while i < n and self.tokens[i] not in CLAUSE_KEYWORDS:
            agg = 0
            if self.tokens[i] in AGG_OPS:
                agg = AGG_OPS.index(self.tokens[i])
                i += 1
            i, val_unit = self.val_unit(i, default_tables)
            items.append((agg, val_unit))
            if self.is_(i, ","):
                i += 1
        return distinct, tuple(items)

    def from_clause(self, start: int) -> tuple[int, tuple, Condition, list[str]]:
        try:
            i = self.tokens.index("from", start) + 1
        except ValueError:
            raise _Reject("no FROM") from None
        default_tables: list[str] = []
        units: list[TableUnit] = []
        conds: list[Any] = []
        n = len(self.tokens)
        while i < n:
            in_parens = self.tokens[i] == "("
            if in_parens:
                i += 1
            if self.at(i) == "select":
                i, sub = self.query(i)
                units.append(("sql", sub))
            else:
                if self.is_(i, "join"):
                    i += 1
                i, table_id, name = self.table_unit(i)
                units.append(("table_unit", table_id))
                default_tables.append(name)
            if self.is_(i, "on"):
                # Only the tables read so far resolve bare columns in this ON.
                i, more = self.condition(i + 1, default_tables)
                if conds:
                    conds.append("and")
                conds.extend(more)
            if in_parens:
                i = self.expect(i, ")")
            if i < n and (self.tokens[i] in CLAUSE_KEYWORDS or self.tokens[i] in (")", ";")):
                break
        return i, tuple(units), tuple(conds), default_tables

    def group_by(self, i: int, default_tables: list[str]) -> tuple[int, tuple]:
        if not self.is_(i, "group"):
            return i, ()
        if self.at(i + 1) != "by":
            raise _Reject("GROUP without BY")
        i += 2
        units = []
        n = len(self.tokens)
        while i < n and not (self.tokens[i] in CLAUSE_KEYWORDS or self.tokens[i] in (")", ";")):
            i, unit = self.col_unit(i, default_tables)
            units.append(unit)
            if not self.is_(i, ","):
                break
            i += 1
        return i, tuple(units)

    def order_by(self, i: int, default_tables: list[str]) -> tuple[int, tuple | None]:
        if not self.is_(i, "order"):
            return i, None
        if self.at(i + 1) != "by":
            raise _Reject("ORDER without BY")
        i += 2
        direction = "asc"
        units = []
        n = len(self.tokens)
        while i < n and not (self.tokens[i] in CLAUSE_KEYWORDS or self.tokens[i] in (")", ";")):
            i, unit = self.val_unit(i, default_tables)
            units.append(unit)
            if i < n and self.tokens[i] in ORDER_DIRECTIONS:
                direction = self.tokens[i]
                i += 1
            if not self.is_(i, ","):
                break
            i += 1
        return i, (direction, tuple(units))

    def limit(self, i: int) -> tuple[int, int | None]:
        if not self.is_(i, "limit"):
            return i, None
        word = self.at(i + 1)
        if self.variant == "test-suite":
            # test-suite-sql-eval reads any word here and records 1.
            return i + 2, 1
        try:
            return i + 2, int(word)
        except ValueError:
            raise _Reject(f"LIMIT {word!r} is not an integer") from None

    def skip_semicolons(self, i: int) -> int:
        while self.is_(i, ";"):
            i += 1
        return i

    def query(self, start: int) -> tuple[int, SpiderSQL]:
        i = start
        in_parens = self.at(i) == "("
        if in_parens:
            i += 1
        # FROM is read first: its tables resolve the bare column names elsewhere.
        end_of_from, tables, from_conds, default_tables = self.from_clause(start)
        select = self.select(i, default_tables)
        i = end_of_from
        where: Condition = ()
        if self.is_(i, "where"):
            i, where = self.condition(i + 1, default_tables)
        i, group_by = self.group_by(i, default_tables)
        having: Condition = ()
        if self.is_(i, "having"):
            i, having = self.condition(i + 1, default_tables)
        i, order_by = self.order_by(i, default_tables)
        i, limit = self.limit(i)
        i = self.skip_semicolons(i)
        if in_parens:
            i = self.expect(i, ")")
        i = self.skip_semicolons(i)
        branches: dict[str, SpiderSQL] = {}
        if i < len(self.tokens) and self.tokens[i] in SET_OPS:
            op = self.tokens[i]
            i, branches[op] = self.query(i + 1)
        return i, SpiderSQL(
            select=select,
            from_tables=tables,
            from_conds=from_conds,
            where=where,
            group_by=group_by,
            having=having,
            order_by=order_by,
            limit=limit,
            intersect=branches.get("intersect"),
            except_=branches.get("except"),
            union=branches.get("union"),
        )


def _aliases(tokens: list[str], schema: SpiderSchema) -> dict[str, str]:
    """Every ``X AS Y`` in the query (Y -> X), plus each table name for itself.

    The official parser collects these over the whole query before reading it,
    select-list aliases included, and rejects an alias that equals a table name.
    """
    aliases: dict[str, str] = {}
    for i, token in enumerate(tokens):
        if token == "as":
            if i + 1 >= len(tokens):
                raise _Reject("AS at the end")
            aliases[tokens[i + 1]] = tokens[i - 1]
    for table in schema.tables:
        if table in aliases:
            raise _Reject(f"alias {table!r} is also a table name")
        aliases[table] = table
    return aliases


def read_spider_sql(
    sql: str, schema: SpiderSchema, *, variant: Variant = "test-suite"
) -> SpiderSQL:
    """Read ``sql`` into the official structure, or fail where the official parser fails.

    Args:
        sql: the query text.
        schema: the database schema.
        variant: ``"test-suite"`` (test-suite-sql-eval: any LIMIT word, recorded
            as 1) or ``"spider"`` (taoyds/spider: the LIMIT word must be an integer,
            which is kept).

    Raises:
        SpiderSQLError: the official parser rejects the query.
    """
    tokens = official_tokens(sql.strip())
    try:
        reader = _Reader(tokens, schema, variant, _aliases(tokens, schema))
        _, tree = reader.query(0)
    except _Reject as exc:
        raise SpiderSQLError(str(exc), sql=sql, db_id=schema.db_id) from None
    except RecursionError:
        raise SpiderSQLError("nested too deeply", sql=sql, db_id=schema.db_id) from None
    return tree
