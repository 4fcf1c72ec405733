"""Conditions in English: WHERE and ON restrictions become modifiers of the subject.

Each condition is said about the source its columns belong to ("whose type is
'cat'" about pets), then carried to the subject along the join path ("that
have a pet whose type is 'cat'" about students). Conditions on the same joined
row are said together, because SQL applies them to the same row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlglot import exp

from sqlfoundry.synth.realiser.describe import Describer, Scope
from sqlfoundry.synth.realiser.errors import RealiseError
from sqlfoundry.synth.realiser.grammar import join_words, plural_noun, with_article
from sqlfoundry.synth.realiser.lexicon import (
    COMPARATIVES,
    COMPARE_WEIGHTS,
    INTRANSITIVE,
    NAMED,
    ROLE_FORMS,
    TIME_COMPARE,
    YEAR_COMPARE,
)
from sqlfoundry.synth.realiser.mods import (
    Mod,
    all_of,
    any_of,
    attribute,
    be,
    be_clause,
    did,
    through_child,
    through_role,
    with_,
)
from sqlfoundry.synth.realiser.names import ColumnWords
from sqlfoundry.synth.realiser.nested import NestedConditions
from sqlfoundry.synth.realiser.plan import SelectQuery, SetQuery, Source
from sqlfoundry.synth.realiser.relations import Hop
from sqlfoundry.synth.realiser.trees import (
    FLIPPED,
    NEGATED,
    OPS,
    conditional_count,
    conjuncts,
    disjuncts,
    is_value,
    own_columns,
    share_of,
    unparen,
    year_of,
)
from sqlfoundry.synth.realiser.values import (
    Value,
    like_pattern,
    period_end,
    period_start,
    string_value,
)

_TRUE = {"1", "t", "true", "y", "yes"}
_FALSE = {"0", "f", "false", "n", "no"}


@dataclass
class _Node:
    """A node of the join-path trie: conditions on one source, and the paths beyond it."""

    atoms: list[Mod] = field(default_factory=list)
    children: dict[tuple[int, bool], tuple[Hop, _Node]] = field(default_factory=dict)

    def descend(self, hops: list[Hop]) -> _Node:
        node = self
        for hop in hops:
            key = (id(hop.link), hop.up)
            if key not in node.children:
                node.children[key] = (hop, _Node())
            node = node.children[key][1]
        return node


class ConditionDescriber(NestedConditions, Describer):
    """Describer plus conditions; the sentence builder subclasses it."""

    def entity_np(self, query: SelectQuery | SetQuery, plural: bool = True) -> str:
        """The rows a nested query selects, as an entity phrase ("the largest stadium")."""
        raise NotImplementedError

    def noun(self, node: exp.Expression, scope: Scope) -> str:
        share = share_of(node)
        if share is not None:  # "percentage of publishers that are from Australia"
            cond, percent = share
            mod = self.restrict([cond], scope, existence=False)
            word = "percentage" if percent else "share"
            rows = self.count_noun(replace(scope, count_mod=None))
            text = f"{word} of {rows}{' ' + mod.rel if mod else ''}"
            if scope.count_mod is not None:  # "... among orders whose date is in 2023"
                text += f" among {self.count_noun(scope)}"
            return text
        return super().noun(node, scope)

    def aggregate_noun(self, node: exp.Expression, scope: Scope) -> str:
        cond = conditional_count(node)
        if cond is not None:  # SUM(CASE WHEN c THEN 1 ELSE 0 END) counts the rows where c holds
            mod = self.restrict([cond], scope, existence=False)
            return f"number of {self.count_noun(scope)}{' ' + mod.post if mod else ''}"
        return super().aggregate_noun(node, scope)

    # ------------------------------------------------------------------ WHERE

    def restrict(
        self,
        conds: list[exp.Expression],
        scope: Scope,
        existence: bool = True,
        used: set[int] | None = None,
    ) -> Mod | None:
        """One modifier of ``scope.subject`` for all of ``conds`` (an AND).

        Args:
            existence: also say the joins to child tables that no condition
                mentions ("courses *that have an enrolment*"): an inner join
                restricts the subject to rows that have one.
            used: ids of sources the sentence mentions anyway (projected or
                ordered by), whose existence needs no words of its own.
        """
        root = _Node()
        loose: list[Mod] = []
        touched: set[int] = set()
        for cond in conds:
            cond = unparen(cond)
            sources = self._sources(cond, scope.q)
            touched.update(id(s) for s in sources)
            if len(sources) <= 1:
                about = sources[0] if sources else scope.subject
                hops = self.path(scope, about)
                if hops is None:
                    loose.append(self.atom(cond, scope))
                    continue
                root.descend(hops).atoms.append(self.atom(cond, self._about(scope, about)))
            elif isinstance(cond, exp.Or):
                loose.append(any_of([self.restrict([d], scope, False) for d in disjuncts(cond)]))
            else:
                loose.append(self.atom(cond, scope))
        if existence:
            named = touched | (used or set())
            covered = set(named)  # sources on the way to one the sentence names
            for source in scope.q.sources:
                if id(source) in named:
                    covered.update(id(h.target) for h in self.path(scope, source) or [])
            for source in scope.q.sources:
                hops = self.path(scope, source)
                if source is scope.subject or not hops or id(source) in covered:
                    continue
                if any(not h.up for h in hops):
                    root.descend(hops)
        return all_of([self._render(root, scope.subject, scope)] + loose)

    def _about(self, scope: Scope, source: Source) -> Scope:
        if source is scope.subject:
            return scope
        return Scope(q=scope.q, subject=source, counted=scope.counted)

    def _sources(self, cond: exp.Expression, q: SelectQuery) -> list[Source]:
        found: list[Source] = []
        for node in own_columns(cond):
            col = q.col(node)
            if col is not None and col.source in q.sources and col.source not in found:
                found.append(col.source)
        return found

    def _render(self, node: _Node, here: Source, scope: Scope) -> Mod | None:
        parts = list(node.atoms)
        for hop, child in node.children.values():
            parts.append(self._step(hop, child, here, scope))
        return all_of(parts)

    def _step(self, hop: Hop, child: _Node, here: Source, scope: Scope) -> Mod | None:
        target = hop.target
        if hop.up:
            if hop.link.kind == "same":
                inner = self._render(child, target, scope)
                noun = hop.link.child.words.noun if hop.link.child.words else "value"
                tail = f" {inner.post_one}" if inner else ""
                return with_(f"the same {noun} as {with_article(target.entity)}{tail}")
            inner = self._render(child, target, scope)
            form = self.choose.weighted(ROLE_FORMS)
            return through_role(self.role(hop.link), inner, form)
        table = target.table
        if table is not None and table.bridge and not child.atoms and len(child.children) == 1:
            ((next_hop, grandchild),) = child.children.values()
            if next_hop.up and next_hop.target is not here:
                inner = self._render(grandchild, next_hop.target, scope)
                return through_child(self.role(next_hop.link), inner)
        inner = self._render(child, target, scope)
        if table is not None and table.bridge:
            return through_child(self.bridge_noun(target, here), inner)
        if hop.link.kind == "same":
            noun = hop.link.parent.words.noun if hop.link.parent.words else "value"
            tail = f" {inner.post_one}" if inner else ""
            return with_(f"the same {noun} as {with_article(target.entity)}{tail}")
        if here.table is not None and table is not None:
            fks = self.words.fk_columns(table.table.name, here.table.table.name)
            if len(fks) > 1 and hop.link.child.words is not None:
                tail = f" {inner.post_one}" if inner else ""
                return be_clause(
                    f"the {self.role(hop.link)} of {with_article(target.entity)}{tail}"
                )
        return through_child(target.entity, inner)

    # ------------------------------------------------------------------ one condition

    def atom(self, cond: exp.Expression, scope: Scope, negated: bool = False) -> Mod:
        """One condition about ``scope.subject`` (AND/OR/NOT inside it allowed)."""
        cond = unparen(cond)
        if isinstance(cond, exp.Not):
            return self.atom(cond.this, scope, not negated)
        if isinstance(cond, (exp.And, exp.Or)):
            is_or = isinstance(cond, exp.Or) != negated  # De Morgan under NOT
            parts = disjuncts(cond) if isinstance(cond, exp.Or) else conjuncts(cond)
            if is_or and not negated:
                as_list = self._or_as_list(parts, scope)
                if as_list is not None:
                    return as_list
            mods = [self.atom(p, scope, negated) for p in parts]
            return any_of(mods) if is_or else all_of(mods)
        if isinstance(cond, exp.In):
            query = cond.args.get("query")
            if query is not None:
                return self._in_query(cond.this, scope.q.sub(query), scope, negated)
            return self._in_list(cond.this, cond.expressions, scope, negated)
        if isinstance(cond, exp.Exists):
            return self._exists(scope.q.sub(cond.this), scope, negated)
        if isinstance(cond, (exp.Like, exp.ILike)):
            return self._like(cond, scope, negated != bool(cond.args.get("negate")))
        if isinstance(cond, exp.Between):
            return self._between(cond, scope, negated)
        if isinstance(cond, exp.Is):
            return self._null(cond.this, scope, negated)
        if type(cond) in OPS:
            return self._compare(cond, scope, negated)
        if isinstance(cond, exp.Column):
            w = self.words_of(cond, scope)
            return self._flag_mod(w, not negated) or self.whose(
                self.noun(cond, scope), "is not set" if negated else "is set"
            )
        raise RealiseError(f"unsupported condition: {type(cond).__name__}")

    def whose(self, noun: str, predicate: str) -> Mod:
        """A restriction on one of the row's own values, in a wording drawn from the rng:
        mostly "with (a) price above 20", sometimes "whose price is above 20", seldom
        "where the price is above 20" (without an rng: "with a price above 20")."""
        rng = self.choose.rng
        roll = rng.random() if rng is not None else 0.0
        form = "with" if roll < 0.88 else ("whose" if roll < 0.95 else "where")
        # "with age above 30" more often than "with an age above 30".
        return attribute(noun, predicate, form, article=not self.choose.chance(0.75))

    def condition_text(self, node: exp.Expression, scope: Scope) -> str:
        mod = self.atom(node, scope)
        subject = f"the {scope.subject.entity}"
        if mod.clause is not None:
            return subject + mod.clause
        return f"{subject} is one {mod.rel_one}"

    # ------------------------------------------------------------------ comparisons

    def _compare(self, cond: exp.Expression, scope: Scope, negated: bool) -> Mod:
        op = OPS[type(cond)]
        left, right = cond.this, cond.expression
        if is_value(left) and not is_value(right):
            left, right, op = right, left, FLIPPED[op]
        if negated:
            op = NEGATED[op]
        year = year_of(left)
        target = year if year is not None else left
        w = self.words_of(target, scope)
        noun = self.noun(target, scope)
        if isinstance(unparen(right), (exp.Subquery, exp.Select)):
            return self._compare_query(left, w, noun, op, scope.q.sub(unparen(right)), scope)
        if is_value(right):
            value = self._value_of(right, w, year is not None)
            return self.phrase(w, noun, op, value)
        other = self._outer_noun(right, scope)
        if other is not None and op == "=" and other == noun:
            return with_(f"the same {noun}")
        text = self.value(right, scope)
        if other is not None:
            text = f"the {other}"
        return self.whose(noun, self._predicate(op, text, None))

    def _value_of(self, node: exp.Expression, w: ColumnWords | None, year: bool) -> Value:
        node = unparen(node)
        kind = "year" if year else (w.kind if w else "text")
        if isinstance(node, exp.Literal):
            if node.is_string:
                return string_value(node.this, kind)
            return Value(node.this, "year" if kind == "year" else "number", node.this)
        if isinstance(node, exp.Neg):
            inner = self._value_of(node.this, w, year)
            return Value("-" + inner.text, inner.kind, inner.raw)
        if isinstance(node, exp.Boolean):
            return Value("true" if node.this else "false", "bool", node.this)
        return Value("empty", "null", None)

    def phrase(self, w: ColumnWords | None, noun: str, op: str, value: Value) -> Mod:
        """``{noun} {op} {value}`` as a modifier, in the column's own idiom."""
        raw = str(value.raw).strip().lower()
        if w is not None and w.kind == "bool" and op in ("=", "!=") and raw in _TRUE | _FALSE:
            flag = self._flag_mod(w, (raw in _TRUE) == (op == "="))
            if flag is not None:
                return flag
        timed = value.kind in ("date", "year") or (w is not None and w.kind in ("date", "year"))
        if (
            timed
            and value.kind in ("date", "year", "number")
            and op in TIME_COMPARE | {"=": 1, "!=": 1}
        ):
            return self._time_phrase(w, noun, op, value)
        if w is not None and value.kind == "string" and op in ("=", "!="):
            neg = "not " if op == "!=" else ""
            meaning = w.codes.get(str(value.raw))
            if meaning is not None:  # sex = 'F': "that are female"
                return Mod(f"that are {neg}{meaning}", f"that is {neg}{meaning}",
                           f"that are {neg}{meaning}", f"that is {neg}{meaning}",
                           f" is {neg}{meaning}")  # fmt: skip
            if w.passive:
                return be(f"{neg}{w.passive} {value.text}")
            if w.name_like:
                verb = "titled" if w.noun.lower().endswith("title") else self.choose.pick(NAMED)
                return be(f"{neg}{verb} {value.text}")
            if w.place:
                return be(f"{neg}{w.place} {value.text}")
        comparative = self._comparative(w, op, value)
        if comparative is not None:
            return comparative
        if value.kind == "number" and op != "!=" and _counts_things(noun):
            # "cars with more than 4 cylinders" rather than "whose cylinders is greater than 4"
            amount = {"=": "", ">": "more than ", ">=": "at least ", "<": "fewer than ",
                      "<=": "at most "}[op]  # fmt: skip
            return with_(f"{amount}{value.text} {noun}")
        return self.whose(noun, self._predicate(op, value.text, value, noun))

    def _comparative(self, w: ColumnWords | None, op: str, value: Value) -> Mod | None:
        """ "older than 30", "cheaper than 10": a strict comparison on a measure with
        adjectives, now and then (the other wordings stay in use)."""
        if w is None or not w.superlative or op not in (">", "<") or value.kind != "number":
            return None
        word = COMPARATIVES.get(w.superlative[0 if op == ">" else 1])
        if word is None or not self.choose.chance(0.6):
            return None
        return be(f"{word} than {value.text}")

    def _time_phrase(self, w: ColumnWords | None, noun: str, op: str, value: Value) -> Mod:
        year = value.kind in ("year", "number")
        period = period_start(str(value.raw)) if value.kind == "date" else None
        if period is not None and op in (">=", "<"):
            # ">= '2018-01-01'" is "in or after 2018"; "< '2018-03-01'" is "before March 2018".
            value = Value(period, "year" if period.isdigit() else "date", value.raw)
            year = True
        if op in ("=", "!="):
            prep = ("not " if op == "!=" else "") + ("in" if year else "on")
        else:
            prep = (YEAR_COMPARE if year else TIME_COMPARE)[op]
        if w is not None and w.participle:
            return _participle(w.participle, f"{prep} {value.text}")
        if w is not None and w.noun.lower() == "year":
            return be(f"{prep} {value.text}")
        return self.whose(noun, f"is {prep} {value.text}")

    def _predicate(self, op: str, text: str, value: Value | None, noun: str = "") -> str:
        verb = "are" if noun and _counts_things(noun) else "is"
        if op == "=":
            return f"{verb} {text}"
        if op == "!=":
            return f"{verb} not {text}"
        return f"{verb} {self.choose.weighted(COMPARE_WEIGHTS[op])} {text}"

    def _flag_mod(self, w: ColumnWords | None, truthy: bool) -> Mod | None:
        if w is None or not w.flag:
            return None
        verb, _, rest = w.flag.partition(" ")
        if verb == "has":
            return with_(rest) if truthy else with_(f"no {rest}")
        return be(f"marked as {rest}") if truthy else be(f"not marked as {rest}")

    def _outer_noun(self, node: exp.Expression, scope: Scope) -> str | None:
        """The noun of a column from an enclosing query (a correlation), else None."""
        if not isinstance(node, exp.Column):
            return None
        col = scope.q.col(node)
        if col is None or col.source in scope.q.sources or col.words is None:
            return None
        return col.words.noun

    def _or_as_list(self, parts: list[exp.Expression], scope: Scope) -> Mod | None:
        """``x = 'a' OR x = 'b'`` is ``x IN ('a', 'b')``."""
        left = None
        values = []
        for part in parts:
            part = unparen(part)
            if not isinstance(part, exp.EQ) or not is_value(part.expression):
                return None
            if left is None:
                left = part.this
            elif part.this != left:
                return None
            values.append(part.expression)
        return self._in_list(left, values, scope, False)

    def _in_list(
        self, left: exp.Expression, items: list[exp.Expression], scope: Scope, negated: bool
    ) -> Mod:
        w = self.words_of(left, scope)
        noun = self.noun(left, scope)
        texts = [self._value_of(i, w, False).text for i in items]
        if len(texts) == 1:
            value = self._value_of(items[0], w, False)
            return self.phrase(w, noun, "!=" if negated else "=", value)
        if negated:
            listed = (
                f"neither {texts[0]} nor {texts[1]}"
                if len(texts) == 2
                else (f"none of {join_words(texts)}")
            )
            return self.whose(noun, f"is {listed}")
        listed = join_words(texts, "or")
        if w is not None and w.passive:
            return be(f"{w.passive} {listed}")
        if w is not None and w.place:
            return be(f"{w.place} {listed}")
        if w is not None and w.name_like:
            return be(f"named {listed}")
        if w is not None and w.kind in ("year", "date"):
            prep = "in" if w.kind == "year" else "on"
            if w.participle:
                return _participle(w.participle, f"{prep} {listed}")
            if w.noun.lower() == "year":
                return be(f"{prep} {listed}")
        return self.whose(noun, f"is {listed}")

    def _like(self, cond: exp.Expression, scope: Scope, negated: bool) -> Mod:
        left, pattern = cond.this, unparen(cond.expression)
        w = self.words_of(left, scope)
        noun = self.noun(left, scope)
        if not isinstance(pattern, exp.Literal):
            verb = "does not match" if negated else "matches"
            return self.whose(noun, f"{verb} {self.value(pattern, scope)}")
        shape = like_pattern(pattern.this)
        if shape is None:
            verb = "does not match" if negated else "matches"
            return self.whose(noun, f"{verb} the pattern '{pattern.this}'")
        how, text = shape
        if how == "equals":
            return self.phrase(w, noun, "!=" if negated else "=", string_value(text, "text"))
        if how == "starts" and w is not None and w.kind in ("date", "year"):
            value = string_value(text.rstrip("-"), "year" if len(text.rstrip("-")) == 4 else w.kind)
            if value.kind in ("year", "date"):
                if len(text.rstrip("-")) == 7:  # a month: "2023-03%"
                    value = Value(value.text, "date", value.raw)
                    return self._time_month(w, noun, value, negated)
                return self._time_phrase(w, noun, "!=" if negated else "=", value)
        verb = {"contains": ("contains", "does not contain"),
                "starts": ("starts with", "does not start with"),
                "ends": ("ends with", "does not end with")}[how][negated]  # fmt: skip
        return self.whose(noun, f"{verb} '{text}'")

    def _time_month(self, w: ColumnWords, noun: str, value: Value, negated: bool) -> Mod:
        prep = "not in" if negated else "in"
        if w.participle:
            return _participle(w.participle, f"{prep} {value.text}")
        return self.whose(noun, f"is {prep} {value.text}")

    def _between(self, cond: exp.Between, scope: Scope, negated: bool) -> Mod:
        left = cond.this
        year = year_of(left)
        target = year if year is not None else left
        w = self.words_of(target, scope)
        noun = self.noun(target, scope)
        low = self._bound(cond.args["low"], w, year is not None, scope)
        high = self._bound(cond.args["high"], w, year is not None, scope)
        low_node, high_node = unparen(cond.args["low"]), unparen(cond.args["high"])
        if isinstance(low_node, exp.Literal) and isinstance(high_node, exp.Literal):
            start, end = period_start(low_node.this), period_end(high_node.this)
            if start is not None and start == end and not negated:
                # One whole year or month: "in 2022", "in March 2022".
                return self._time_phrase(
                    w, noun, "=", Value(start, "year" if start.isdigit() else "date", start)
                )
            if start is not None and end is not None:
                low, high = start, end  # "between 2004 and 2018"
        neg = "not " if negated else ""
        if w is not None and w.participle and w.kind in ("date", "year"):
            if negated:
                return self.whose(noun, f"is not between {low} and {high}")
            return _participle(w.participle, f"between {low} and {high}")
        return self.whose(noun, f"is {neg}between {low} and {high}")

    def _bound(self, node: exp.Expression, w: ColumnWords | None, year: bool, scope: Scope) -> str:
        if is_value(node):
            return self._value_of(node, w, year).text
        return self.value(node, scope)

    def _null(self, left: exp.Expression, scope: Scope, negated: bool) -> Mod:
        noun = self.noun(left, scope)
        if negated:
            last = noun.rsplit(" ", 1)[-1]
            thing = noun if plural_noun(last) == last else with_article(noun)
            return with_(thing)
        return with_(f"no {noun}")

    # ------------------------------------------------------------------ nested queries


# Plural nouns that are amounts, not counts of things.
_AMOUNTS = {"earnings", "sales", "revenues", "profits", "assets", "savings", "wages", "funds",
            "costs", "expenses", "losses", "gains", "proceeds", "taxes", "fees", "dues",
            "winnings", "receipts", "payments", "ratings", "scores", "points", "ranks"}  # fmt: skip


def _participle(participle: str, rest: str) -> Mod:
    """ "born after 1950"; verbs without an object need "that": "that joined in 2022"."""
    if rest.startswith("not "):
        return be(f"not {participle} {rest[4:]}", past=True)
    if participle in INTRANSITIVE:
        return did(f"{participle} {rest}")
    return be(f"{participle} {rest}", past=True)


def _counts_things(noun: str) -> bool:
    """A plural noun column holds a count of things: "cylinders", "wins", "delay minutes"."""
    from sqlfoundry.synth.naming import is_plural

    last = noun.rsplit(" ", 1)[-1]
    return " of " not in noun and last.islower() and is_plural(last) and last not in _AMOUNTS
