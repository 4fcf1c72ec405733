"""Expressions in English: columns, aggregates, arithmetic and functions as noun phrases.

Everything is said relative to a *subject*, the entity the sentence is about:
in a question about books, ``books.price`` is "price" and ``authors.name``
(joined through ``books.author_id``) is "author name".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from sqlfoundry.synth.naming import humanize
from sqlfoundry.synth.realiser.errors import RealiseError
from sqlfoundry.synth.realiser.grammar import join_words, plural_noun, singular_noun
from sqlfoundry.synth.realiser.lexicon import Chooser
from sqlfoundry.synth.realiser.mods import Mod
from sqlfoundry.synth.realiser.names import ColumnWords, SchemaWords
from sqlfoundry.synth.realiser.plan import Col, Link, Query, SelectQuery, Source, first_select
from sqlfoundry.synth.realiser.relations import Hop, counted_source, paths
from sqlfoundry.synth.realiser.trees import is_count_star, unparen
from sqlfoundry.synth.realiser.values import string_value

AGGREGATES = (exp.Count, exp.Avg, exp.Sum, exp.Min, exp.Max)
_AGG_WORDS = {exp.Avg: "average", exp.Sum: "total", exp.Min: "minimum", exp.Max: "maximum"}
_TIME_FORMATS = {"%Y": "year", "%m": "month", "%d": "day", "%Y-%m": "month", "%H": "hour",
                 "%Y-%m-%d": "date", "%W": "week", "%w": "weekday", "%j": "day of the year"}  # fmt: skip
_ARITHMETIC = {exp.Add: "plus", exp.Sub: "minus", exp.Mul: "times", exp.Div: "divided by",
               exp.Mod: "modulo"}  # fmt: skip
_PASS_THROUGH = (exp.Upper, exp.Lower, exp.Trim, exp.Cast, exp.TryCast, exp.Paren,
                 exp.TsOrDsToTimestamp, exp.TsOrDsToDate)  # fmt: skip
_CONDITIONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.And, exp.Or, exp.Not,
               exp.In, exp.Like, exp.ILike, exp.Between, exp.Is, exp.Exists)  # fmt: skip
_NAMED_FUNCTIONS = {exp.Length: "length", exp.Abs: "absolute value", exp.Round: "rounded value",
                    exp.Year: "year", exp.Month: "month", exp.Day: "day",
                    exp.GroupConcat: "list"}  # fmt: skip


@dataclass
class Scope:
    """Where an expression is said: the query, its subject, and what COUNT(*) counts.

    ``count_noun`` overrides the counted rows' plural noun ("concerts") and
    ``count_mod`` restricts them ("in 2014"), when the sentence builder knows better.
    """

    q: SelectQuery
    subject: Source
    counted: Source | None = None
    count_noun: str | None = None
    count_mod: Mod | None = None  # restricts the counted rows


def aggregate_in(node: exp.Expression) -> bool:
    """Whether the expression computes an aggregate (outside nested queries)."""
    if isinstance(node, AGGREGATES):
        return True
    return any(
        aggregate_in(child)
        for child in node.iter_expressions()
        if not isinstance(child, (exp.Select, exp.Subquery))
    )


class Describer:
    """Noun phrases for a schema's expressions; :meth:`query_np` comes from the
    sentence builder, which knows how to say a whole nested query."""

    # How the sentence says DISTINCT ("different", "distinct", "unique"); one per sentence.
    different = "different"

    def __init__(self, words: SchemaWords, choose: Chooser) -> None:
        self.words = words
        self.choose = choose
        self._paths: dict[tuple[int, int], dict[int, list[Hop]]] = {}

    def query_np(self, query: Query, plural: bool = True) -> str:
        """A nested query as a noun phrase (given by the sentence builder)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ joins

    def path(self, scope: Scope, target: Source) -> list[Hop] | None:
        """The join path from the scope's subject to ``target``, or None when unreachable."""
        key = (id(scope.q), id(scope.subject))
        table = self._paths.get(key)
        if table is None:
            table = self._paths[key] = paths(scope.q, scope.subject)
        return table.get(id(target))

    def role(self, link: Link) -> str:
        """What the parent row is to the child: "author" for ``books.author_id``."""
        w = link.child.words
        if w is not None and w.role and link.kind != "same":
            return w.role
        return link.parent.source.entity

    def bridge_noun(self, bridge: Source, origin: Source | None) -> str:
        """What a link table's rows stand for, seen from ``origin``: for ``has_pet``
        seen from students, "pet"."""
        table = bridge.table
        if table is None:
            return bridge.entity
        fks = [c for c in table.columns.values() if c.fk]
        origin_name = origin.table.table.name.lower() if origin and origin.table else None
        other = [c for c in fks if c.fk[0].lower() != origin_name] or fks
        pick = other[-1]
        ref = self.words.table(pick.fk[0])
        return pick.role or (ref.entity if ref else bridge.entity)

    def rows_noun(self, source: Source, origin: Source | None = None) -> str:
        """The plural noun for a source's rows (a link table reads as what it links to)."""
        if source.table is not None and source.table.bridge:
            return plural_noun(self.bridge_noun(source, origin))
        return source.entities

    def qualifier(self, scope: Scope, source: Source) -> str:
        """How a non-subject source is named from the subject: its role or its entity."""
        hops = self.path(scope, source)
        if hops:
            last = hops[-1]
            if last.up:
                return self.role(last.link)
            if source.table is not None and source.table.bridge:
                return self.bridge_noun(source, hops[-1].link.parent.source)
        return source.entity

    # ------------------------------------------------------------------ nouns

    def col_noun(self, col: Col, scope: Scope) -> str:
        """A column relative to the subject: "price", "author name"."""
        if col.words is None:
            return self._derived_noun(col)
        noun = col.words.noun
        if col.source is scope.subject:
            if col.words.name_like and noun.lower() == col.source.entity.lower():
                return "name"  # continents.Continent is the continent's name
            return noun
        for link in scope.q.links:
            # A foreign key joined to the subject's key holds the same value: say it as the key.
            if (
                link.child.source is col.source
                and link.child.name == col.name
                and (link.parent.source is scope.subject and link.parent.words is not None)
            ):
                return link.parent.words.noun
        qual = self.qualifier(scope, col.source)
        if noun.lower() == qual.lower() or noun.lower().startswith(qual.lower() + " "):
            return noun
        if col.words.name_like and noun.lower() == col.source.entity.lower():
            return f"{qual} name"
        return f"{qual} {noun}"

    def _derived_noun(self, col: Col) -> str:
        query = col.source.query
        if col.inner is not None and query is not None:
            inner = first_select(query)
            return self.noun(col.inner, self.scope_of(inner))
        return humanize(col.name)

    def scope_of(self, q: SelectQuery, subject: Source | None = None) -> Scope:
        """A scope for ``q`` about ``subject`` (its subject by default)."""
        subject = subject or self.subject_of(q)
        return Scope(q=q, subject=subject, counted=counted_source(q, subject))

    def subject_of(self, q: SelectQuery) -> Source:
        """The entity a SELECT is about: the source of its first projected column, or
        the one its COUNT(*) counts."""
        for proj in q.projections:
            if self.counts_rows(proj, q):
                continue  # COUNT(students.id) over likes counts likes, like COUNT(*)
            for node in proj.find_all(exp.Column):
                col = q.col(node)
                if col is not None and col.source in q.sources:
                    return col.source
        counted = counted_source(q)
        if counted.table is not None and counted.table.bridge:
            # COUNT(*) over a link table counts what it links to: has_pet rows are pets.
            noun = self.bridge_noun(counted, None)
            for link in q.links:
                if link.child.source is counted and self.role(link) == noun:
                    return link.parent.source
        return counted

    def count_noun(self, scope: Scope, plural: bool = True) -> str:
        """What COUNT(*) counts, restrictions included: "concerts in 2014"."""
        if scope.count_noun:
            noun = scope.count_noun
        else:
            counted = scope.counted or counted_source(scope.q, scope.subject)
            origin = scope.subject if counted is not scope.subject else None
            noun = self.rows_noun(counted, origin)
        if not plural:
            noun = singular_noun(noun)
        mod = scope.count_mod
        return noun + (f" {mod.after(plural)}" if mod is not None else "")

    def noun(self, node: exp.Expression, scope: Scope) -> str:
        """A bare noun phrase (no article): "age", "average price", "number of pets"."""
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                return "details"
            col = scope.q.col(node)
            if col is not None:
                return self.col_noun(col, scope)
            aliased = scope.q.aliased.get(id(node))
            if aliased is not None:
                return self.noun(aliased, scope)
            return humanize(node.name)
        if isinstance(node, exp.Star):
            return "details"
        if isinstance(node, AGGREGATES):
            return self.aggregate_noun(node, scope)
        if isinstance(node, exp.Literal):
            return self.literal(node, None)
        if isinstance(node, exp.Neg):
            return f"negative {self.noun(node.this, scope)}"
        if isinstance(node, exp.Distinct):
            return self.noun(node.expressions[0], scope)
        if isinstance(node, _PASS_THROUGH):
            return self.noun(node.this, scope)
        if isinstance(node, tuple(_ARITHMETIC)):
            return self._arithmetic(node, scope)
        if isinstance(node, (exp.Subquery, exp.Select)):
            return self.query_np(scope.q.sub(node), plural=False).removeprefix("the ")
        if isinstance(node, _CONDITIONS):  # a truth value used as a value: ORDER BY count(*) >= 5
            return f"whether {self.condition_text(node, scope)}"
        return self._function_noun(node, scope)

    def aggregate_noun(self, node: exp.Expression, scope: Scope) -> str:
        """An aggregate as a noun phrase: "number of pets", "average price", "latest hire date"."""
        arg = node.this
        if isinstance(node, exp.Count):
            if self.counts_rows(node, scope.q):
                return f"number of {self.count_noun(scope)}"
            if isinstance(arg, exp.Distinct):
                inner = arg.expressions[0] if arg.expressions else None
                if inner is None or isinstance(inner, exp.Star):
                    return f"number of {self.count_noun(scope)}"
                return f"number of {self.different} {self._counted_values(inner, scope)}"
            if isinstance(arg, exp.Column) and not isinstance(arg.this, exp.Star):
                col = scope.q.col(arg)
                if col is not None and col.words is not None:
                    if col.words.key or not col.words.nullable:
                        return f"number of {self._entity_rows(col, scope)}"
                    return f"number of {self._counted_values(arg, scope)}"
            return f"number of {plural_noun(self.noun(arg, scope))}"
        word = _AGG_WORDS[type(node)]
        if isinstance(arg, exp.Distinct):
            inner = arg.expressions[0]
            return f"{word} of the different {plural_noun(self.noun(inner, scope))}"
        if isinstance(arg, exp.Column):
            col = scope.q.col(arg)
            words = col.words if col is not None else None
            if isinstance(node, (exp.Min, exp.Max)) and words and words.kind in ("date", "year"):
                # MAX(hire_date): the latest hire date, not the "maximum" one.
                word = "latest" if isinstance(node, exp.Max) else "earliest"
            return f"{word} {self.noun(arg, scope)}"
        return f"{word} of {self.noun(arg, scope)}"

    def counts_rows(self, node: exp.Expression, q: SelectQuery) -> bool:
        """Whether ``node`` counts the rows ``COUNT(*)`` counts: ``COUNT(*)``, ``COUNT(1)``,
        or ``COUNT(col)`` of a never-NULL column without an outer join. Over a join
        that is one per joined row: ``COUNT(students.id)`` joined with likes counts likes."""
        if is_count_star(node):
            return True
        node = unparen(node)
        if not isinstance(node, exp.Count) or not isinstance(node.this, exp.Column):
            return False
        col = q.col(node.this)
        if col is None or col.words is None or not (col.words.key or not col.words.nullable):
            return False
        return col.source in q.sources and not _outer_joined(q)

    def _entity_rows(self, col: Col, scope: Scope) -> str:
        if col.source is scope.subject or col.source is scope.counted:
            return self.count_noun(scope) if col.source is scope.counted else col.source.entities
        return plural_noun(self.qualifier(scope, col.source))

    def _counted_values(self, node: exp.Expression, scope: Scope) -> str:
        """Plural of what distinct values of ``node`` stand for: a key counts its rows,
        a foreign key its referenced rows ("different dogs" for ``dog_id``)."""
        if isinstance(node, exp.Column):
            col = scope.q.col(node)
            if col is not None and col.words is not None:
                w = col.words
                if w.fk and w.role:
                    return plural_noun(w.role)
                if w.key:
                    return self._entity_rows(col, scope)
        return plural_noun(self.noun(node, scope))

    def _arithmetic(self, node: exp.Expression, scope: Scope) -> str:
        left, right = node.this, node.expression
        if isinstance(node, exp.Sub) and _is_julianday(left) and _is_julianday(right):
            return (
                f"number of days between {self.noun(right.expressions[0], scope)} "
                f"and {self.noun(left.expressions[0], scope)}"
            )
        if isinstance(node, exp.Div) and isinstance(left, exp.Mul) and _is_number(left.expression):
            left = left.this  # sum(x) * 1.0 / count(*): the 1.0 only forces real division
        word = _ARITHMETIC[type(node)]
        return f"{self.noun(left, scope)} {word} {self.noun(right, scope)}"

    def _function_noun(self, node: exp.Expression, scope: Scope) -> str:
        if isinstance(node, exp.TimeToStr):
            fmt = node.args.get("format")
            part = _TIME_FORMATS.get(fmt.this if isinstance(fmt, exp.Literal) else "", "part")
            return f"{part} of {self.noun(node.this, scope)}"
        if isinstance(node, exp.Substring):
            return f"part of {self.noun(node.this, scope)}"
        if isinstance(node, tuple(_NAMED_FUNCTIONS)):
            return f"{_NAMED_FUNCTIONS[type(node)]} of {self.noun(node.this, scope)}"
        if isinstance(node, exp.Coalesce):
            rest = [self.noun(e, scope) for e in node.expressions]
            return f"{self.noun(node.this, scope)} (or {join_words(rest, 'or')} when missing)"
        if isinstance(node, exp.DPipe):
            return f"{self.noun(node.this, scope)} joined with {self.noun(node.expression, scope)}"
        if isinstance(node, (exp.Case, exp.If)):
            return self._case_noun(node, scope)
        if isinstance(node, (exp.Greatest, exp.Least)):
            word = "larger" if isinstance(node, exp.Greatest) else "smaller"
            args = [self.noun(node.this, scope)] + [self.noun(e, scope) for e in node.expressions]
            return f"{word} of {join_words(args)}"
        if isinstance(node, (exp.CurrentDate, exp.CurrentTimestamp, exp.Date)) and not [
            a for a in node.iter_expressions() if not _is_now(a)
        ]:
            return "today's date"
        if isinstance(node, exp.Func):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            args = [self.noun(a, scope) for a in node.iter_expressions()
                    if not isinstance(a, exp.DataType)]  # fmt: skip
            label = humanize(name.lower()) or "value"
            return f"{label} of {join_words(args)}" if args else label
        raise RealiseError(f"unsupported expression: {type(node).__name__}")

    def _case_noun(self, node: exp.Expression, scope: Scope) -> str:
        """CASE / IIF, said as "a if ..., otherwise b" (conditions via :meth:`condition_text`)."""
        if isinstance(node, exp.If):
            branches = [(node.this, node.args.get("true"))]
            default = node.args.get("false")
        else:
            branches = [(i.this, i.args.get("true")) for i in node.args.get("ifs") or []]
            default = node.args.get("default")
        parts = [
            f"{self.value(then, scope)} when {self.condition_text(cond, scope)}"
            for cond, then in branches
        ]
        text = join_words(parts, "or")
        if default is not None:
            text += f", otherwise {self.value(default, scope)}"
        return f"value that is {text}"

    def condition_text(self, node: exp.Expression, scope: Scope) -> str:
        """A condition as a clause about the subject (given by the condition describer)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ values

    def literal(self, node: exp.Literal, about: ColumnWords | None) -> str:
        """A literal as it reads, a string value in its column's idiom."""
        if node.is_string:
            return string_value(node.this, about.kind if about else "text").text
        return node.this

    def value(self, node: exp.Expression, scope: Scope, about: ColumnWords | None = None) -> str:
        """The other side of a comparison: a literal as it reads, else "the ..." phrase."""
        if isinstance(node, exp.Paren):
            return self.value(node.this, scope, about)
        if isinstance(node, exp.Literal):
            return self.literal(node, about)
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            return "-" + self.literal(node.this, about)
        if isinstance(node, exp.Null):
            return "empty"
        if isinstance(node, exp.Boolean):
            return "true" if node.this else "false"
        if isinstance(node, (exp.Subquery, exp.Select)):
            return self.query_np(scope.q.sub(node), plural=False)
        return f"the {self.noun(node, scope)}"

    def words_of(self, node: exp.Expression, scope: Scope) -> ColumnWords | None:
        """The column words behind an expression, when it is (a wrapper of) one column."""
        while isinstance(node, _PASS_THROUGH):
            node = node.this
        if isinstance(node, exp.Column):
            col = scope.q.col(node)
            return col.words if col is not None else None
        return None


def _outer_joined(q: SelectQuery) -> bool:
    """Whether the SELECT has a LEFT / RIGHT / FULL join (where COUNT(col) and COUNT(*) differ)."""
    return any(j.args.get("side") for j in q.node.args.get("joins") or [])


def _is_julianday(node: exp.Expression) -> bool:
    return (
        isinstance(node, exp.Anonymous)
        and node.name.lower() == "julianday"
        and bool(node.expressions)
    )


def _is_number(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string


def _is_now(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and node.this.lower() == "now"
