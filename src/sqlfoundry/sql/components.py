"""How many of each SQL component a query uses: the raw material of difficulty grades.

Clause counts are summed over every SELECT in the query: subqueries, derived
tables, CTEs and set-operation branches all count. ``select_columns`` is the
exception: it counts the output columns of the query. The Spider counts are
those of the official hardness rule (see :mod:`sqlfoundry.sql.hardness`), which
looks at the outer query only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlglot import exp

from sqlfoundry.sql.hardness import outer_select, spider_counts
from sqlfoundry.sql.parse import read_tree

# The fields summed over the whole tree, in the order of Components.
_SUMMED = (
    "aggregates",
    "where_conditions",
    "group_by",
    "having_conditions",
    "order_by",
    "limit",
    "joins",
    "or_conditions",
    "like",
    "nested_subqueries",
    "derived_tables",
    "ctes",
    "union",
    "intersect",
    "except_",
    "distinct",
    "window_functions",
    "case_expressions",
)


@dataclass(frozen=True)
class Components:
    """Component counts of one query; see the module docstring for what is summed."""

    select_columns: int
    aggregates: int
    where_conditions: int
    group_by: int
    having_conditions: int
    order_by: int
    limit: int
    joins: int
    or_conditions: int
    like: int
    nested_subqueries: int
    derived_tables: int
    ctes: int
    union: int
    intersect: int
    except_: int
    distinct: int
    window_functions: int
    case_expressions: int
    spider_component1: int
    spider_component2: int
    spider_others: int
    spider_hardness: str

    @property
    def set_operations(self) -> int:
        """UNION, INTERSECT and EXCEPT operations together."""
        return self.union + self.intersect + self.except_

    def to_dict(self) -> dict[str, int | str]:
        """Plain dict for JSON; ``except_`` is written as ``except``."""
        return {f.name.rstrip("_"): getattr(self, f.name) for f in fields(self)}


def components(sql_or_tree: str | exp.Expression, dialect: str = "sqlite") -> Components:
    """Count the components of a query.

    Raises:
        SQLSyntaxError: the SQL does not parse or is not a query.
    """
    tree = read_tree(sql_or_tree, dialect)
    spider = spider_counts(tree)
    counts = _summed_counts(tree)
    return Components(
        select_columns=len(_output_select(tree).expressions),
        **counts,
        spider_component1=spider.component1,
        spider_component2=spider.component2,
        spider_others=spider.others,
        spider_hardness=spider.hardness,
    )


def summed_counts(sql_or_tree: str | exp.Expression, dialect: str = "sqlite") -> dict[str, int]:
    """The counts :func:`components` sums over the whole tree (its fields from
    ``aggregates`` to ``case_expressions``), without the Spider counts, for a reader that
    needs only these.

    Raises:
        SQLSyntaxError: the SQL does not parse or is not a query, as for :func:`components`.
    """
    tree = read_tree(sql_or_tree, dialect)
    outer_select(tree)  # a statement that is not a query is refused, as components() does
    return _summed_counts(tree)


# The node types each summed count looks for, in the order they are tried: a node counts
# for the first that matches (an aggregate or ORDER BY of a window counts for none).
_TESTS = (
    ("aggregates", exp.AggFunc),
    ("where_conditions", exp.Where),
    ("having_conditions", exp.Having),
    ("group_by", exp.Group),
    ("order_by", exp.Order),
    ("limit", (exp.Limit, exp.Fetch)),
    ("joins", exp.Join),
    ("or_conditions", exp.Or),
    ("like", (exp.Like, exp.ILike)),
    ("ctes", exp.CTE),
    ("union", exp.Union),
    ("intersect", exp.Intersect),
    ("except_", exp.Except),
    ("distinct", exp.Distinct),
    ("window_functions", exp.Window),
    ("case_expressions", exp.Case),
)
# Per node type, the counts whose test it passes: the tests run once per type, not per node.
_MATCHES: dict[type, tuple[str, ...]] = {}


def _matches(kind: type) -> tuple[str, ...]:
    found = _MATCHES.get(kind)
    if found is None:
        found = _MATCHES[kind] = tuple(name for name, types in _TESTS if issubclass(kind, types))
    return found


def _summed_counts(tree: exp.Expression) -> dict[str, int]:
    counts = dict.fromkeys(_SUMMED, 0)
    for node in tree.walk():
        for name in _matches(type(node)):
            if name in ("aggregates", "order_by") and isinstance(node.parent, exp.Window):
                continue
            if name == "where_conditions" or name == "having_conditions":
                counts[name] += len(_predicates(node.this))
            elif name == "group_by" or name == "order_by":
                counts[name] += len(node.expressions)
            else:
                counts[name] += 1
            break
        if _is_nested_query(node):
            counts["nested_subqueries"] += 1
            if isinstance(node.parent, (exp.From, exp.Join)):
                counts["derived_tables"] += 1
    return counts


def _predicates(condition: exp.Expression) -> list[exp.Expression]:
    """The predicates joined by AND / OR, looking through parentheses."""
    out, stack = [], [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Paren):
            stack.append(node.this)
        elif isinstance(node, exp.Connector):
            stack.extend((node.expression, node.this))
        else:
            out.append(node)
    return out


def _is_nested_query(node: exp.Expression) -> bool:
    """A query inside another one; set-operation branches and CTE bodies are not counted."""
    parent = node.parent
    if parent is None or not isinstance(node, exp.Query):
        return False
    if isinstance(node, exp.Subquery):
        return not isinstance(parent, exp.SetOperation)
    # A bare SELECT under EXISTS has no Subquery wrapper; one under a Subquery was counted there.
    return not isinstance(parent, (exp.Subquery, exp.SetOperation, exp.CTE, exp.DML, exp.DDL))


def _output_select(tree: exp.Expression) -> exp.Query:
    node = tree
    while isinstance(node, (exp.SetOperation, exp.Subquery, exp.Paren)):
        node = node.this
    return node if isinstance(node, exp.Query) else exp.select()
