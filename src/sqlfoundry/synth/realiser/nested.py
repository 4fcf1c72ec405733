"""Conditions with nested queries: IN, EXISTS and comparisons with a subquery.

``dog_id IN (SELECT dog_id FROM treatments)`` is "dogs that have a treatment";
``author_id IN (SELECT author_id FROM authors WHERE ...)`` is "whose author is one
of the authors from ..."; anything else is said through the nested query's own
noun phrase ("whose name is one of the names of singers from France").
"""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.synth.realiser.describe import Scope
from sqlfoundry.synth.realiser.grammar import plural_noun, with_article
from sqlfoundry.synth.realiser.lexicon import COUNT_COMPARE, ROLE_FORMS
from sqlfoundry.synth.realiser.mods import (
    Mod,
    a_noun,
    be_clause,
    have,
    lacking,
    lacking_child,
    provided,
    through_child,
    through_role,
    with_,
)
from sqlfoundry.synth.realiser.names import ColumnWords
from sqlfoundry.synth.realiser.plan import SelectQuery, SetQuery, Source
from sqlfoundry.synth.realiser.trees import OPS, is_value, own_columns, unparen


class NestedConditions:
    """Mixin of :class:`~sqlfoundry.synth.realiser.conditions.ConditionDescriber` for
    conditions holding a nested query."""

    def _compare_query(
        self,
        left: exp.Expression,
        w: ColumnWords | None,
        noun: str,
        op: str,
        inner: SelectQuery | SetQuery,
        scope: Scope,
    ) -> Mod:
        own = self._against_own_column(left, noun, op, inner, scope)
        if own is not None:
            return own
        target = _key_target(inner)
        fk_match = w is not None and w.fk and target is not None and op in ("=", "!=")
        if fk_match and target.lower() == w.fk[0].lower():
            # "whose stadium is the largest stadium"
            negation = "not " if op == "!=" else ""
            return self.whose(w.role or noun, f"is {negation}{self.entity_np(inner, False)}")
        return self.whose(noun, self._predicate(op, self.query_np(inner, plural=False), None, noun))

    def _against_own_column(
        self, left: exp.Expression, noun: str, op: str, inner: SelectQuery | SetQuery,
        scope: Scope,
    ) -> Mod | None:  # fmt: skip
        """``m = (SELECT MAX(m) FROM t)`` as "with the highest m", ``m > (SELECT AVG(m)
        FROM t)`` as "with an m above the average": the column against itself over
        its own table, as people say it. None for other comparisons."""
        if not isinstance(inner, SelectQuery) or len(inner.projections) != 1 or inner.group:
            return None
        agg = unparen(inner.projections[0])
        if not isinstance(agg, (exp.Max, exp.Min, exp.Avg)) or not isinstance(agg.this, exp.Column):
            return None
        col = scope.q.col(unparen(left)) if isinstance(unparen(left), exp.Column) else None
        inner_col = inner.col(agg.this)
        if col is None or inner_col is None or col.source.table is None:
            return None
        if inner_col.source.table is None or inner_col.name.lower() != col.name.lower():
            return None
        if inner_col.source.table.table.name != col.source.table.table.name:
            return None
        if any(self._is_correlation(c, inner) for c in inner.where):
            return None
        among = ""
        if inner.where:
            mod = self.restrict(inner.where, self.scope_of(inner), existence=False)
            if mod is None:
                return None
            among = f" among {inner_col.source.entities} {mod.after(True)}"
        if not among and len(scope.q.where) > 1:
            # Other filters on the row: say the extreme is over all rows, not among those.
            among = f" of all {inner_col.source.entities}"
        timed = col.words is not None and col.words.kind in ("date", "year")
        if isinstance(agg, (exp.Max, exp.Min)) and op == "=":
            high = isinstance(agg, exp.Max)
            word = (
                ("latest" if high else "earliest") if timed else ("highest" if high else "lowest")
            )
            return with_(f"the {word} {noun}{among}")
        if isinstance(agg, exp.Avg) and op in (">", "<", ">=", "<="):
            side = "above" if op in (">", ">=") else "below"
            if timed:
                side = "after" if side == "above" else "before"
            average = "the average" if not among else f"the average{among}"
            return with_(f"{a_noun(noun)} {side} {average}")
        return None

    def _in_query(
        self, left: exp.Expression, inner: SelectQuery | SetQuery, scope: Scope, negated: bool
    ) -> Mod:
        w = self.words_of(left, scope)
        noun = self.noun(left, scope)
        here = scope.subject
        if isinstance(inner, SelectQuery) and len(inner.projections) == 1 and w is not None:
            icol = None
            proj = inner.projections[0]
            if isinstance(proj, exp.Column):
                icol = inner.col(proj)
            iw = icol.words if icol is not None else None
            if iw is not None and here.table is not None:
                here_name = here.table.table.name.lower()
                refers_here = iw.fk is not None and iw.fk[0].lower() == here_name
                if refers_here and w.key and _plain_or_counted(inner):
                    return self._through_nested_child(icol.source, inner, negated)
                if (
                    w.fk
                    and icol.source.table is not None
                    and (icol.source.table.table.name.lower() == w.fk[0].lower() and iw.key)
                ):
                    role = w.role or noun
                    if not negated and _plain_filter(inner):
                        # fk IN (SELECT key FROM parent WHERE c): "with an author from France",
                        # as the join would say it, not "whose author is one of the authors ...".
                        inner_mod = self.restrict(
                            inner.where, self.scope_of(inner, icol.source), existence=False
                        )
                        if inner_mod is not None:
                            form = self.choose.weighted(ROLE_FORMS)
                            return through_role(role, inner_mod, form)
                    np = self.entity_np(inner, plural=True)
                    return self.whose(role, f"is {'not ' if negated else ''}one of {np}")
                if (
                    w.key
                    and iw.key
                    and icol.source.table is not None
                    and icol.source.table.table.name.lower() == here_name
                ):
                    np = self.entity_np(inner, plural=True)
                    return be_clause(f"{'not ' if negated else ''}among {np}")
        np = self.query_np(inner, plural=True)
        return self.whose(noun, f"is {'not ' if negated else ''}one of {np}")

    def _through_nested_child(self, child: Source, inner: SelectQuery, negated: bool) -> Mod:
        """``id IN (SELECT fk FROM child ...)``: "that have a {child} ..."."""
        subject = child
        noun = child.entity
        if child.table is not None and child.table.bridge:
            # Say the linked row instead of the link: "that have a pet whose type is 'cat'".
            other = [lk for lk in inner.links if lk.child.source is child]
            if other:
                subject = other[0].parent.source
                noun = self.role(other[0])
            else:
                noun = self.bridge_noun(child, None)
        inner_scope = self.scope_of(inner, subject)
        mod = self.restrict(inner.where, inner_scope, existence=False)
        if inner.having is not None and inner.group:
            counted = self._having_count(inner, noun, mod)
            if counted is not None:
                return (lacking if negated else have)(counted)
        if negated:
            return lacking_child(noun, mod, self.choose.chance(0.5))
        return through_child(noun, mod)

    def _having_count(self, inner: SelectQuery, noun: str, mod: Mod | None) -> str | None:
        """``HAVING count(*) > 2`` as "more than 2 pets" (with the rows' own restriction);
        None for other HAVING shapes."""
        cond = unparen(inner.having)
        if type(cond) not in OPS or not isinstance(cond.this, exp.Count):
            return None
        if not is_value(cond.expression):
            return None
        word = self.choose.pick(COUNT_COMPARE[OPS[type(cond)]])
        n = unparen(cond.expression).this
        if n == "1":
            return f"{word} one {noun}{' ' + mod.post_one if mod else ''}"
        return f"{word} {n} {plural_noun(noun)}{' ' + mod.post if mod else ''}"

    def _exists(self, inner: SelectQuery | SetQuery, scope: Scope, negated: bool) -> Mod:
        if not isinstance(inner, SelectQuery):
            np = self.query_np(inner, plural=True)
            return be_clause(f"{'not ' if negated else ''}related to {np}")
        correlated = [c for c in inner.where if self._is_correlation(c, inner)]
        rest = [c for c in inner.where if c not in correlated]
        child = inner.sources[0]
        for cond in correlated:
            for node in own_columns(cond):
                col = inner.col(node)
                if col is not None and col.source in inner.sources:
                    child = col.source
        inner_scope = self.scope_of(inner, child)
        mod = self.restrict(rest, inner_scope, existence=False)
        noun = child.entity
        if child.table is not None and child.table.bridge:
            noun = self.bridge_noun(child, scope.subject)
        if not correlated:  # EXISTS about the database, not about this row
            tail = f" {mod.post_one}" if mod else ""
            there = f"there is no {noun}" if negated else f"there is {with_article(noun)}"
            return provided(f"{there}{tail}")
        if negated:
            return lacking_child(noun, mod, self.choose.chance(0.5))
        return through_child(noun, mod)

    def _is_correlation(self, cond: exp.Expression, inner: SelectQuery) -> bool:
        cols = [inner.col(n) for n in own_columns(cond)]
        inside = any(c is not None and c.source in inner.sources for c in cols)
        outside = any(c is not None and c.source not in inner.sources for c in cols)
        return inside and outside


def _plain_or_counted(inner: SelectQuery) -> bool:
    """A nested query said by its conditions alone: no ordering or limit, and grouping
    only for a ``HAVING count(*) ...`` ("that have more than 2 pets")."""
    if inner.order or inner.limit is not None:
        return False
    if not inner.group and inner.having is None:
        return True
    having = unparen(inner.having) if inner.having is not None else None
    return (
        having is not None
        and type(having) in OPS
        and isinstance(having.this, exp.Count)
        and not isinstance(having.this.this, exp.Distinct)
        and is_value(having.expression)
    )


def _key_target(inner: SelectQuery | SetQuery) -> str | None:
    """The table whose key a one-column nested query returns, if it does."""
    if not isinstance(inner, SelectQuery) or len(inner.projections) != 1:
        return None
    proj = inner.projections[0]
    if not isinstance(proj, exp.Column):
        return None
    col = inner.col(proj)
    if col is None or col.words is None or col.source.table is None:
        return None
    if col.words.key:
        return col.source.table.table.name
    if col.words.fk:
        return col.words.fk[0]
    return None


def _plain_filter(query: SelectQuery) -> bool:
    """A SELECT of one table that only filters its rows (no grouping, ranking or nesting)."""
    return (
        len(query.sources) == 1
        and bool(query.where)
        and not query.group
        and query.having is None
        and not query.order
        and query.limit is None
        and not query.nested
    )
