"""Offline chain-of-thought: a numbered, step-by-step derivation of a known query.

The steps follow the query plan: what the question asks for, which tables hold
it (and the question's words that point at them), how they join and on which
keys, the filters with their values, grouping and aggregation, HAVING,
ordering and limit, set operations, and nested subqueries as lettered
sub-steps. It ends with "So the final query is:" and the query itself, so the
reasoning reaches exactly the reference SQL.
"""

from __future__ import annotations

import re

from sqlglot import exp

from sqlfoundry.db.schema import Schema
from sqlfoundry.sql.parse import sql_text
from sqlfoundry.synth.realiser import plan_of
from sqlfoundry.synth.realiser.describe import aggregate_in
from sqlfoundry.synth.realiser.grammar import join_words
from sqlfoundry.synth.realiser.lexicon import Chooser
from sqlfoundry.synth.realiser.names import schema_words
from sqlfoundry.synth.realiser.plan import Query, SelectQuery, SetQuery, Source
from sqlfoundry.synth.realiser.question import Realiser
from sqlfoundry.synth.realiser.trees import NESTED

_SET_WORDS = {
    "union": ("UNION", "rows from either part (duplicates removed)"),
    "intersect": ("INTERSECT", "only the rows both parts return"),
    "except": ("EXCEPT", "the rows of the first part that the second part does not return"),
}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")


def explain(sql: str, schema: Schema, question: str = "", dialect: str = "sqlite") -> str:
    """The reasoning from ``question`` to ``sql``, ending in a ```sql block holding ``sql``.

    Raises:
        RealiseError: the SQL does not parse or uses something the realiser cannot say.
    """
    query = plan_of(sql, schema, dialect)
    explainer = Explainer(schema_words(schema), Chooser(None), dialect)
    steps = explainer.explain(query, question)
    body = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1))
    return f"Let me work out the query step by step.\n\n{body}\n\nSo the final query is:\n```sql\n{sql.strip()}\n```"


class Explainer(Realiser):
    """Steps of reasoning for a plan; the wording comes from the realiser."""

    def __init__(self, words, choose, dialect: str = "sqlite") -> None:
        super().__init__(words, choose)
        self.dialect = dialect

    def explain(self, query: Query, question: str) -> list[str]:
        """The reasoning steps from the question to the query, then the query."""
        frame = self.frame(query)
        wanted = (frame.np or frame.items) + frame.note
        if frame.kind == "count" and not wanted.startswith("the number"):
            wanted = f"the number of {frame.counted}"
        steps = [f"The question asks for {wanted}."]
        steps += self._query_steps(query, question.lower(), depth=0)
        return steps

    # ------------------------------------------------------------------ queries

    def _query_steps(self, query: Query, question: str, depth: int) -> list[str]:
        if isinstance(query, SetQuery):
            word, meaning = _SET_WORDS[query.kind]
            left = self._query_steps(query.left, question, depth + 1)
            right = self._query_steps(query.right, question, depth + 1)
            steps = [
                f"This takes two queries combined with {word}, which keeps {meaning}.",
                "The first part: " + self._sub(left, depth + 1),
                "The second part: " + self._sub(right, depth + 1),
            ]
            order = self._ordering(query.order, query.limit, None, first_of(query))
            return steps + ([order] if order else [])
        return self._select_steps(query, question, depth)

    def _select_steps(self, q: SelectQuery, question: str, depth: int) -> list[str]:
        steps = [self._tables(q, question)]
        joins = self._joins(q)
        if joins:
            steps.append(joins)
        subject = self._subject(q)
        scope = self.scope_of(q, subject)
        for cond in q.where:
            steps.append(self._filter(cond, q, scope, question, depth))
        if q.group:
            keys = ", ".join(self._code(g) for g in q.group)
            steps.append(f"Group the rows by {keys}, one group per {self._group_words(q, scope)}.")
        if q.having is not None:
            having_scope = self._counted_scope(q, scope.subject)[0] if q.group else scope
            mod = self._safe_mod(lambda: self._having(q.having, having_scope, self._grouping(q)))
            meaning = f" (the {self._group_plural(q, scope)} {mod.rel})" if mod else ""
            steps.append(f"Keep only the groups where {self._code(q.having)}{meaning}.")
        order = self._ordering(q.order, q.limit, scope, q)
        if order:
            steps.append(order)
        steps.append(self._output(q, scope))
        return steps

    def _sub(self, steps: list[str], depth: int = 1) -> str:
        marks = _LETTERS if depth <= 1 else _ROMAN
        return " ".join(f"({marks[i % len(marks)]}) {s}" for i, s in enumerate(steps))

    # ------------------------------------------------------------------ parts

    def _subject(self, q: SelectQuery) -> Source:
        grouping = self._grouping(q)
        return grouping.entity or self.subject_of(q)

    def _tables(self, q: SelectQuery, question: str) -> str:
        parts = []
        used = _columns_used(q)
        for source in q.sources:
            if source.table is None:
                parts.append(f"a derived table `{source.written}` built by a subquery")
                continue
            name = source.table.table.name
            alias = f" (as {source.written})" if source.alias != name.lower() else ""
            columns = used.get(id(source), [])
            holds = f", which holds the {source.entities}"
            if columns:
                holds += f" with {join_words([f'`{c}`' for c in columns])}"
            hint = _mentioned(question, source)
            parts.append(f"`{name}`{alias}{holds}{hint}")
        lead = "The data comes from " if len(parts) == 1 else "The data comes from these tables: "
        return lead + "; ".join(parts) + "."

    def _joins(self, q: SelectQuery) -> str:
        if len(q.sources) < 2:
            return ""
        parts = []
        for link in q.links:
            child, parent = link.child, link.parent
            on = f"{self._ref(child.source, child.name)} = {self._ref(parent.source, parent.name)}"
            if link.kind == "same":
                why = f"rows with the same {child.words.noun if child.words else child.name}"
            else:
                why = f"each {child.source.entity} points to its {self.role(link)}"
            parts.append(f"{on} ({why})")
        linked = {id(lk.child.source) for lk in q.links} | {id(lk.parent.source) for lk in q.links}
        loose = [s for s in q.sources[1:] if id(s) not in linked]
        text = "Join the tables on " + "; ".join(parts) + "." if parts else ""
        if loose:
            names = join_words([f"`{self._name(s)}`" for s in loose])
            text += (" " if text else "") + (
                f"{names} is joined without a key condition, so every pair of rows is combined."
            )
        return text

    def _filter(
        self, cond: exp.Expression, q: SelectQuery, scope, question: str, depth: int
    ) -> str:
        mod = self._safe_mod(lambda: self.restrict([cond], scope, existence=False))
        meaning = f" (the {scope.subject.entities} {mod.post})" if mod else ""
        text = f"Filter with {self._code(cond)}{meaning}."
        # The nested queries of this condition itself; theirs are explained inside them.
        subs = [
            n for n in cond.walk(prune=lambda n: isinstance(n, NESTED)) if isinstance(n, NESTED)
        ]
        for node in subs[:3]:
            inner = q.sub(node)
            steps = self._query_steps(inner, question, depth + 1)
            text += " The subquery works like this: " + self._sub(steps, depth + 1)
        return text

    def _group_plural(self, q: SelectQuery, scope) -> str:
        grouping = self._grouping(q)
        if grouping.entity is not None:
            return grouping.entity.entities
        return "groups"

    def _group_words(self, q: SelectQuery, scope) -> str:
        grouping = self._grouping(q)
        if grouping.entity is not None:
            return grouping.entity.entity
        return join_words([self.noun(g, scope) for g in q.group])

    def _ordering(self, order, limit, scope, q: SelectQuery | None) -> str:
        if not order and limit is None:
            return ""
        parts = [f"{self._code(e)} {'descending' if desc else 'ascending'}" for e, desc in order]
        text = f"Sort by {join_words(parts)}" if parts else "Take the rows in any order"
        if limit is not None:
            rows = "only the first row" if limit == 1 else f"the first {limit} rows"
            text += f" and keep {rows} (LIMIT {limit})"
            target = self._ranked(q) if order and isinstance(q, SelectQuery) else None
            if target:
                text += f", which gives {target}"
        return text + "."

    def _ranked(self, q: SelectQuery) -> str | None:
        """What ORDER BY ... LIMIT picks out, in words ("the three most expensive books")."""
        frame = self._safe_mod(lambda: self.frame(q))
        if frame is None:
            return None
        if frame.kind == "sup":
            return frame.head
        if frame.kind == "list_of":
            return frame.items
        return None

    def _output(self, q: SelectQuery, scope) -> str:
        columns = ", ".join(self._code(p) for p in q.node.expressions)
        distinct = " with DISTINCT to drop duplicates" if q.distinct else ""
        aggs = [p for p in q.projections if aggregate_in(p)]
        what = ""
        if aggs:
            nouns = [self.noun(a, scope) for a in aggs]
            per = " for each group" if q.group else ""
            what = f", computing the {join_words(nouns)}{per}"
        return f"Select {columns}{distinct}{what}."

    # ------------------------------------------------------------------ helpers

    def _safe_mod(self, make):
        try:
            return make()
        except Exception:  # a condition the realiser cannot word still gets its SQL shown
            return None

    def _code(self, node: exp.Expression) -> str:
        # The plan's tree is its own, parsed in this dialect: printed without a copy.
        return f"`{sql_text(node, self.dialect, copy=False)}`"

    def _ref(self, source: Source, column: str) -> str:
        return f"`{source.written}.{column}`"

    def _name(self, source: Source) -> str:
        return source.table.table.name if source.table is not None else source.alias


def first_of(query: Query) -> SelectQuery:
    """The first SELECT of a query (the left of any set operations)."""
    while isinstance(query, SetQuery):
        query = query.left
    return query


def _columns_used(q: SelectQuery) -> dict[int, list[str]]:
    """The names of the columns ``q`` uses of each source (by its id), in the order of
    their first use: one walk of the query for all its sources."""
    used: dict[int, list[str]] = {}
    for node in _walk_columns(q.node):
        col = q.col(node)
        if col is not None:
            names = used.setdefault(id(col.source), [])
            if col.name not in names:
                names.append(col.name)
    return used


def _walk_columns(select: exp.Select):
    for node in select.walk(prune=lambda n: isinstance(n, NESTED) and n is not select):
        if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
            yield node


def _mentioned(question: str, source: Source) -> str:
    """' (the question says "singers")' when the question names the table's rows."""
    if not question:
        return ""
    for word in (source.entities, source.entity):
        if re.search(rf"\b{re.escape(word.lower())}\b", question):
            return f' (the question says "{word}")'
    return ""
