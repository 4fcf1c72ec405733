"""What the sampler knows about a database: column roles, real values, key links, anchor rows.

Profiling reads at most ``ROW_WINDOW`` rows of each table with one query and
derives everything else in Python: distinct values with their frequencies,
null presence, quantiles and a role per column. Every value the sampler puts in
a query comes from these rows (or from a later, equally bounded probe), so its
filters match real data.

Roles:

* ``key``: primary and foreign keys and ``..._id`` columns; they join, count
  and feed ``IN`` subqueries, but are never summed or averaged.
* ``measure``: numbers worth aggregating and comparing (price, age, capacity).
* ``category``: text with few distinct values (genre, status, country).
* ``text``: free text and names (title, first_name, description).
* ``date``: ISO dates and timestamps stored as text, and year numbers.
* ``boolean``: 0/1 flags and yes/no text.
* ``other``: blobs and columns with nothing usable; never touched.
"""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlglot import exp

from sqlfoundry.db.schema import Schema, Table
from sqlfoundry.sql.parse import sql_text, sqlglot_dialect, tokens_of
from sqlfoundry.synth.naming import words

ROW_WINDOW = 1000  # rows read per table for statistics and value pools
ANCHOR_ROWS = 80  # rows kept per table to build conditions from
VALUE_POOL = 50  # distinct values kept per column
MAX_TEXT = 60  # longer strings are never used as equality literals

KEY, MEASURE, CATEGORY, TEXT, DATE, BOOLEAN, OTHER = (
    "key",
    "measure",
    "category",
    "text",
    "date",
    "boolean",
    "other",
)

_LABEL_WORDS = {"name", "title", "names", "model", "nickname", "username", "login"}
_BOOLEAN_TEXT = {"t", "f", "y", "n", "yes", "no", "true", "false", "0", "1"}
_QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)

# Runs one read-only query; its rows, or None when the query failed.
Fetch = Callable[[str], "list[tuple[Any, ...]] | None"]


@dataclass(eq=False)
class ColumnProfile:
    """One column as the sampler sees it.

    Attributes:
        values: distinct non-NULL values of the window, most frequent first.
        counts: how often each of ``values`` occurs in the window.
        quantiles: for measures and dates, the window's values at the 0, 10,
            25, 50, 75, 90 and 100th percentiles.
        unique: no value repeats in the window.
        label: a name or title, what a person wants to see in a result.
    """

    table: str
    name: str
    position: int
    declared_type: str
    role: str
    primary_key: bool = False
    not_null: bool = False
    has_nulls: bool = False
    nonnull: int = 0
    distinct: int = 0
    values: tuple[Any, ...] = ()
    counts: tuple[int, ...] = ()
    quantiles: tuple[Any, ...] = ()
    unique: bool = False
    label: bool = False

    @property
    def numeric(self) -> bool:
        """Its values are numbers (measures, year columns, 0/1 flags)."""
        return bool(self.values) and isinstance(self.values[0], (int, float))

    @property
    def groupable(self) -> bool:
        """Few enough distinct values, each repeated, to be worth a GROUP BY."""
        if self.role in (KEY, OTHER) or self.distinct < 2:
            return False
        # Numbers group well only when there are few (ratings, floors), not amounts.
        most = 12 if self.role in (MEASURE, DATE) else 40
        return self.distinct <= most and self.distinct * 2 <= self.nonnull

    @property
    def ordered(self) -> bool:
        """Values with an order people compare by (numbers and dates)."""
        return self.role in (MEASURE, DATE) and len(self.quantiles) == len(_QUANTILES)


@dataclass(eq=False)
class TableProfile:
    """One non-empty table.

    Attributes:
        rows: up to ``ANCHOR_ROWS`` real rows, spread over the window, in
            column order; conditions are built so that one of them satisfies them.
        complete: the window holds every row, so counts taken from it are exact.
    """

    name: str
    row_count: int
    columns: list[ColumnProfile]
    rows: list[tuple[Any, ...]]
    complete: bool
    primary_key: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnProfile | None:
        """The column called ``name`` (any case), or None."""
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    def of_role(self, *roles: str) -> list[ColumnProfile]:
        """The columns with one of ``roles``."""
        return [c for c in self.columns if c.role in roles]

    @property
    def labels(self) -> list[ColumnProfile]:
        """The columns that name a row: names and titles, else other text, else the key."""
        named = [c for c in self.columns if c.label]
        if named:
            return named
        text = self.of_role(TEXT)
        if text:
            return text[:1]
        keys = [c for c in self.columns if c.primary_key]
        if len(keys) == 1:
            return keys
        return self.of_role(CATEGORY)[:1] or keys[:1] or self.columns[:1]


@dataclass(frozen=True)
class Link:
    """A declared foreign key: ``child.child_columns`` references ``parent.parent_columns``."""

    child: str
    child_columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]


@dataclass(eq=False)
class DatabaseProfile:
    db_id: str
    dialect: str
    tables: dict[str, TableProfile]
    links: list[Link]
    probe_queries: int = 0
    schema: Schema | None = None  # the introspected schema (keys for the semantic checks)
    # links_of() per table, made once: every join path asks for them.
    _links_of: dict[str, list[tuple[Link, str]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def table(self, name: str) -> TableProfile:
        """The profile of table ``name``."""
        return self.tables[name]

    def links_of(self, table: str) -> list[tuple[Link, str]]:
        """Every link touching ``table``, with the table at its other end (a list the
        caller must not change)."""
        out = self._links_of.get(table)
        if out is None:
            out = self._links_of[table] = []
            for link in self.links:
                if link.child == table:
                    out.append((link, link.parent))
                elif link.parent == table:
                    out.append((link, link.child))
        return out


@lru_cache(maxsize=8192)
def needs_quotes(name: str, dialect: str) -> bool:
    """Whether ``name`` must be quoted to read as an identifier (spaces, keywords,
    and in PostgreSQL capitals, which it would fold to lower case)."""
    if not (name.isascii() and name.isidentifier()):
        return True
    if sqlglot_dialect(dialect) == "postgres" and name != name.lower():
        return True
    tokens = tokens_of(name, dialect)
    return len(tokens) != 1 or tokens[0].token_type.name != "VAR"


def ident(name: str, dialect: str) -> exp.Identifier:
    """An identifier node, quoted when ``dialect`` needs it."""
    return exp.Identifier(this=name, quoted=needs_quotes(name, dialect))


def limited(query: exp.Query, count: int) -> exp.Query:
    """``query`` with ``LIMIT count``, set in place: the tree ``query.limit(count)``
    makes, without the parse of "LIMIT <count>" sqlglot's builder runs for an int."""
    query.set("limit", exp.Limit(expression=exp.Literal.number(count)))
    return query


def plain(value: Any) -> Any:
    """A server value as SQLite would give it: exact decimals as floats, dates and
    times as ISO text (which servers compare with their date columns)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return (
            value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
        )
    return value


# What SQLite gives: already plain, so most rows are kept as they are.
_PLAIN_TYPES = frozenset((int, float, str, bytes, bool, type(None)))


def plain_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Result rows with every value made plain (see :func:`plain`)."""
    out = []
    for row in rows:
        if type(row) is tuple and all(type(v) in _PLAIN_TYPES for v in row):
            out.append(row)
        else:
            out.append(tuple(plain(v) for v in row))
    return out


def window_query(table: Table, dialect: str) -> str:
    """``SELECT <every column> FROM <table> LIMIT ROW_WINDOW`` in ``dialect``."""
    select = exp.Select(
        expressions=[exp.Column(this=ident(c.name, dialect)) for c in table.columns]
    )
    select = select.from_(exp.Table(this=ident(table.name, dialect)), copy=False)
    return sql_text(limited(select, ROW_WINDOW), dialect, copy=False)  # a tree of its own


def profile_database(schema: Schema, fetch: Fetch) -> DatabaseProfile:
    """Profile every non-empty table of ``schema`` with one bounded query each.

    Args:
        schema: the database's schema (row counts and declared keys are used).
        fetch: runs a read-only query and returns its rows (None on failure).
    """
    key_columns = _key_columns(schema)
    tables: dict[str, TableProfile] = {}
    for table in schema.tables:
        if not table.columns or not table.row_count:
            continue
        rows = fetch(window_query(table, schema.dialect))
        if not rows:
            continue
        profiled = _profile_table(table, rows, key_columns, schema.dialect)
        if any(c.role != OTHER for c in profiled.columns):
            tables[table.name] = profiled
    _undeclared_references(tables, schema.dialect, fetch)
    return DatabaseProfile(
        db_id=schema.db_id,
        dialect=schema.dialect,
        tables=tables,
        links=_links(schema, tables),
        schema=schema,
    )


def _undeclared_references(tables: dict[str, TableProfile], dialect: str, fetch: Fetch) -> None:
    """Whole-number "measures" that are really ids of another table's rows become keys.

    Spider's ``country.Capital`` holds ``city.ID`` values without a declared foreign
    key; summed or averaged it means nothing. A column is taken for such a reference
    when it has at least 10 distinct whole numbers, spread thinly over their range
    (not a rank or a small count), spanning the other table's key range end to end
    (within 2% at each end: a page count of 28 to 876 is no order id of 1 to 1000),
    and every value is a key of that table. Two bounded probes per candidate pair
    check it on the whole tables.
    """
    targets = []
    for table in tables.values():
        if len(table.primary_key) != 1:
            continue
        pk = table.column(table.primary_key[0])
        if pk is not None and pk.values and all(isinstance(v, int) for v in pk.values):
            targets.append((table, pk))
    for table in tables.values():
        for column in table.columns:
            if not _maybe_reference(column):
                continue
            for parent, pk in targets:
                if parent is table or parent.row_count < column.distinct:
                    continue
                if _all_values_in(table, column, parent, pk, dialect, fetch):
                    column.role = KEY
                    column.quantiles = ()
                    break


def _maybe_reference(column: ColumnProfile) -> bool:
    if column.role != MEASURE or column.distinct < 10 or len(column.quantiles) < 2:
        return False
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in column.values):
        return False
    low, high = column.quantiles[0], column.quantiles[-1]
    return low >= 1 and high - low + 1 >= 3 * column.distinct


def _all_values_in(
    table: TableProfile,
    column: ColumnProfile,
    parent: TableProfile,
    pk: ColumnProfile,
    dialect: str,
    fetch: Fetch,
) -> bool:
    """Whether the non-NULL values of ``column`` span ``parent``'s key range and are
    all values of that key."""
    key = exp.Column(this=ident(pk.name, dialect))
    col = exp.Column(this=ident(column.name, dialect))
    spans = []
    for name, target in ((table.name, col), (parent.name, key)):
        query = exp.select(exp.Min(this=target.copy()), exp.Max(this=target.copy()))
        found = fetch(
            sql_text(query.from_(exp.Table(this=ident(name, dialect))), dialect, copy=False)
        )
        if not found or not all(isinstance(v, (int, float)) for v in found[0]):
            return False
        spans.append(found[0])
    (low, high), (key_low, key_high) = spans
    slack = 0.02 * (key_high - key_low)
    if abs(low - key_low) > slack or abs(high - key_high) > slack:
        return False
    inner = exp.select(key).from_(exp.Table(this=ident(parent.name, dialect)))
    outside = exp.select(exp.Count(this=exp.Star())).from_(
        exp.Table(this=ident(table.name, dialect))
    )
    outside = outside.where(
        exp.and_(
            exp.Not(this=exp.Is(this=col, expression=exp.Null())),
            exp.Not(this=exp.In(this=col.copy(), query=exp.Subquery(this=inner))),
        ),  # fmt: skip
        copy=False,
    )
    rows = fetch(sql_text(outside, dialect, copy=False))
    return bool(rows) and rows[0][0] == 0


def _key_columns(schema: Schema) -> set[tuple[str, str]]:
    keys = set()
    for table in schema.tables:
        for name in table.primary_key:
            keys.add((table.name.lower(), name.lower()))
        for fk in table.foreign_keys:
            for column in fk.columns:
                keys.add((table.name.lower(), column.lower()))
            for column in fk.ref_columns:
                keys.add((fk.ref_table.lower(), column.lower()))
    return keys


def _links(schema: Schema, tables: dict[str, TableProfile]) -> list[Link]:
    """Declared foreign keys whose both ends exist and hold rows, spelled as declared."""
    by_lower = {name.lower(): profile for name, profile in tables.items()}
    links: list[Link] = []
    for table in schema.tables:
        child = by_lower.get(table.name.lower())
        if child is None:
            continue
        for fk in table.foreign_keys:
            parent = by_lower.get(fk.ref_table.lower())
            if parent is None or parent is child or len(fk.columns) != len(fk.ref_columns):
                continue
            child_cols = [child.column(c) for c in fk.columns]
            parent_cols = [parent.column(c) for c in fk.ref_columns]
            if not all(child_cols) or not all(parent_cols):
                continue  # Spider declares a few keys on columns that do not exist
            link = Link(
                child=child.name,
                child_columns=tuple(c.name for c in child_cols),  # type: ignore[union-attr]
                parent=parent.name,
                parent_columns=tuple(c.name for c in parent_cols),  # type: ignore[union-attr]
            )
            if link not in links:
                links.append(link)
    return links


def _profile_table(
    table: Table, rows: list[tuple[Any, ...]], key_columns: set[tuple[str, str]], dialect: str
) -> TableProfile:
    columns = []
    for position, column in enumerate(table.columns):
        values = [row[position] for row in rows]
        columns.append(
            _profile_column(
                table.name,
                column.name,
                position,
                column.type,
                values,
                primary_key=column.primary_key,
                not_null=not column.nullable,
                is_key=(table.name.lower(), column.name.lower()) in key_columns,
            )
        )
    step = max(1, len(rows) // ANCHOR_ROWS)
    return TableProfile(
        name=table.name,
        row_count=table.row_count or len(rows),
        columns=columns,
        rows=rows[::step][:ANCHOR_ROWS],
        complete=len(rows) < ROW_WINDOW,
        primary_key=list(table.primary_key),
    )


def _profile_column(
    table: str,
    name: str,
    position: int,
    declared_type: str,
    values: list[Any],
    *,
    primary_key: bool,
    not_null: bool,
    is_key: bool,
) -> ColumnProfile:
    present = [v for v in values if v is not None]
    frequency = Counter(present)
    ranked = frequency.most_common(VALUE_POOL)
    profile = ColumnProfile(
        table=table,
        name=name,
        position=position,
        declared_type=declared_type,
        role=OTHER,
        primary_key=primary_key,
        not_null=not_null,
        has_nulls=len(present) < len(values),
        nonnull=len(present),
        distinct=len(frequency),
        values=tuple(v for v, _ in ranked),
        counts=tuple(c for _, c in ranked),
        unique=len(frequency) == len(present),
    )
    profile.role = _role(profile, present, is_key)
    if profile.role in (MEASURE, DATE):
        profile.quantiles = _quantiles(present)
    name_words = set(words(name))
    # A text key called "name" (Spider's Person.name) is still what names the row.
    texty = profile.role in (TEXT, CATEGORY) or (
        profile.role == KEY and bool(profile.values) and isinstance(profile.values[0], str)
    )
    profile.label = texty and bool(name_words & _LABEL_WORDS)
    return profile


def _role(col: ColumnProfile, present: list[Any], is_key: bool) -> str:
    if not present or any(isinstance(v, (bytes, bytearray, memoryview)) for v in present[:50]):
        return OTHER
    name_words = words(col.name)
    numbers = sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    numeric = numbers >= 0.95 * len(present)
    if numeric and any(isinstance(v, float) and not math.isfinite(v) for v in present):
        return OTHER
    if is_key or col.primary_key or _key_name(name_words):
        return KEY
    distinct = set(col.values)
    if numeric and numbers == len(present):
        if distinct <= {0, 1} and len(distinct) == 2:
            return BOOLEAN
        if "year" in name_words and all(1000 <= v <= 2999 for v in col.values):
            return DATE
        return MEASURE if col.distinct > 1 else OTHER
    if numeric:
        return OTHER  # numbers mixed with text compare unpredictably
    texts = [v for v in present if isinstance(v, str)]
    if len(texts) < len(present):
        return OTHER
    if len(distinct) <= 2 and {str(v).strip().lower() for v in distinct} <= _BOOLEAN_TEXT:
        return BOOLEAN
    if sum(_looks_like_date(v) for v in texts) >= 0.9 * len(texts):
        return DATE
    if all(not v.strip() for v in col.values):
        return OTHER
    if col.distinct <= 40 and col.distinct * 2 <= col.nonnull:
        return CATEGORY
    return TEXT


# Last words of column names that identify rather than measure, even when the
# values are numbers: zip codes, phone numbers, a student's advisor or major.
_KEY_WORDS = {"id", "ids", "code", "zip", "zipcode", "postcode", "phone", "fax", "ssn", "isbn",
              "advisor", "major"}  # fmt: skip
_NUMBER_WORDS = {"number", "no", "num", "nbr"}


def _key_name(name_words: list[str]) -> bool:
    """``student_id``, ``zip_code``, ``room_number`` (but not ``number_of_rooms``)."""
    if not name_words:
        return False
    last = name_words[-1]
    if last in _KEY_WORDS:
        return True
    return last in _NUMBER_WORDS and len(name_words) > 1 and name_words[0] not in _NUMBER_WORDS


def _looks_like_date(value: str) -> bool:
    """ISO dates and timestamps (``2021-03-04``, ``2021-03-04 10:00:00``), which sort as text."""
    return (
        len(value) >= 10
        and value[4] == "-"
        and value[7] == "-"
        and value[:4].isdigit()
        and value[5:7].isdigit()
        and value[8:10].isdigit()
    )


def _quantiles(present: list[Any]) -> tuple[Any, ...]:
    ordered = sorted(present)
    last = len(ordered) - 1
    return tuple(ordered[round(q * last)] for q in _QUANTILES)
