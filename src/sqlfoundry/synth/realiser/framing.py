"""From a query plan to a :class:`Frame`: what is asked, about which rows, grouped how.

A plain SELECT is a list, a superlative (ORDER BY ... LIMIT), a count or a row
of aggregates; a grouped one is a figure per entity ("for each stadium") or
per value ("for each country"). Set operations are in :mod:`.sets`; GROUP BY,
HAVING and ORDER BY phrases in :mod:`.clauses`.
"""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.sql.parse import sql_text
from sqlfoundry.synth.realiser.clauses import ClauseDescriber, Grouping, post
from sqlfoundry.synth.realiser.describe import AGGREGATES, Scope, aggregate_in
from sqlfoundry.synth.realiser.frames import Frame
from sqlfoundry.synth.realiser.grammar import join_words, number_word, plural_noun
from sqlfoundry.synth.realiser.items import group_noun, looks_plural, merge_items, plural_item
from sqlfoundry.synth.realiser.lexicon import PERSONS
from sqlfoundry.synth.realiser.mods import Mod, all_of
from sqlfoundry.synth.realiser.plan import Query, SelectQuery, SetQuery, Source
from sqlfoundry.synth.realiser.relations import counted_source
from sqlfoundry.synth.realiser.sets import SetFrames
from sqlfoundry.synth.realiser.trees import conditional_count, share_of, unparen


class Framer(SetFrames, ClauseDescriber):
    """Builds frames; subclassed by the sentence builder."""

    _plural_items: bool | None = None  # drawn once per sentence

    # ------------------------------------------------------------------ entry points

    def frame(self, query: Query) -> Frame:
        """The frame of a query: what it asks, about which rows, grouped how."""
        frame = self._set_frame(query) if isinstance(query, SetQuery) else self._select_frame(query)
        if not frame.rows:
            frame.rows = frame.np.removeprefix("the ")
        return frame

    def rows_noun(self, source: Source, origin: Source | None = None) -> str:
        if source.query is not None:
            return self.frame(source.query).rows
        return super().rows_noun(source, origin)

    def query_np(self, query: Query, plural: bool = True) -> str:
        """A nested query as a noun phrase, with its counting note."""
        frame = self.frame(query)
        return frame.np + frame.note

    def entity_np(self, query: Query, plural: bool = True) -> str:
        """The rows a nested query picks out, named as entities."""
        if isinstance(query, SetQuery):
            return self.query_np(query, plural)
        q = query
        grouping = self._grouping(q)
        if q.group and grouping.entity is None:
            return self.frame(q).np  # "the breed code with the fewest dogs"
        subject = grouping.entity or self.subject_of(q)
        scope = self.scope_of(q, subject)
        mods = self._entity_mods(q, scope, grouping)
        if q.order and q.limit is not None and (grouping.entity or not q.group):
            return self._superlative(q, scope, mods)[0]
        if q.limit is not None:
            return f"the {self._count_head(q.limit, scope.subject)}{post(mods, q.limit != 1)}"
        return f"the {subject.entities if plural else subject.entity}{post(mods, plural)}"

    # ------------------------------------------------------------------ SELECT

    def _select_frame(self, q: SelectQuery) -> Frame:
        grouping = self._grouping(q)
        has_agg = any(aggregate_in(p) for p in q.projections)
        if grouping.entity is not None:
            return self._entity_group_frame(q, self.scope_of(q, grouping.entity), grouping, has_agg)
        if q.group:
            return self._column_group_frame(q, self.scope_of(q, counted_source(q)), grouping)
        scope = self.scope_of(q, self.subject_of(q))
        if has_agg:
            return self._aggregate_frame(q, scope)
        mods = self._entity_mods(q, scope, grouping)
        if q.order and q.limit is not None:
            return self._sup_frame(q, scope, mods)
        return self._list_frame(q, scope, mods)

    # ------------------------------------------------------------------ frames

    def _items(self, projections: list[exp.Expression], scope: Scope, plural: bool,
               count_as_number: bool = False) -> tuple[str, bool]:  # fmt: skip
        """The requested items with their article ("the names and ages") and whether
        they take "are"."""
        nouns: list[tuple[str, str, str]] = []  # (kind, noun, key for merging)
        # People say "the name and age of singers" about as often as "the names and ages";
        # one sentence keeps one habit (both sides of a UNION read alike).
        if self._plural_items is None:
            self._plural_items = not self.choose.chance(0.45)
        each = plural and self._plural_items
        for proj in projections:
            node = unparen(proj)
            if isinstance(node, exp.Star) or (
                isinstance(node, exp.Column) and isinstance(node.this, exp.Star)
            ):
                nouns.append(("star", "all the details", ""))
                continue
            if isinstance(node, exp.Count) and count_as_number and self.counts_rows(node, scope.q):
                nouns.append(("agg", "number", "count"))
                continue
            if isinstance(node, (exp.Avg, exp.Sum, exp.Min, exp.Max)) and isinstance(
                node.this, exp.Column
            ):
                word = self.aggregate_noun(node, scope).split(" ", 1)[0]
                nouns.append(("agg", self.noun(node.this, scope), word))
                continue
            if aggregate_in(node) or isinstance(node, exp.Literal):
                nouns.append(("expr", self.noun(node, scope), ""))
                continue
            noun = self.noun(node, scope)
            nouns.append(("col", plural_item(noun) if each else noun, ""))
        merged = merge_items(nouns)
        many = (
            (each if nouns[0][0] == "col" else plural)
            or len(merged) > 1
            or looks_plural(merged[0][1])
        )
        inner_and = len(merged) > 1 and any(" and " in t for _, t in merged)
        if not any(kind == "star" for kind, _ in merged) and not inner_and:
            return "the " + join_words([t for _, t in merged]), many
        texts = [t if kind == "star" else f"the {t}" for kind, t in merged]
        return join_words(texts), many

    def _head(self, scope: Scope, mods: Mod | None, limit: int | None = None) -> str:
        if limit is not None:
            return self._count_head(limit, scope.subject) + post(mods, limit != 1)
        if mods is None:
            return self.choose.pick(("all ", "all the ", "")).rstrip() + (
                f" {scope.subject.entities}"
            )
        the = "the " if self.choose.chance(0.35) else ""
        entities = scope.subject.entities
        if (
            entities.rsplit(" ", 1)[-1].lower() in PERSONS
            and mods.rel.startswith("that ")
            and self.choose.chance(0.5)
        ):
            # People get a relative clause: "students who are older than 20".
            return f"{the}{entities} {mods.relative(True)}"
        return the + entities + post(mods, True)

    def _list_frame(self, q: SelectQuery, scope: Scope, mods: Mod | None) -> Frame:
        """Columns of the subject's rows: "the names and ages of singers from France"."""
        items, plural = self._items(q.projections, scope, plural=q.limit != 1)
        if q.distinct:
            items = items.replace("the ", f"the {self.different} ", 1)
        head = self._head(scope, mods, q.limit)
        order = self._order_phrase(q.order, scope)
        frame = Frame(kind="list", items=items, plural=plural, head=head, order=order)
        frame.np = f"{items} of {head}{order}"
        if self._is_entity_name(q, scope):  # "the models that ...", not "the models of models"
            different = f"{self.different} " if q.distinct else ""
            frame.np = f"the {different}{head.removeprefix('all ').removeprefix('the ')}{order}"
        if self._identifies(q, scope):
            frame.rows = head.removeprefix("all ")
            frame.rows_head, frame.rows_mod = scope.subject.entities, mods
        name_only = self._names_only(q, scope)
        if name_only and mods is not None and mods.rel.startswith("that ") and not q.limit:
            frame.which.append(f"Which {scope.subject.entities} {mods.rel[5:]}{order}?")
        return frame

    def _which_with_figure(
        self,
        frame: Frame,
        q: SelectQuery,
        noun: str,
        measure: str,
        plural: bool,
        other: exp.Expression | None = None,
        scope: Scope | None = None,
        label: str = "",
    ) -> None:
        """ "Which country has the most cities, and how many?": a ranking that also
        returns the figure it ranks by, said once instead of twice; with ``other``, a
        second figure of the winners: "..., and what is its latest booking date?".
        Requests get the same shape: "the country with the most cities, and that number"
        (``label`` names the column shown for an entity: "the name of the country ...")."""
        if not measure.startswith("with "):
            return
        node = unparen(q.order[0][0])
        verb = "have" if plural else "has"
        which = f"Which {noun} {verb} {measure[5:]}"
        the = f"the {label} of the {noun} {measure}" if label else f"the {noun} {measure}"
        if other is not None and scope is not None:
            figure = self.noun(other, scope)
            if self.counts_rows(unparen(other), q):
                many = figure.removeprefix("number of ")
                does = "do they" if plural else "does it"
                frame.which.append(f"{which}, and how many {many} {does} have?")
            elif plural:
                frame.which.append(f"{which}, and what are their {plural_item(figure)}?")
            else:
                frame.which.append(f"{which}, and what is its {figure}?")
            frame.requests.append(f"{the}, and {'their' if plural else 'its'} {figure}")
            return
        if isinstance(node, exp.Count):
            frame.which.append(f"{which}, and how many?")
            frame.requests.append(f"{the}, and {'those numbers' if plural else 'that number'}")
            return
        words = {exp.Avg: "average", exp.Sum: "total", exp.Max: "maximum", exp.Min: "minimum"}
        word = words.get(type(node))
        if word is None:
            return
        those = f"those {word}s" if plural else f"that {word}"
        frame.which.append(f"{which}, and what {'are' if plural else 'is'} {those}?")
        frame.requests.append(f"{the}, and {those}")

    def _said_in_counts(self, q: SelectQuery, mod: Mod | None) -> bool:
        """Whether a short restriction of the counted rows can ride on the counts instead
        of leading the sentence: the one aggregate is a row count ("the most concerts in
        2014"), which says it. Now and then, as people do."""
        if mod is None or not mod.compact or len(mod.post.split()) > 6 or q.having is not None:
            return False
        exprs = list(q.projections) + [e for e, _ in q.order]
        aggregates = [n for e in exprs for n in e.find_all(*AGGREGATES)]
        # One count, said once: a count both shown and ranked by would say it twice.
        if len(aggregates) != 1 or not self.counts_rows(aggregates[0], q):
            return False
        return self.choose.chance(0.7)

    def _names_only_of(self, node: exp.Expression, q: SelectQuery, scope: Scope) -> bool:
        col = q.col(node) if isinstance(node, exp.Column) else None
        return bool(col and col.source is scope.subject and col.words and col.words.name_like)

    def _identifies(self, q: SelectQuery, scope: Scope) -> bool:
        """Whether the result rows stand for the subject's rows (its key or name)."""
        for proj in q.projections:
            col = q.col(proj) if isinstance(proj, exp.Column) else None
            if (
                col is not None
                and col.source is scope.subject
                and col.words is not None
                and (col.words.key or col.words.name_like)
            ):
                return True
        return False

    def _is_entity_name(self, q: SelectQuery, scope: Scope) -> bool:
        """A single projected column that is the subject's name and reads as the entity itself
        (``model_list.Model``)."""
        if len(q.projections) != 1 or not isinstance(q.projections[0], exp.Column):
            return False
        col = q.col(q.projections[0])
        return bool(col and col.source is scope.subject and col.words and col.words.name_like
                    and col.words.noun.lower() == scope.subject.entity.lower())  # fmt: skip

    def _names_only(self, q: SelectQuery, scope: Scope) -> bool:
        if len(q.projections) != 1 or not isinstance(q.projections[0], exp.Column):
            return False
        col = q.col(q.projections[0])
        return (
            col is not None
            and col.source is scope.subject
            and bool(col.words and col.words.name_like)
        )

    def _sup_frame(self, q: SelectQuery, scope: Scope, mods: Mod | None) -> Frame:
        """ORDER BY ... LIMIT: "the name of the oldest singer"."""
        head, plural = self._superlative(q, scope, mods)
        items, items_plural = self._items(q.projections, scope, plural=plural,
                                          count_as_number=False)  # fmt: skip
        frame = Frame(kind="sup", items=items, plural=items_plural, head=head)
        frame.np = f"{items} of {head}"
        if self._names_only(q, scope) or self._star_only(q):
            frame.which.append(self._which_sup(q, scope, mods, plural))
        return frame

    def _star_only(self, q: SelectQuery) -> bool:
        return len(q.projections) == 1 and isinstance(q.projections[0], exp.Star)

    def _which_sup(self, q: SelectQuery, scope: Scope, mods: Mod | None, plural: bool) -> str:
        """ "Which three singers from France are the oldest?" """
        expr, desc = q.order[0]
        k = q.limit or 1
        subject = scope.subject
        noun = subject.entity if not plural else f"{number_word(k)} {subject.entities}"
        after = post(mods, plural)
        w = self.words_of(expr, scope)
        col = q.col(unparen(expr)) if isinstance(unparen(expr), exp.Column) else None
        if q.offset:
            return f"Which {noun}{after} {'are' if plural else 'is'} {self._superlative(q, scope, None)[0]}?"
        if w is not None and w.superlative and col is not None and col.source is subject:
            adj = w.superlative[0] if desc else w.superlative[1]
            return f"Which {noun}{after} {'are' if plural else 'is'} the {adj}?"
        measure = self._rank_measure(expr, desc, scope)
        if measure.startswith("with "):
            verb = "have" if plural else "has"
            return f"Which {noun}{after} {verb} {measure[5:]}?"
        return f"Which {noun}{after} {'are' if plural else 'is'} the one {measure}?"

    def _aggregate_frame(self, q: SelectQuery, scope: Scope) -> Frame:
        """One row of aggregates: a count ("How many ...?") or figures over the rows."""
        counted = scope.counted
        if (
            counted is not None
            and counted.table is not None
            and counted.table.bridge
            and (scope.subject is not counted)
        ):
            scope.counted = scope.subject  # a link table's rows are counted as what they link to
        only = q.projections[0] if len(q.projections) == 1 else None
        conditional = conditional_count(only) if only is not None else None
        where = list(q.where) + ([conditional] if conditional is not None else [])
        mods = self.restrict(where, scope, used=self._used(q))
        derived = scope.counted.query if scope.counted is not None else None
        if derived is not None and scope.counted is scope.subject:
            inner = self.frame(derived)  # counting a subquery's rows: "customers that have ..."
            if inner.rows_head:
                scope.count_noun = inner.rows_head
                mods = all_of([inner.rows_mod, mods])
        rows = self.count_noun(scope)
        head = self._head(scope, mods)
        counts_rows = isinstance(only, exp.Count) and (
            self.counts_rows(only, q) or self._counts_rows(only, scope)
        )
        if conditional is not None or counts_rows:
            frame = Frame(kind="count", counted=rows + post(mods, True), count_noun=rows,
                          count_mod=mods)  # fmt: skip
            frame.np = f"the number of {frame.counted}"
            return frame
        if isinstance(only, exp.Count):
            arg = only.this
            if isinstance(arg, exp.Distinct):
                values = self.aggregate_noun(only, scope).removeprefix(
                    f"number of {self.different} "
                )
                frame = Frame(kind="count", distinct_count=values, head=head)
                frame.np = f"the number of {self.different} {values} of {head}"
                return frame
        if only is not None and share_of(only) is not None:
            scope.count_mod = mods  # the rows the share is taken of, restrictions included
            frame = Frame(kind="agg", items=f"the {self.noun(only, scope)}", plural=False)
            frame.np = frame.items
            return frame
        counts_subject = scope.counted is None or scope.counted is scope.subject
        items, plural = self._items(q.projections, scope, plural=False,
                                    count_as_number=counts_subject)  # fmt: skip
        frame = Frame(kind="agg", items=items, plural=plural, head=head)
        frame.np = f"{items} of {head}"
        return frame

    def _counts_rows(self, node: exp.Count, scope: Scope) -> bool:
        arg = node.this
        if isinstance(arg, exp.Column):
            col = scope.q.col(arg)
            return bool(col and col.words and col.source is scope.subject and (
                col.words.key or not col.words.nullable))  # fmt: skip
        return False

    def _entity_group_frame(
        self, q: SelectQuery, scope: Scope, grouping: Grouping, has_agg: bool
    ) -> Frame:
        """GROUP BY an entity: one row per entity, aggregates over the rows that
        reference it ("the number of concerts of each stadium")."""
        entity = scope.subject
        uses_counts = has_agg or q.having is not None or any(aggregate_in(e) for e, _ in q.order)
        if not uses_counts:  # GROUP BY only removes duplicates
            mods = self._entity_mods(q, scope, grouping)
            if q.order and q.limit is not None:
                return self._sup_frame(q, scope, mods)
            return self._list_frame(q, scope, mods)
        own, _ = self._split_where(q, entity)
        agg_scope, counted_mod, noun = self._counted_scope(q, entity)
        # The counted rows' own restriction is said once, up front ("Among orders
        # from 2020, ..."), not in every count and ranking of the sentence.
        lead = f"among {noun}{post(counted_mod, True)}" if counted_mod is not None else ""
        if lead and self._said_in_counts(q, counted_mod):
            lead = ""  # "the stadium with the most concerts in 2014"
        else:
            agg_scope.count_mod = None
        having = self._having(q.having, agg_scope, grouping) if q.having is not None else None
        mods = all_of([self.restrict(own, agg_scope, existence=False), having])
        note = f", counting only {noun}{post(counted_mod, True)}" if lead else ""
        if q.order and q.limit is not None:
            head, plural = self._superlative(q, agg_scope, mods)
            items, items_plural = self._items(q.projections, agg_scope, plural=plural)
            frame = Frame(kind="sup", items=items, plural=items_plural, head=head, lead=lead)
            frame.np, frame.note = f"{items} of {head}", note
            if self._names_only(q, agg_scope):
                frame.which.append(self._which_sup(q, agg_scope, mods, plural))
            names = [p for p in q.projections if self._names_only_of(p, q, agg_scope)]
            figures = [p for p in q.projections if aggregate_in(p)]
            if len(names) == 1 and len(figures) == 1 and len(q.projections) == 2:
                noun = (
                    entity.entity
                    if not plural
                    else f"{number_word(q.limit or 1)} {entity.entities}"
                )
                measure = self._rank_measure(q.order[0][0], q.order[0][1], agg_scope)
                other = figures[0] if sql_text(figures[0]) != sql_text(q.order[0][0]) else None
                label = self.noun(names[0], agg_scope)
                self._which_with_figure(frame, q, noun + post(mods, plural), measure, plural,
                                        other, agg_scope, label)  # fmt: skip
            return frame
        order = self._order_phrase(q.order, agg_scope)
        if not has_agg:
            frame = self._list_frame(q, agg_scope, mods)
            frame.rows += note
            frame.lead, frame.note = lead, note
            return frame
        items, plural = self._items(q.projections, agg_scope, plural=False)
        per = f"each {entity.entity}{post(mods, False)}"
        frame = Frame(kind="group", items=items, plural=plural, per=per, order=order, lead=lead)
        frame.np, frame.note = f"{items} of {per}{order}", note
        frame.rows = f"{entity.entities}{post(mods, True)}{note}"
        frame.rows_head, frame.rows_mod = entity.entities, mods
        return frame

    def _column_group_frame(self, q: SelectQuery, scope: Scope, grouping: Grouping) -> Frame:
        """GROUP BY plain columns: one row per value ("for each country"), aggregates
        over the rows that share it."""
        rows_mods = self.restrict(q.where, scope)
        rows = scope.subject.entities + post(rows_mods, True)
        scope.count_noun = self.rows_noun(scope.subject)
        # Each text once: printing a node copies it first.
        group_ids = {sql_text(g) for g in grouping.columns}
        texts = [sql_text(p) for p in q.projections]
        ranks_or_aggregates = bool(q.order) or any(t not in group_ids for t in texts)
        # Aggregates and rankings say the rows' restriction once, up front.
        lead = f"among {rows}" if rows_mods is not None and ranks_or_aggregates else ""
        if lead and self._said_in_counts(q, rows_mods):
            lead = ""  # "the year with the most concerts in a stadium with ..."
        scope.count_mod = None if lead else rows_mods
        group_nouns = [
            group_noun(self.noun(g, scope))
            if (w := self.words_of(g, scope)) is None or w.kind == "number"
            else self.noun(g, scope)
            for g in grouping.columns
        ]
        role = self._group_role(q, grouping.columns)
        if len(group_nouns) == 1:
            per_noun, per_plural = group_nouns[0], plural_noun(group_nouns[0])
        else:
            per_noun = f"combination of {join_words(group_nouns)}"
            per_plural = f"combinations of {join_words(group_nouns)}"
        having = self._having(q.having, scope, grouping) if q.having is not None else None
        listed = [p for p, t in zip(q.projections, texts, strict=True) if t in group_ids]
        aggs = [p for p, t in zip(q.projections, texts, strict=True)
                if t not in group_ids]  # aggregates, mostly  # fmt: skip
        lists_groups = bool(listed)
        if q.order and q.limit is not None:
            measure = self._rank_measure(q.order[0][0], q.order[0][1], scope)
            k = q.limit
            head = f"the {per_noun}" if k == 1 else f"the {number_word(k)} {per_plural}"
            head += post(having, k != 1) + f" {measure}"
            items, plural = self._items(q.projections, scope, plural=k != 1)
            frame = Frame(kind="sup", items=items, plural=plural, head=head, lead=lead)
            if len(aggs) == 1 and len(listed) == 1:
                noun = per_noun if k == 1 else f"{number_word(k)} {per_plural}"
                other = aggs[0] if sql_text(aggs[0]) != sql_text(q.order[0][0]) else None
                self._which_with_figure(frame, q, noun + post(having, k != 1), measure, k != 1,
                                        other, scope)  # fmt: skip
            if not aggs and lists_groups:
                frame.kind = "list_of"
                frame.items = head
                frame.plural = k != 1
                frame.np = head
                if measure.startswith("with ") and k == 1:
                    frame.which.append(f"Which {per_noun}{post(having, False)} has {measure[5:]}?")
                if k == 1 and self.counts_rows(q.order[0][0], q) and q.order[0][1]:
                    common = f"What is the most common {per_noun} among {rows}?"
                    frame.which.append(common)
                    frame.which_with_lead.append(common)
                frame.np = head
                frame.note = f", counting only {rows}" if lead else ""
                return frame
            frame.np = f"{items} of {head}"
            frame.note = f", counting only {rows}" if lead else ""
            return frame
        order = self._order_phrase(q.order, scope)
        if not aggs and lists_groups:
            head = (
                f"the {self.different} {per_plural} of {rows}"
                if having is None
                else (f"the {per_plural} {having.post}")
            )
            frame = Frame(kind="list_of", items=head, plural=True, order=order)
            frame.np = head + order
            frame.rows_head, frame.rows_mod = role or per_plural, having
            if having is not None and having.rel.startswith("that "):
                frame.which.append(f"Which {per_plural} {having.rel[5:]}{order}?")
            return frame
        # Counts and shares already name the rows; other aggregates need "of <rows>".
        counts_only = all(
            self.counts_rows(a, q) or conditional_count(a) is not None or share_of(a) is not None
            for a in aggs
        )
        items, plural = self._items(aggs, scope, plural=False, count_as_number=not counts_only)
        per = f"each {per_noun}{post(having, False)}"
        frame = Frame(kind="group", items=items, plural=plural, per=per, order=order, lead=lead)
        frame.rows = f"{per_plural}{post(having, True)}"
        frame.rows_head, frame.rows_mod = role or per_plural, having
        frame.head = "" if counts_only or lead else rows
        if listed:
            frame.per_items = per_noun
        frame.np = f"{items} for {per}{order}"
        frame.note = f", counting only {rows}" if lead else ""
        return frame
