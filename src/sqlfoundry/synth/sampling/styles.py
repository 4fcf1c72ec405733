"""Surface variation: the same query written the ways people write it.

The builder makes every tree in one canonical form; :func:`restyle` rewrites a
copy (table aliases, ``COUNT(*)`` or ``COUNT(key)``, ``INNER JOIN``, the order
of a join's equality) and :func:`render` prints it (keyword and function case,
``<>`` or ``!=``). None of this changes what the query returns.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from functools import lru_cache

from sqlglot import exp
from sqlglot.tokens import TokenType

from sqlfoundry.sql.parse import sql_text, tokens_of
from sqlfoundry.synth.naming import words
from sqlfoundry.synth.sampling.profile import DatabaseProfile, TableProfile, needs_quotes


@dataclass(frozen=True)
class Style:
    """How one query is written.

    Attributes:
        aliases: ``spider`` (``T1``, ``T2``), ``tables`` (qualify with table
            names, no aliases) or ``short`` (initials such as ``sc``).
        case: ``upper`` (``SELECT COUNT(*)``), ``lower`` (``select count(*)``)
            or ``mixed`` (``SELECT count(*)``).
        count: ``star`` for ``COUNT(*)``, ``column`` for ``COUNT(<non-null key>)``.
        not_equal: ``<>`` or ``!=``.
        join: ``JOIN`` or ``INNER JOIN``.
        swap_on: write a join's equality as ``T2.fk = T1.pk``.
        explicit_asc: write ``ASC`` in ascending ORDER BY.
    """

    aliases: str = "spider"
    case: str = "upper"
    count: str = "star"
    not_equal: str = "<>"
    join: str = "JOIN"
    swap_on: bool = False
    explicit_asc: bool = False

    def describe(self) -> dict[str, object]:
        """The style as plain data (for a record's ``meta``): ``asdict``'s dict, without
        its deep copy (every field is a str or bool, and the copy costs per kept query)."""
        return {name: getattr(self, name) for name in _STYLE_FIELDS}


_STYLE_FIELDS = tuple(f.name for f in fields(Style))


CANONICAL = Style()


def draw_style(rng: random.Random) -> Style:
    """A style in proportions close to what Spider's and BIRD's SQL show."""
    return Style(
        aliases=rng.choices(("spider", "tables", "short"), weights=(0.6, 0.25, 0.15))[0],
        case=rng.choices(("upper", "lower", "mixed"), weights=(0.7, 0.2, 0.1))[0],
        count=rng.choices(("star", "column"), weights=(0.8, 0.2))[0],
        not_equal=rng.choice(("<>", "!=")),
        join=rng.choices(("JOIN", "INNER JOIN"), weights=(0.75, 0.25))[0],
        swap_on=rng.random() < 0.15,
        explicit_asc=rng.random() < 0.3,
    )


def restyle(
    tree: exp.Expression, style: Style, profile: DatabaseProfile, *, copy: bool = True
) -> exp.Expression:
    """A copy of ``tree`` rewritten in ``style`` (same result, different text); with
    ``copy=False``, ``tree`` itself, for a caller that has no further use for it."""
    if copy:
        tree = tree.copy()
    # Each walk only when the style changes what it visits (most styles leave some alone).
    if style.aliases != "spider" or style.count == "column":
        for select in list(tree.find_all(exp.Select)):
            sources = _sources(select)
            if style.aliases != "spider" and any(t.alias for t in sources):
                _rename_aliases(select, sources, style.aliases, profile)
            if style.count == "column":
                _count_column(select, sources, profile)
    if style.join == "INNER JOIN" or style.swap_on:
        for join in tree.find_all(exp.Join):
            if style.join == "INNER JOIN":
                join.set("kind", "INNER")
            on = join.args.get("on")
            if style.swap_on and isinstance(on, exp.EQ):
                join.set("on", exp.EQ(this=on.expression.copy(), expression=on.this.copy()))
    if style.explicit_asc:
        for ordered in tree.find_all(exp.Ordered):
            if not ordered.args.get("desc"):
                ordered.set("desc", False)
    return tree


def _sources(select: exp.Select) -> list[exp.Table]:
    nodes = [select.args["from_"].this] if select.args.get("from_") else []
    nodes.extend(join.this for join in select.args.get("joins") or ())
    return [n for n in nodes if isinstance(n, exp.Table)]


def _own_nodes(select: exp.Select):
    """Nodes of ``select``'s own scope: nested queries are left out."""
    stack = list(select.iter_expressions())
    while stack:
        node = stack.pop()
        if isinstance(node, (exp.Select, exp.Subquery, exp.SetOperation)):
            continue
        yield node
        stack.extend(node.iter_expressions())


def _rename_aliases(
    select: exp.Select, sources: list[exp.Table], mode: str, profile: DatabaseProfile
) -> None:
    dialect = profile.dialect
    taken = {name.lower() for name in profile.tables}
    new_names: dict[str, str | None] = {}
    for table in sources:
        if not table.alias:
            continue
        if mode == "tables":
            new_names[table.alias] = None
        else:
            new_names[table.alias] = _initials(table.name, taken, dialect)
            taken.add(new_names[table.alias].lower())
    qualifier = {alias: (new or tables_name) for alias, new, tables_name in
                 ((t.alias, new_names.get(t.alias), t.name) for t in sources if t.alias)}  # fmt: skip
    for node in _own_nodes(select):
        if isinstance(node, exp.Column) and node.table in qualifier:
            name = qualifier[node.table]
            node.set("table", exp.Identifier(this=name, quoted=needs_quotes(name, dialect)))
    for table in sources:
        if table.alias in new_names:
            new = new_names[table.alias]
            table.set("alias", exp.TableAlias(this=exp.to_identifier(new)) if new else None)


def _initials(table: str, taken: set[str], dialect: str) -> str:
    # ASCII initials only: a non-ASCII one (顧客, Ölçüm) always needs quotes, so no
    # number appended to it could ever make a free, bare alias.
    base = "".join(w[0] for w in words(table) if w and w[0].isascii() and w[0].isalpha())
    base = base.lower()[:3] or "t"
    if needs_quotes(base, dialect):
        base = "t"
    name, n = base, 1
    while name in taken or needs_quotes(name, dialect):
        n += 1
        name = f"{base}{n}"
    return name


def _count_column(select: exp.Select, sources: list[exp.Table], profile: DatabaseProfile) -> None:
    """COUNT(*) -> COUNT(<a never-NULL key>): the same count, as many people write it.

    The key is taken from a table at the "many" end of the joins, whose key the
    query does not group by: over a join COUNT(*) counts that table's rows, and
    ``COUNT(students.id)`` over students joined with their likes would read as a
    count of students (``COUNT(T1.id) ... GROUP BY T1.id`` as a count of ids).
    Without such a table the count stays ``COUNT(*)``.
    """
    dialect = profile.dialect
    group = select.args.get("group")
    grouped = {sql_text(c) for c in group.find_all(exp.Column)} if group is not None else set()
    chosen: exp.Column | None = None
    parents = _referenced(select, sources, profile)
    for source in sources:
        if source.alias_or_name.lower() in parents:
            continue
        table = profile.tables.get(source.name)
        column = _never_null_key(table) if table is not None else None
        if column is None:
            continue
        col = exp.Column(this=exp.Identifier(this=column, quoted=needs_quotes(column, dialect)))
        qualifier = source.alias or (source.name if len(sources) > 1 else None)
        if qualifier:
            col.set(
                "table", exp.Identifier(this=qualifier, quoted=needs_quotes(qualifier, dialect))
            )
        if sql_text(col, copy=False) not in grouped:  # col is a node of its own
            chosen = col
            break
    if chosen is None:
        return
    for node in list(_own_nodes(select)):
        if isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
            node.set("this", chosen.copy())


def _referenced(select: exp.Select, sources: list[exp.Table], profile: DatabaseProfile) -> set[str]:
    """The sources (by alias or name, lower-cased) whose key a join condition matches:
    the "one" ends of the joins."""
    by_name = {t.alias_or_name.lower(): t for t in sources}
    out: set[str] = set()
    for join in select.args.get("joins") or ():
        on = join.args.get("on")
        for eq in on.find_all(exp.EQ) if on is not None else ():
            for side in (eq.this, eq.expression):
                if not isinstance(side, exp.Column):
                    continue
                source = by_name.get(side.table.lower())
                table = profile.tables.get(source.name) if source is not None else None
                if table is not None and [k.lower() for k in table.primary_key] == [
                    side.name.lower()
                ]:
                    out.add(side.table.lower())
    return out


def _never_null_key(table: TableProfile) -> str | None:
    """The table's single-column key when it is never NULL (a part of a composite key
    would read as a count of what it references)."""
    if len(table.primary_key) != 1:
        return None
    for column in table.columns:
        if column.primary_key and not column.has_nulls and (column.not_null or table.complete):
            return column.name
    return None


def render(tree: exp.Expression, style: Style, dialect: str, *, copy: bool = True) -> str:
    """The SQL text of ``tree`` in ``dialect``, cased and spelled as ``style`` says.

    ``copy=False`` prints without sqlglot's copy of the tree: for a tree built in
    ``dialect`` (see :func:`sqlfoundry.sql.parse.sql_text`), or not used after."""
    functions = "upper" if style.case == "upper" else "lower"
    sql = sql_text(tree, dialect, copy=copy, normalize_functions=functions)
    return _respell(sql, dialect, style.case == "lower", style.not_equal)


_WORD_TYPES_KEPT = {TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER}


def _respell(sql: str, dialect: str, lower_keywords: bool, not_equal: str) -> str:
    """Token-level spelling: keyword case, ``!=``, and ``x NOT IN`` for ``NOT x IN``."""
    if not lower_keywords and "NOT" not in sql.upper() and (not_equal == "<>" or "<>" not in sql):
        return sql  # nothing to respell (most queries): no need to tokenize
    tokens = tokens_of(sql, dialect)
    edits: list[tuple[int, int, str]] = []  # (start, end inclusive, replacement)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.token_type == TokenType.NOT:
            end = _column_chain_end(tokens, i + 1)
            if (
                end is not None
                and end + 1 < len(tokens)
                and tokens[end + 1].token_type == TokenType.IN
            ):
                column = sql[tokens[i + 1].start : tokens[end].end + 1]
                keyword = "not in" if lower_keywords else "NOT IN"
                edits.append((token.start, tokens[end + 1].end, f"{column} {keyword}"))
                i = end + 2
                continue
        if token.token_type == TokenType.NEQ and not_equal != "<>":
            edits.append((token.start, token.end, not_equal))
        elif lower_keywords and _is_keyword(token):
            edits.append((token.start, token.end, token.text.lower()))
        i += 1
    if not edits:
        return sql
    out, last = [], 0
    for start, end, text in edits:
        out.append(sql[last:start])
        out.append(text)
        last = end + 1
    out.append(sql[last:])
    return "".join(out)


def _is_keyword(token) -> bool:
    return token.token_type not in _WORD_TYPES_KEPT and _upper_word(token.text)


@lru_cache(maxsize=512)
def _upper_word(text: str) -> bool:
    return text.replace(" ", "").isalpha() and text.isupper()


def _column_chain_end(tokens: list, i: int) -> int | None:
    """Index of the last token of ``a`` / ``T1.a`` starting at ``i``, or None."""
    names = (TokenType.VAR, TokenType.IDENTIFIER)
    if i >= len(tokens) or tokens[i].token_type not in names:
        return None
    while (
        i + 2 < len(tokens)
        and tokens[i + 1].token_type == TokenType.DOT
        and tokens[i + 2].token_type in names
    ):
        i += 2
    return i
