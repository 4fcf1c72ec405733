"""Schema linking: cut a schema down to the tables and columns a question is about.

A prompt for a 60-table database does not fit a small model, and the extra
tables mislead larger ones. Linking keeps at most ``max_tables`` tables and
``max_columns`` columns in all, chosen by lexical evidence in the question:

- a table or column whose name words appear in the question (``order_date``
  matches "orders placed on which date"; plurals fold to singulars);
- a column whose description words appear in the question;
- a column one of whose sample values appears in the question ("in Lisbon").

Tables on a foreign-key path between two chosen tables are kept when room
remains, so the joins stay writable; within a kept table the key columns that
join it to the other kept tables come first. Everything is kept in schema
order, so the prompt reads like the original schema with parts left out.

The per-schema work (name words, value sets, the key graph) is done once in
:class:`LinkIndex` and shared by every request on that database.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table

_WORD = re.compile(r"[A-Za-z]+|\d+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_STOP = frozenset(
    "a an the of in on at to for by with from and or is are was were be been what which who "
    "whom whose how many much show list give find me all each every that this these those do "
    "does did have has had there their its it as than more most less least".split()
)


def _stem(word: str) -> str:
    """A crude English stem. Question and identifiers go through the same one, so what
    matters is that "booked", "bookings" and "book" meet, not that stems are words."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("sses", "uses", "xes", "ches", "shes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        word = word[:-2]
    return word


def words(text: str) -> frozenset[str]:
    """Lower-cased, singular content words of ``text``; identifiers are split at _ and camelCase."""
    text = _CAMEL.sub(" ", text.replace("_", " "))
    return frozenset(_stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in _STOP)


@dataclass(frozen=True, slots=True)
class _ColumnInfo:
    name_words: frozenset[str]
    desc_words: frozenset[str]
    values: tuple[str, ...]  # lower-cased string samples worth matching


class LinkIndex:
    """What linking needs to know about one schema, computed once."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.table_words = [words(t.name) for t in schema.tables]
        self.column_count = sum(len(t.columns) for t in schema.tables)
        self.columns: list[list[_ColumnInfo]] = [
            [_column_info(c, own) for c in t.columns]
            for t, own in zip(schema.tables, self.table_words, strict=True)
        ]
        position = {t.name.lower(): i for i, t in enumerate(schema.tables)}
        self.position = position
        # (table, column) index pairs joined by each foreign key, both directions.
        self.links: list[tuple[int, int, int, int]] = []
        self.neighbours: dict[int, set[int]] = {i: set() for i in range(len(schema.tables))}
        # Per table, the columns that are the source of a foreign key.
        self.link_columns: list[set[int]] = [set() for _ in schema.tables]
        for ti, table in enumerate(schema.tables):
            for fk in table.foreign_keys:
                tj = position.get(fk.ref_table.lower())
                if tj is None:
                    continue
                for col, ref in zip(fk.columns, fk.ref_columns, strict=False):
                    ci = _column_index(table, col)
                    cj = _column_index(schema.tables[tj], ref)
                    if ci is not None and cj is not None:
                        self.links.append((ti, ci, tj, cj))
                        self.link_columns[ti].add(ci)
                        self.neighbours[ti].add(tj)
                        self.neighbours[tj].add(ti)
        # Key-path lengths between every two tables (None when unconnected), for choosing
        # which chosen table a candidate should join through without searching every pair.
        self.distance = [self._distances(t) for t in range(len(schema.tables))]

    def _distances(self, start: int) -> list[int | None]:
        distance: list[int | None] = [None] * len(self.schema.tables)
        distance[start] = 0
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in self.neighbours[node]:
                if distance[nxt] is None:
                    distance[nxt] = distance[node] + 1
                    queue.append(nxt)
        return distance


def _column_index(table: Table, name: str) -> int | None:
    lowered = name.lower()
    return next((i for i, c in enumerate(table.columns) if c.name.lower() == lowered), None)


def _column_info(column: Column, table_words: frozenset[str]) -> _ColumnInfo:
    name_words = words(column.name) | (
        words(column.readable_name) if column.readable_name else frozenset()
    )
    # reviews.review_date is about dates: the table's own word says nothing about the column.
    name_words = (name_words - table_words) or name_words
    desc = " ".join(x for x in (column.description, column.value_description) if x)
    values = tuple(
        f" {normal} "  # padded: matched as whole words inside the padded question
        for v in column.samples
        if isinstance(v, str) and len(normal := _normal(v)) >= 3 and not normal.isdigit()
    )
    return _ColumnInfo(name_words, words(desc) - name_words, values)


def _normal(text: str) -> str:
    """Lower-cased words separated by single spaces, for whole-word value matching."""
    return " ".join(_WORD.findall(text.lower()))


def _name_score(name_words: frozenset[str], question: frozenset[str]) -> float:
    if not name_words:
        return 0.0
    return len(name_words & question) / len(name_words)


# Which columns of which tables to keep: ((table index, (column index, ...)), ...), in schema order.
Selection = tuple[tuple[int, tuple[int, ...]], ...]


def link_schema(
    index: LinkIndex, question: str, max_tables: int | None, max_columns: int | None
) -> Schema:
    """The schema cut down to at most ``max_tables`` tables and ``max_columns`` columns.

    Returns the original Schema object when it already fits.
    """
    selection = select(index, question, max_tables, max_columns)
    return index.schema if selection is None else subset(index.schema, selection)


def select(
    index: LinkIndex, question: str, max_tables: int | None, max_columns: int | None
) -> Selection | None:
    """What :func:`link_schema` keeps, as indexes; None when the schema already fits.

    A selection is hashable, so renderings of it can be cached.
    """
    schema = index.schema
    n_tables = len(schema.tables)
    table_cap = min(max_tables or n_tables, n_tables)
    column_cap = max_columns or index.column_count
    if n_tables <= table_cap and index.column_count <= column_cap:
        return None
    q_words = words(question)
    q_text = f" {_normal(question)} "
    column_scores = []
    table_scores = []
    for t, columns in enumerate(index.columns):
        scores = []
        for info in columns:
            score = 0.0
            if info.name_words:
                score += 3.0 * len(info.name_words & q_words) / len(info.name_words)
            if info.desc_words:
                score += 0.5 * min(4, len(info.desc_words & q_words))
            for value in info.values:
                if value in q_text:
                    score += 2.0
                    break
            scores.append(score)
        column_scores.append(scores)
        # A foreign-key column (orders.customer_id) is evidence for the table it points to,
        # not for its own: it counts for its column, not for its table.
        links = index.link_columns[t]
        own = [score for c, score in enumerate(scores) if c not in links] if links else scores
        table_scores.append(
            3.0 * _name_score(index.table_words[t], q_words)
            + max(own, default=0.0)
            + 0.1 * sum(own)
        )
    # One column per table at least, so never more tables than the column budget.
    table_cap = min(table_cap, column_cap)
    kept = _choose_tables(index, table_scores, table_cap)
    columns = _choose_columns(index, kept, column_scores, column_cap)
    return tuple((t, tuple(sorted(columns[t]))) for t in kept)


def _choose_tables(index: LinkIndex, scores: list[float], cap: int) -> list[int]:
    """The best-scoring tables that stay joinable: each new table comes with the tables on
    its shortest key path to those already chosen, or not at all when they do not fit."""
    ranked = [t for t in sorted(range(len(scores)), key=lambda t: (-scores[t], t)) if scores[t] > 0]
    if not ranked:
        # Nothing in the question names anything: the first tables, as the schema orders them.
        return list(range(cap))
    chosen = [ranked[0]]
    for table in ranked[1:]:
        if len(chosen) >= cap:
            break
        if table in chosen:
            continue
        reachable = [c for c in chosen if index.distance[table][c] is not None]
        if reachable:
            nearest = min(reachable, key=lambda c: (index.distance[table][c], chosen.index(c)))
            path = _path(index, table, nearest, scores)
            added = [t for t in path[:-1] if t not in chosen]
        else:
            # Unconnected tables still come in alone: a question may need a cross join.
            added = [table]
        if len(chosen) + len(added) <= cap:
            chosen.extend(added)
    return sorted(chosen)


def _path(index: LinkIndex, start: int, goal: int, scores: list[float]) -> list[int]:
    """Tables on the shortest foreign-key path from ``start`` to ``goal`` (empty if none).

    Among paths of one length, the one through better-scoring tables wins
    (``flight_crew`` over ``airports`` between crew members and flights).
    """
    previous = {start: -1}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while previous[path[-1]] != -1:
                path.append(previous[path[-1]])
            return path[::-1]
        for nxt in sorted(index.neighbours[node], key=lambda t: (-scores[t], t)):
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return []


def _choose_columns(
    index: LinkIndex, kept: list[int], scores: list[list[float]], cap: int
) -> dict[int, set[int]]:
    kept_set = set(kept)
    chosen: dict[int, set[int]] = {t: set() for t in kept}
    budget = cap

    def take(t: int, c: int) -> None:
        nonlocal budget
        if budget > 0 and c not in chosen[t]:
            chosen[t].add(c)
            budget -= 1

    # 1. each table's best column (its key when nothing scores), so no table is empty.
    for t in kept:
        table = index.schema.tables[t]
        pk = [_column_index(table, k) for k in table.primary_key]
        best = max(range(len(table.columns)), key=lambda c: (scores[t][c], -c))
        take(t, best if scores[t][best] > 0 or not pk or pk[0] is None else pk[0])
    # 2. the key columns joining kept tables to each other.
    for ti, ci, tj, cj in index.links:
        if ti in kept_set and tj in kept_set:
            take(ti, ci)
            take(tj, cj)
    # 3. the rest by score; unscored ones by position, taking turns between the tables.
    rest = sorted(
        ((t, c) for t in kept for c in range(len(index.schema.tables[t].columns))),
        key=lambda tc: (-scores[tc[0]][tc[1]], tc[1], tc[0]),
    )
    for t, c in rest:
        if budget <= 0:
            break
        take(t, c)
    return chosen


def subset(schema: Schema, selection: Selection) -> Schema:
    """The Schema holding only the selected tables and columns, and the keys among them."""
    kept = {schema.tables[t].name.lower(): {schema.tables[t].columns[c].name.lower() for c in cols}
            for t, cols in selection}  # fmt: skip
    tables = []
    for t, cols in selection:
        table = schema.tables[t]
        kept_names = kept[table.name.lower()]
        fks = [
            ForeignKey(columns=fk.columns, ref_table=fk.ref_table, ref_columns=fk.ref_columns)
            for fk in table.foreign_keys
            if fk.ref_table.lower() in kept
            and all(c.lower() in kept_names for c in fk.columns)
            and all(r.lower() in kept[fk.ref_table.lower()] for r in fk.ref_columns)
        ]
        tables.append(
            table.model_copy(
                update={
                    "columns": [table.columns[c] for c in cols],
                    "primary_key": [k for k in table.primary_key if k.lower() in kept_names],
                    "foreign_keys": fks,
                }
            )  # fmt: skip
        )
    return schema.model_copy(update={"tables": tables})
