"""The clauses around the conditions: grouping, HAVING, ordering and superlatives.

GROUP BY an entity's key reads as "each stadium"; COUNT(*) then counts the rows
that reference it ("the number of concerts"), with their own WHERE conditions.
ORDER BY ... LIMIT reads as a superlative: "the three oldest singers", "the
stadium with the most concerts".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from sqlfoundry.sql.parse import sql_text
from sqlfoundry.synth.realiser.conditions import ConditionDescriber
from sqlfoundry.synth.realiser.describe import AGGREGATES, Scope, aggregate_in
from sqlfoundry.synth.realiser.grammar import (
    join_words,
    number_word,
    plural_noun,
    singular_noun,
    with_article,
)
from sqlfoundry.synth.realiser.lexicon import (
    ASCENDING,
    COMPARE_WEIGHTS,
    COUNT_COMPARE,
    DESCENDING,
    HIGHEST,
    LOWEST,
    ORDER_VERBS,
)
from sqlfoundry.synth.realiser.mods import Mod, all_of, any_of, have, with_
from sqlfoundry.synth.realiser.plan import SelectQuery, Source
from sqlfoundry.synth.realiser.relations import counted_source
from sqlfoundry.synth.realiser.trees import NEGATED, OPS, is_value, share_of, unparen

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth")  # fmt: skip


@dataclass
class Grouping:
    """How a SELECT groups: by one entity (its key or name), or by plain columns."""

    entity: Source | None  # GROUP BY an entity's key or name: one row per entity
    columns: list[exp.Expression]  # otherwise the grouped expressions


class ClauseDescriber(ConditionDescriber):
    """Conditions plus GROUP BY, HAVING and ORDER BY; the frame builder subclasses it."""

    def _grouping(self, q: SelectQuery) -> Grouping:
        if not q.group:
            return Grouping(None, [])
        entities = set()
        found: Source | None = None
        for g in q.group:
            source = self._group_entity(q, g)
            if source is None:
                return Grouping(None, list(q.group))
            entities.add(id(source))
            found = source
        return Grouping(found if len(entities) == 1 else None, list(q.group))

    def _group_entity(self, q: SelectQuery, node: exp.Expression) -> Source | None:
        if not isinstance(node, exp.Column):
            return None
        col = q.col(node)
        if col is None or col.words is None or col.source not in q.sources:
            return None
        if col.words.key or col.words.name_like:
            return col.source
        for link in q.links:
            if (
                link.child.source is col.source
                and link.child.name == col.name
                and (link.parent.words is not None and link.parent.words.key)
            ):
                return link.parent.source
        return None

    def _split_where(self, q: SelectQuery, entity: Source) -> tuple[list, list]:
        """WHERE conjuncts about the entity side (the entity and what it references)
        and about the counted side (what references it)."""
        own, counted = [], []
        for cond in q.where:
            sources = self._sources(cond, q)
            hops = [self.path(Scope(q, entity), s) for s in sources]
            if all(h is not None and all(x.up for x in h) for h in hops):
                own.append(cond)
            else:
                counted.append(cond)
        return own, counted

    def _used(self, q: SelectQuery) -> set[int]:
        """Sources the sentence names anyway: projected, ordered or grouped by."""
        used = set()
        exprs = list(q.projections) + [e for e, _ in q.order] + list(q.group)
        for expr in exprs:
            for node in expr.find_all(exp.Column):
                col = q.col(node)
                if col is not None:
                    used.add(id(col.source))
        return used

    def _entity_mods(self, q: SelectQuery, scope: Scope, grouping: Grouping) -> Mod | None:
        mods = [self.restrict(q.where, scope, used=self._used(q))]
        if q.having is not None:
            mods.append(self._having(q.having, scope, grouping))
        return all_of(mods)

    def _counted_scope(self, q: SelectQuery, entity: Source) -> tuple[Scope, Mod | None, str]:
        """The scope for aggregates over an entity's related rows, and those rows' noun
        with their own restrictions ("concerts in 2014")."""
        counted = counted_source(q, entity)
        _, counted_conds = self._split_where(q, entity)
        scope = Scope(q=q, subject=entity, counted=counted)
        noun = self.rows_noun(counted, entity if counted is not entity else None)
        mod = None
        if counted_conds and counted is not entity:
            mod = self.restrict(counted_conds, Scope(q=q, subject=counted, counted=counted),
                                existence=False)  # fmt: skip
        scope.count_noun = noun
        scope.count_mod = mod
        return scope, mod, noun

    def _having(self, cond: exp.Expression, scope: Scope, grouping: Grouping, neg=False) -> Mod:
        """HAVING as a restriction of the groups: "that have more than 2 pets"."""
        cond = unparen(cond)
        if isinstance(cond, exp.Not):
            return self._having(cond.this, scope, grouping, not neg)
        if isinstance(cond, (exp.And, exp.Or)):
            parts = [self._having(c, scope, grouping, neg) for c in (cond.this, cond.expression)]
            return any_of(parts) if isinstance(cond, exp.Or) != neg else all_of(parts)
        if isinstance(cond, exp.Between) and isinstance(cond.this, exp.Count):
            low, high = cond.args["low"], cond.args["high"]
            noun = self.count_noun(scope)
            word = "not between" if neg else "between"
            return have(f"{word} {self.value(low, scope)} and {self.value(high, scope)} {noun}")
        if type(cond) in OPS:
            left, right, op = cond.this, cond.expression, OPS[type(cond)]
            if neg:
                op = NEGATED[op]
            if (
                isinstance(left, exp.Count)
                and isinstance(left.this, exp.Distinct)
                and is_value(right)
            ):
                values = self.aggregate_noun(left, scope).removeprefix("number of ")
                word = self.choose.pick(COUNT_COMPARE[op])
                return have(f"{word} {unparen(right).this} {values}")
            if isinstance(left, exp.Count) and is_value(right):
                n = unparen(right).this
                word = self.choose.pick(COUNT_COMPARE[op])
                if n == "1":
                    return have(f"{word} one {self.count_noun(scope, plural=False)}")
                return have(f"{word} {n} {self.count_noun(scope)}")
            above = self._against_average(left, right, op, scope)
            if above is not None:
                return above
            if isinstance(left, AGGREGATES):
                # "whose countries have an average life expectancy below 72"
                value = self.value(right, scope)
                if isinstance(left, exp.Count):
                    return self.whose(self.noun(left, scope), self._predicate(op, value, None))
                counted = scope.counted or scope.subject
                measure = self.noun(left, Scope(scope.q, counted, counted))
                rows = self.count_noun(scope)
                said = f"have {with_article(measure)} {self._amount(op, value)}"
                if self.choose.chance(0.5):
                    # "each government form with a minimum GNP below 500000"
                    return with_(f"{with_article(measure)} {self._amount(op, value)}")
                if self.choose.chance(0.7):
                    return Mod(f"where their {rows} {said}", f"where its {rows} {said}",
                               f"where their {rows} {said}", f"where its {rows} {said}",
                               f"'s {rows} {said}")  # fmt: skip
                return self.whose(rows, said)
        return self.atom(cond, scope, neg)

    def _against_average(
        self, left: exp.Expression, right: exp.Expression, op: str, scope: Scope
    ) -> Mod | None:
        """``HAVING AVG(m) > (SELECT AVG(m) FROM t)``: "with an above-average m"."""
        right = unparen(right)
        if not isinstance(left, exp.Avg) or not isinstance(right, (exp.Subquery, exp.Select)):
            return None
        if op not in (">", ">=", "<", "<=") or not isinstance(left.this, exp.Column):
            return None
        inner = scope.q.sub(right)
        if not isinstance(inner, SelectQuery) or inner.where or inner.group:
            return None
        if len(inner.projections) != 1 or not isinstance(inner.projections[0], exp.Avg):
            return None
        arg = inner.projections[0].this
        mine, theirs = (
            scope.q.col(left.this),
            inner.col(arg) if isinstance(arg, exp.Column) else None,
        )
        if (
            mine is None
            or theirs is None
            or mine.source.table is None
            or theirs.source.table is None
        ):
            return None
        if (mine.source.table.table.name, mine.name) != (
            theirs.source.table.table.name,
            theirs.name,
        ):
            return None
        word = "above-average" if op in (">", ">=") else "below-average"
        counted = scope.counted or scope.subject
        measure = self.noun(left.this, Scope(scope.q, counted, counted))
        if counted is not scope.subject and mine.source is counted:
            rows = singular_noun(self.rows_noun(counted, scope.subject))
            if not measure.lower().startswith(rows.lower()):
                measure = f"{rows} {measure}"
        return with_(with_article(f"{word} {measure}"))

    def _amount(self, op: str, value: str) -> str:
        """A comparison after a noun: "of 4.5", "greater than 4.5", "of at least 4.5"."""
        if op == "=":
            return f"of {value}"
        if op == "!=":
            return f"other than {value}"
        word = self.choose.weighted(COMPARE_WEIGHTS[op])
        return f"of {word} {value}" if word.startswith(("at ", "no ")) else f"{word} {value}"

    def _order_phrase(self, order: list[tuple[exp.Expression, bool]], scope: Scope) -> str:
        """ORDER BY without LIMIT: ", ordered by age from oldest to youngest"."""
        if not order:
            return ""
        if len(order) == 1 and any(
            sql_text(order[0][0]) == sql_text(p) and aggregate_in(p) for p in scope.q.projections
        ):
            # Sorted by a figure the sentence already asks for: point back at it.
            expr, desc = order[0]
            node = unparen(expr)
            word = "number" if isinstance(node, exp.Count) else {
                exp.Avg: "average", exp.Sum: "total", exp.Max: "maximum", exp.Min: "minimum"
            }.get(type(node), "percentage" if share_of(node) else "figure")  # fmt: skip
            if desc or self.choose.chance(0.5):
                return f", in {'descending' if desc else 'ascending'} order of that {word}"
            return f", ordered by that {word}"  # ascending, as ORDER BY is by default
        parts = []
        for i, (expr, desc) in enumerate(order):
            noun = self.noun(expr, scope)
            w = self.words_of(expr, scope)
            the = "the " if isinstance(expr, AGGREGATES) else ""
            if i == 0 and len(order) == 1 and self.choose.chance(0.5):
                # The short forms people use: "in descending order of age", "ordered by age".
                if desc or self.choose.chance(0.4):
                    way = "descending" if desc else "ascending"
                    return f", in {way} order of {the}{noun}"
                return f", {self.choose.pick(ORDER_VERBS)} {the}{noun}"
            if w is not None and w.superlative and isinstance(unparen(expr), exp.Column):
                hi, lo = w.superlative
                direction = f"from {hi} to {lo}" if desc else f"from {lo} to {hi}"
            elif w is not None and w.kind == "text" and isinstance(unparen(expr), exp.Column):
                direction = "in reverse alphabetical order" if desc else "in alphabetical order"
            else:
                direction = self.choose.pick(DESCENDING if desc else ASCENDING)
            lead = self.choose.pick(ORDER_VERBS) if i == 0 else "then by"
            parts.append(f"{lead} {the}{noun} {direction}")
        return ", " + join_words(parts)

    def _superlative(self, q: SelectQuery, scope: Scope, mods: Mod | None) -> tuple[str, bool]:
        """The entity phrase for ORDER BY ... LIMIT k ("the three oldest singers from
        France"), and whether it is plural."""
        expr, desc = q.order[0]
        k = q.limit or 1
        one = k == 1
        offset = q.offset or 0
        entity = scope.subject.entity if one else scope.subject.entities
        count = "" if one else f"{number_word(k)} "
        skip = ""  # LIMIT ... OFFSET: "the second oldest", else "skipping the first 5"
        if one and 0 < offset < len(_ORDINALS):
            count = f"{_ORDINALS[offset]} "
        elif offset:
            skip = f", skipping the first {offset}"
        w = self.words_of(expr, scope)
        after = post(mods, not one)
        col = q.col(unparen(expr)) if isinstance(unparen(expr), exp.Column) else None
        if w is not None and w.superlative and col is not None and col.source is scope.subject:
            adj = w.superlative[0] if desc else w.superlative[1]
            return f"the {count}{adj} {entity}{after}{skip}", not one
        measure = self._rank_measure(expr, desc, scope)
        if mods is not None and not mods.compact:
            among = f" among those {mods.relative(True)}"
            return f"the {count}{entity} {measure}{among}{skip}", not one
        if measure.startswith("with ") and not after and self.choose.chance(0.35):
            # "the stadium that has the most concerts", as often said as "with".
            measure = f"that {'has' if one else 'have'} {measure[5:]}"
        return f"the {count}{entity}{after} {measure}{skip}", not one

    def _rank_measure(self, expr: exp.Expression, desc: bool, scope: Scope) -> str:
        """What a row is ranked by, as a phrase: "with the most concerts"."""
        node = unparen(expr)
        if self.counts_rows(node, scope.q):
            return f"with the {'most' if desc else 'fewest'} {self.count_noun(scope)}"
        w = self.words_of(node, scope)
        noun = self.noun(node, scope)
        if w is not None and w.kind in ("date", "year") and not isinstance(node, AGGREGATES):
            return f"with the {'latest' if desc else 'earliest'} {noun}"
        if w is not None and w.kind == "text" and not isinstance(node, AGGREGATES):
            return f"with the alphabetically {'last' if desc else 'first'} {noun}"
        return f"with the {self.choose.weighted(HIGHEST if desc else LOWEST)} {noun}"

    def _group_role(self, q: SelectQuery, columns: list[exp.Expression]) -> str | None:
        """For GROUP BY one foreign key: the plural of what it references ("customers")."""
        if len(columns) != 1 or not isinstance(columns[0], exp.Column):
            return None
        col = q.col(columns[0])
        if col is None or col.words is None or not col.words.fk or not col.words.role:
            return None
        return plural_noun(col.words.role)

    def _count_head(self, k: int, source: Source) -> str:
        return f"{number_word(k)} {source.entity if k == 1 else source.entities}"


def post(mod: Mod | None, plural: bool) -> str:
    """A modifier after a noun, with its leading space; empty without one."""
    return f" {mod.after(plural)}" if mod is not None else ""
