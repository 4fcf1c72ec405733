"""Equivalence-preserving rewrites of SQL queries, as pure rules over sqlglot trees.

Every rule is ``rule(tree, facts=None) -> Expression | None``: a new tree, or
None when the rule does not apply; the input tree is never changed. Most rules
keep the result exactly (BETWEEN and its range, COUNT(*) and COUNT(1)); the
subquery rules can change how many times a row appears, which is why the
variation generator runs every rewrite and keeps it only when its result
equals the original's.

``RULES`` lists them by name; ``kind`` says whether a rule changes how the query
is built (``structural``) or only how it reads (``surface``: aliases, operand
order), the latter mostly used on top of a structural one. ``DEFAULT_RULES``
leaves out forms people seldom write, such as ``x IN ('a')`` for ``x = 'a'``.
"""

from __future__ import annotations

from sqlglot import exp

from sqlfoundry.synth.rewrites.aggregates import (
    count_column_to_star,
    count_one_to_star,
    count_star_to_one,
    count_star_to_pk,
    distinct_to_group_by,
    group_by_to_distinct,
)
from sqlfoundry.synth.rewrites.aliases import add_aliases, remove_aliases, rename_aliases
from sqlfoundry.synth.rewrites.base import Rule, SchemaFacts
from sqlfoundry.synth.rewrites.ctes import extract_cte, filter_to_cte, inline_cte
from sqlfoundry.synth.rewrites.joins import explicit_join, reorder_joins
from sqlfoundry.synth.rewrites.predicates import (
    between_to_range,
    commute_and,
    eq_to_in_single,
    in_single_to_eq,
    in_to_or,
    or_to_in,
    push_not,
    range_to_between,
)
from sqlfoundry.synth.rewrites.subqueries import (
    exists_to_in,
    in_to_exists,
    in_to_join,
    join_to_exists,
    join_to_in,
    not_in_to_not_exists,
)

_ALL = (
    Rule("join_to_in", join_to_in, "structural", "a filtering join becomes an IN subquery"),
    Rule("join_to_exists", join_to_exists, "structural", "a filtering join becomes EXISTS"),
    Rule("in_to_join", in_to_join, "structural", "an IN subquery becomes a join"),
    Rule("in_to_exists", in_to_exists, "structural", "an IN subquery becomes EXISTS"),
    Rule("exists_to_in", exists_to_in, "structural", "EXISTS becomes an IN subquery"),
    Rule(
        "not_in_to_not_exists",
        not_in_to_not_exists,
        "structural",
        "NOT IN over never-NULL keys becomes NOT EXISTS",
    ),  # fmt: skip
    Rule("between_to_range", between_to_range, "structural", "BETWEEN becomes >= AND <="),
    Rule("range_to_between", range_to_between, "structural", ">= AND <= becomes BETWEEN"),
    Rule("or_to_in", or_to_in, "structural", "ORed equalities become an IN list"),
    Rule("in_to_or", in_to_or, "structural", "an IN list becomes ORed equalities"),
    Rule("in_single_to_eq", in_single_to_eq, "structural", "IN (one value) becomes ="),
    Rule("push_not", push_not, "structural", "NOT x > y becomes x <= y"),
    Rule("explicit_join", explicit_join, "structural", "comma join + WHERE becomes JOIN ON"),
    Rule("distinct_to_group_by", distinct_to_group_by, "structural", "DISTINCT becomes GROUP BY"),
    Rule("group_by_to_distinct", group_by_to_distinct, "structural", "GROUP BY becomes DISTINCT"),
    Rule("count_star_to_pk", count_star_to_pk, "structural", "COUNT(*) becomes COUNT(key)"),
    Rule(
        "count_column_to_star",
        count_column_to_star,
        "structural",
        "COUNT(NOT NULL column) becomes COUNT(*)",
    ),  # fmt: skip
    Rule("extract_cte", extract_cte, "structural", "a subquery moves into WITH"),
    Rule("filter_to_cte", filter_to_cte, "structural", "a filtered table moves into WITH"),
    Rule("inline_cte", inline_cte, "structural", "a CTE read once becomes a derived table"),
    Rule("count_star_to_one", count_star_to_one, "surface", "COUNT(*) becomes COUNT(1)"),
    Rule("count_one_to_star", count_one_to_star, "surface", "COUNT(1) becomes COUNT(*)"),
    Rule("eq_to_in_single", eq_to_in_single, "surface", "= becomes IN (one value)", False),
    Rule("commute_and", commute_and, "surface", "WHERE conditions in reverse order"),
    Rule("reorder_joins", reorder_joins, "surface", "the first two joined tables swap"),
    Rule("rename_aliases", rename_aliases, "surface", "table aliases renamed"),
    Rule("add_aliases", add_aliases, "surface", "tables get T1, T2... aliases"),
    Rule("remove_aliases", remove_aliases, "surface", "table aliases dropped"),
)

RULES: dict[str, Rule] = {rule.name: rule for rule in _ALL}

_OPPOSITES = (
    ("join_to_in", "in_to_join"), ("join_to_exists", "exists_to_in"),
    ("in_to_exists", "exists_to_in"), ("between_to_range", "range_to_between"),
    ("or_to_in", "in_to_or"), ("in_single_to_eq", "eq_to_in_single"),
    ("distinct_to_group_by", "group_by_to_distinct"), ("count_star_to_one", "count_one_to_star"),
    ("count_star_to_pk", "count_column_to_star"), ("extract_cte", "inline_cte"),
    ("filter_to_cte", "inline_cte"), ("add_aliases", "remove_aliases"),
)  # fmt: skip
# Rules that (partly) undo each other: composing them is a detour, not a variant.
UNDOES: dict[str, frozenset[str]] = {
    name: frozenset(
        {b for a, b in _OPPOSITES if a == name} | {a for a, b in _OPPOSITES if b == name}
    )
    for name in RULES
}
DEFAULT_RULES: tuple[str, ...] = tuple(rule.name for rule in _ALL if rule.default)
# Rewrites that change only how the same query is written (names, order, COUNT
# spelling): a model learns nothing from them, so variants leave them out unless asked.
COSMETIC_RULES: frozenset[str] = frozenset(
    {rule.name for rule in _ALL if rule.kind == "surface"}
    | {"count_star_to_pk", "count_column_to_star"}
)


def apply(
    name: str, tree: exp.Expression, facts: SchemaFacts | None = None
) -> exp.Expression | None:
    """Apply the rule called ``name``; KeyError for an unknown name."""
    return RULES[name](tree, facts)


def applicable(
    tree: exp.Expression, facts: SchemaFacts | None = None, kind: str | None = None
) -> dict[str, exp.Expression]:
    """Every rule (of ``kind``, if given) that applies, with its rewritten tree."""
    out = {}
    for rule in _ALL:
        if kind is not None and rule.kind != kind:
            continue
        result = rule(tree, facts)
        if result is not None:
            out[rule.name] = result
    return out


__all__ = [
    "COSMETIC_RULES",
    "DEFAULT_RULES",
    "RULES",
    "UNDOES",
    "Rule",
    "SchemaFacts",
    "applicable",
    "apply",
]
