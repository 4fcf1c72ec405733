"""What every rewrite rule shares: the Rule record, schema facts, and tree helpers.

A rule is a pure function ``rule(tree, facts=None) -> Expression | None``: it
returns a new tree (the input is never changed) or None when it does not apply.
``facts`` carries what some rules need to know about the schema (NOT NULL
columns, primary keys, which table has which column); rules that need it
return None without it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

RuleFn = Callable[..., exp.Expression | None]
# "structural" rules change how the query is built (a join becomes a subquery...);
# "surface" ones only change how it reads (aliases, operand order) and are mostly
# used on top of a structural one.
Kind = Literal["structural", "surface"]


@dataclass(frozen=True)
class Rule:
    name: str
    fn: RuleFn
    kind: Kind
    description: str
    # False for forms people seldom write (``x IN ('a')``): used only when asked for.
    default: bool = True

    def __call__(self, tree: exp.Expression, facts: SchemaFacts | None = None):
        return self.fn(tree, facts)


@dataclass(frozen=True)
class SchemaFacts:
    """What rules may assume about the tables; names are lower-cased.

    Attributes:
        columns: table -> its column names.
        not_null: (table, column) pairs that never hold NULL.
        primary_keys: table -> its primary-key columns.
        names: lower-cased name -> the name as the schema spells it.
    """

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_null: frozenset[tuple[str, str]] = frozenset()
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_schema(cls, schema) -> SchemaFacts:
        """Facts from a ``sqlfoundry.db.schema.Schema``.

        In SQLite only a declared NOT NULL or an ``INTEGER PRIMARY KEY`` (the rowid)
        guarantees no NULL: other primary keys may hold NULL there.
        """
        columns: dict[str, tuple[str, ...]] = {}
        not_null: set[tuple[str, str]] = set()
        keys: dict[str, tuple[str, ...]] = {}
        names: dict[str, str] = {}
        sqlite = (schema.dialect or "sqlite").lower() == "sqlite"
        for table in schema.tables:
            tname = table.name.lower()
            names[tname] = table.name
            columns[tname] = tuple(c.name.lower() for c in table.columns)
            keys[tname] = tuple(k.lower() for k in table.primary_key)
            for col in table.columns:
                cname = col.name.lower()
                names.setdefault(cname, col.name)
                rowid = (
                    len(table.primary_key) == 1
                    and col.primary_key
                    and (col.type or "").strip().upper() == "INTEGER"
                )
                if not col.nullable or rowid or (col.primary_key and not sqlite):
                    not_null.add((tname, cname))
        return cls(columns, frozenset(not_null), keys, names)

    @classmethod
    def from_spec(cls, spec: str) -> SchemaFacts:
        """Facts from a short text, for fixtures: ``"t(id!*, a!, b); u(k*, v)"``.

        ``!`` marks a NOT NULL column and ``*`` a primary-key column.
        """
        columns: dict[str, tuple[str, ...]] = {}
        not_null: set[tuple[str, str]] = set()
        keys: dict[str, tuple[str, ...]] = {}
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            name, _, rest = part.partition("(")
            table = name.strip().lower()
            cols, pk = [], []
            for raw in rest.rstrip(")").split(","):
                col = raw.strip().lower()
                bare = col.rstrip("!*")
                cols.append(bare)
                if "!" in col:
                    not_null.add((table, bare))
                if "*" in col:
                    pk.append(bare)
            columns[table], keys[table] = tuple(cols), tuple(pk)
        return cls(columns, frozenset(not_null), keys, {})

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` has ``column`` (names in any case)."""
        return column.lower() in self.columns.get(table.lower(), ())

    def spelled(self, name: str) -> str:
        """A table or column name as the schema spells it."""
        return self.names.get(name.lower(), name)


# ------------------------------------------------------------------ conditions


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """The operands of an AND chain (parenthesised ANDs included), in text order."""
    if condition is None:
        return []
    node = condition
    while isinstance(node, exp.Paren) and isinstance(node.this, exp.And):
        node = node.this
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def disjuncts(condition: exp.Expression) -> list[exp.Expression]:
    """The parts of an OR, nested ORs and parentheses flattened."""
    node = condition
    while isinstance(node, exp.Paren) and isinstance(node.this, exp.Or):
        node = node.this
    if isinstance(node, exp.Or):
        return disjuncts(node.this) + disjuncts(node.expression)
    return [node]


def and_all(parts: Iterable[exp.Expression]) -> exp.Expression | None:
    """AND the parts together (None for none); OR operands of an AND get parentheses."""
    items = list(parts)
    if len(items) == 1:
        only = items[0]
        return only.this if isinstance(only, exp.Paren) and isinstance(only.this, exp.Or) else only
    out: exp.Expression | None = None
    for part in items:
        part = exp.Paren(this=part) if isinstance(part, exp.Or) else part
        out = part if out is None else exp.And(this=out, expression=part)
    return out


def set_where(select: exp.Select, parts: list[exp.Expression]) -> None:
    """Make ``parts`` (ANDed) the SELECT's WHERE clause; none removes it."""
    condition = and_all(parts)
    select.set("where", exp.Where(this=condition) if condition is not None else None)


def where_parts(select: exp.Select) -> list[exp.Expression]:
    """The ANDed conditions of the SELECT's WHERE clause."""
    where = select.args.get("where")
    return conjuncts(where.this) if where is not None else []


def needs_parens(node: exp.Expression) -> bool:
    """Whether an AND / OR put in ``node``'s place must be parenthesised."""
    return not isinstance(node.parent, (exp.Where, exp.Having, exp.And, exp.Paren, exp.Join))


# ------------------------------------------------------------------ sources and columns


def sources(select: exp.Select) -> list[exp.Expression]:
    """The FROM source then each JOIN's source (tables, subqueries)."""
    out = []
    if select.args.get("from_") is not None:
        out.append(select.args["from_"].this)
    out.extend(join.this for join in select.args.get("joins") or ())
    return out


def source_name(node: exp.Expression) -> str:
    """How columns name a source: its alias, else its table name (lower-cased)."""
    return node.alias_or_name.lower()


def is_inner(join: exp.Join) -> bool:
    """A plain or INNER join with an ON condition (not CROSS, not outer, no USING)."""
    kind = (join.args.get("kind") or "").upper()
    return (
        not join.args.get("side")
        and kind in ("", "INNER")
        and join.args.get("on") is not None
        and not join.args.get("using")
        and not join.args.get("method")
    )


def own_columns(node: exp.Expression) -> Iterator[exp.Column]:
    """Columns of ``node`` outside any nested query (the current scope only)."""
    for column in node.find_all(exp.Column):
        if _inside_query_below(column, node):
            continue
        yield column


def _inside_query_below(column: exp.Expression, top: exp.Expression) -> bool:
    parent = column.parent
    while parent is not None and parent is not top:
        if isinstance(parent, (exp.Select, exp.SetOperation)):
            return True
        parent = parent.parent
    return False


def qualifiers(node: exp.Expression) -> set[str]:
    """Lower-cased table qualifiers of every column under ``node`` (nested queries too)."""
    return {c.table.lower() for c in node.find_all(exp.Column) if c.table}


def has_query(node: exp.Expression) -> bool:
    """Whether the node holds a SELECT."""
    return node.find(exp.Select) is not None


def has_star(select: exp.Select) -> bool:
    """Whether the SELECT projects ``*`` or ``t.*``."""
    return any(
        isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        for e in select.expressions
    )


def simple_table(node: exp.Expression) -> bool:
    """A base table reference (not a subquery, function or CTE-less expression)."""
    return isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier)


def defined_names(select: exp.Select) -> set[str]:
    """Every alias or table name defined by a FROM/JOIN anywhere in the tree."""
    names = set()
    for sel in select.find_all(exp.Select):
        names.update(source_name(s) for s in sources(sel))
    for table in select.find_all(exp.Table):
        names.add(table.name.lower())
    return names


def cte_names(tree: exp.Expression) -> set[str]:
    """The names of the CTEs in the tree, lower-cased."""
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


# ------------------------------------------------------------------ naming


# SQLite's keywords (sqlglot reads some of them, such as CAST, as plain names).
_KEYWORDS = frozenset(
    """ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE
    BEGIN BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE
    CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE
    DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE
    EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS
    HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS
    ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL
    NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY
    RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING
    RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION
    TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH
    WITHOUT""".split()
)


def is_plain_identifier(name: str) -> bool:
    """A name that needs no quotes and is no keyword in any dialect we speak."""
    if not (name.isascii() and name.isidentifier()) or name.upper() in _KEYWORDS:
        return False
    try:
        tokens = sqlglot.tokenize(name)
    except TokenError:
        return False
    return len(tokens) == 1 and tokens[0].token_type == TokenType.VAR


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base2``, ``base3``... whichever is free (and not a keyword).

    A base that can never be a bare name (``顧客_subset``, ``ölçüm``) is first cut to
    its ASCII letters, digits and underscores, accents dropped (``t`` when none are
    left): no number
    appended to a non-ASCII name would ever make it one.
    """
    if not (base.isascii() and base.isidentifier()):
        # Accents dropped first, so "élèves" gives "eleves" rather than "l_ves".
        plain = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
        kept = "_".join(w for w in re.split(r"[^A-Za-z0-9]+", plain) if w)
        base = kept if kept[:1].isalpha() else f"t_{kept}".rstrip("_")
    candidate, n = base, 1
    while candidate.lower() in taken or not is_plain_identifier(candidate):
        n += 1
        candidate = f"{base}{n}"
    return candidate


def next_alias(select: exp.Select, table: str) -> str:
    """A new alias in the style the query already uses: ``T3`` after T1/T2, else the
    table's initials."""
    taken = defined_names(select) | cte_names(select)
    numbered = [s.alias for s in select.find_all(exp.Table) if s.alias and _numbered(s.alias)]
    if numbered:
        prefix = numbered[0].rstrip("0123456789")
        n = max(int(a[len(prefix) :]) for a in numbered if a.startswith(prefix)) + 1
        while f"{prefix}{n}".lower() in taken:
            n += 1
        return f"{prefix}{n}"
    return fresh_name(initials(table), taken)


def _numbered(alias: str) -> bool:
    head = alias.rstrip("0123456789")
    return bool(head) and head != alias and head.isalpha() and len(head) <= 2


def initials(table: str) -> str:
    """A table's initials for an alias ("sic" for singer_in_concert), "t" when it has none."""
    from sqlfoundry.synth.naming import words

    parts = words(table) or [table.lower()]
    short = "".join(p[0] for p in parts if p)
    return short if short.isascii() and short.isalpha() else "t"


def column(name: str, table: str | None = None) -> exp.Column:
    """A column node, qualified by ``table`` when given."""
    return exp.column(name, table=table) if table else exp.column(name)


def table_node(name: str, alias: str | None = None) -> exp.Table:
    """A table node, with ``alias`` when it differs from the name."""
    node = exp.Table(this=exp.to_identifier(name))
    if alias and alias.lower() != name.lower():
        node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    return node


def requalify(node: exp.Expression, old: str | None, new: str | None) -> exp.Expression:
    """Columns of ``node`` qualified by ``old`` (or unqualified when ``old`` is None,
    in the current scope only) get the qualifier ``new`` (or none). In place."""
    targets = node.find_all(exp.Column) if old is not None else own_columns(node)
    for col in list(targets):
        if isinstance(col.this, exp.Star):
            continue
        current = col.table.lower() if col.table else None
        if current == (old.lower() if old else None):
            col.set("table", exp.to_identifier(new) if new else None)
    return node


# ------------------------------------------------------------------ rendering


def render(tree: exp.Expression, dialect: str = "sqlite") -> str:
    """The query's text, with negations written the way people write them.

    sqlglot prints ``NOT x IN (...)``, ``NOT x IS NULL`` and ``NOT x BETWEEN a AND
    b``; the same queries read ``x NOT IN (...)``, ``x IS NOT NULL`` and ``x NOT
    BETWEEN a AND b``. Each such node is printed by the dialect's own generator
    and only the word order around NOT changes, on a copy of the tree.
    """
    out = tree.copy()
    for node in list(out.find_all(exp.Not)):
        inner = node.this
        if isinstance(inner, exp.Is):
            node.replace(exp.Is(this=inner.this, expression=inner.expression, negate=True))
        elif isinstance(inner, (exp.In, exp.Between)):
            text, left = inner.sql(dialect=dialect), inner.this.sql(dialect=dialect)
            word = " IN " if isinstance(inner, exp.In) else " BETWEEN "
            if text.startswith(left + word):
                node.replace(exp.var(f"{left} NOT{text[len(left) :]}"))
    return out.sql(dialect=dialect)
