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
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
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
        self.columns: list[list[_ColumnInfo]] = [
            [_column_info(c) for c in t.columns] for t in schema.tables
        ]
        position = {t.name.lower(): i for i, t in enumerate(schema.tables)}
        self.position = position
        # (table, column) index pairs joined by each foreign key, both directions.
        self.links: list[tuple[int, int, int, int]] = []
        self.neighbours: dict[int, set[int]] = {i: set() for i in range(len(schema.tables))}
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
                        self.neighbours[ti].add(tj)
                        self.neighbours[tj].add(ti)

    @property
    def column_count(self) -> int:
        return sum(len(t.columns) for t in self.schema.tables)


def _column_index(table: Table, name: str) -> int | None:
    lowered = name.lower()
    return next((i for i, c in enumerate(table.columns) if c.name.lower() == lowered), None)


def _column_info(column: Column) -> _ColumnInfo:
    name_words = words(column.name) | (words(column.readable_name) if column.readable_name else frozenset())
    desc = " ".join(x for x in (column.description, column.value_description) if x)
    values = tuple(
        normal
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


def link_schema(
    index: LinkIndex, question: str, max_tables: int | None, max_columns: int | None
) -> Schema:
    """The schema cut down to at most ``max_tables`` tables and ``max_columns`` columns.

    Returns the original Schema object when it already fits.
    """
    schema = index.schema
    n_tables = len(schema.tables)
    table_cap = min(max_tables or n_tables, n_tables)
    column_cap = max_columns or index.column_count
    if n_tables <= table_cap and index.column_count <= column_cap:
        return schema
    q_words = words(question)
    q_text = f" {_normal(question)} "
    column_scores = [
        [
            3.0 * _name_score(info.name_words, q_words)
            + 0.5 * min(4, len(info.desc_words & q_words))
            + (2.0 if any(f" {v} " in q_text for v in info.values) else 0.0)
            for info in columns
        ]
        for columns in index.columns
    ]
    table_scores = [
        3.0 * _name_score(index.table_words[t], q_words)
        + max(column_scores[t], default=0.0)
        + 0.1 * sum(column_scores[t])
        for t in range(n_tables)
    ]
    # One column per table at least, so never more tables than the column budget.
    table_cap = min(table_cap, column_cap)
    kept = _choose_tables(index, table_scores, table_cap)
    columns = _choose_columns(index, kept, column_scores, column_cap)
    return _subset(schema, kept, columns)


def _choose_tables(index: LinkIndex, scores: list[float], cap: int) -> list[int]:
    ranked = sorted(range(len(scores)), key=lambda t: (-scores[t], t))
    chosen = [t for t in ranked if scores[t] > 0][:cap]
    if not chosen:
        # Nothing in the question names anything: the first tables, as the schema orders them.
        return list(range(cap))
    # Bridge tables: a table on the shortest key path between two chosen ones.
    for a in list(chosen):
        for b in list(chosen):
            if a >= b or len(chosen) >= cap:
                continue
            path = _path(index, a, b)
            middle = [t for t in path[1:-1] if t not in chosen]
            if path and len(chosen) + len(middle) <= cap:
                chosen.extend(middle)
    return sorted(chosen)


def _path(index: LinkIndex, start: int, goal: int) -> list[int]:
    """Tables on the shortest foreign-key path from ``start`` to ``goal`` (empty if none)."""
    previous = {start: -1}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while previous[path[-1]] != -1:
                path.append(previous[path[-1]])
            return path[::-1]
        for nxt in sorted(index.neighbours[node]):
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
    # 3. the rest by score, then by table rank and position.
    rest = sorted(
        ((t, c) for t in kept for c in range(len(index.schema.tables[t].columns))),
        key=lambda tc: (-scores[tc[0]][tc[1]], kept.index(tc[0]), tc[1]),
    )
    for t, c in rest:
        if budget <= 0:
            break
        take(t, c)
    return chosen


def _subset(schema: Schema, kept: list[int], columns: dict[int, set[int]]) -> Schema:
    tables = []
    names = {schema.tables[t].name.lower(): columns[t] for t in kept}
    for t in kept:
        table = schema.tables[t]
        cols = [c for i, c in enumerate(table.columns) if i in columns[t]]
        kept_names = {c.name.lower() for c in cols}
        fks = []
        for fk in table.foreign_keys:
            target = schema.table(fk.ref_table)
            ref_cols = names.get(fk.ref_table.lower())
            if target is None or ref_cols is None:
                continue
            ref_names = {target.columns[i].name.lower() for i in ref_cols}
            if all(c.lower() in kept_names for c in fk.columns) and all(
                r.lower() in ref_names for r in fk.ref_columns
            ):
                fks.append(ForeignKey(columns=fk.columns, ref_table=fk.ref_table,
                                      ref_columns=fk.ref_columns))  # fmt: skip
        tables.append(
            table.model_copy(update={
                "columns": cols,
                "primary_key": [k for k in table.primary_key if k.lower() in kept_names],
                "foreign_keys": fks,
            })  # fmt: skip
        )
    return schema.model_copy(update={"tables": tables})
