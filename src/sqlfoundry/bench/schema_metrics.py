"""Scores of schema reduction and schema linking against what the gold SQL uses.

The gold tables and columns are the gold query's references, resolved with
sqlglot's scopes (:mod:`sqlfoundry.sql.references`: aliases, subqueries and
unqualified columns resolved against the schema), never by substring. Names
compare case-insensitively.

- :func:`subset_scores` (a reducer's ``schema_subset``): recall and precision of
  tables and of columns (micro-averaged over items), the reduction rate (the
  share of the database's columns left out, averaged over items) and the kept
  rate (Squrve's ``reduce_rate``);
- :func:`link_scores` (a parser's ``schema_links``): recall and precision of
  tables and columns, plus value recall: the gold query's literal values
  (strings and numbers outside LIMIT / OFFSET) found among the linked values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlfoundry.bench.metrics import linking_scores, share
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.sql.parse import ensure_tree
from sqlfoundry.sql.references import referenced_columns, referenced_tables


@dataclass(frozen=True)
class GoldRefs:
    tables: set[str]
    columns: set[tuple[str, str]]
    values: set[str]


def gold_refs(sql: str, schema_columns: Mapping[str, Iterable[str]] | None,
              dialect: str = "sqlite") -> GoldRefs:  # fmt: skip
    """What ``sql`` reads: lower-cased tables, ``(table, column)`` pairs and literal values.

    Raises:
        SQLSyntaxError: the SQL does not parse.
    """
    tree = ensure_tree(sql, dialect)
    tables = {t.lower() for t in referenced_tables(tree, dialect)}
    columns = {(t.lower(), c.lower()) for t, c in referenced_columns(tree, dialect, schema_columns)
               if c != "*" and t}  # fmt: skip
    values = set()
    for literal in tree.find_all(exp.Literal):
        if literal.find_ancestor(exp.Limit, exp.Offset) is not None:
            continue
        values.add(normalise_value(literal.this))
    return GoldRefs(tables, columns, {v for v in values if v})


def normalise_value(value: Any) -> str:
    """A value as compared: lower case, quotes and LIKE wildcards stripped, numbers canonical."""
    text = str(value).strip().strip("'\"").strip("%").strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number == int(number) else str(number)


@dataclass
class SchemaItem:
    """One record to score: its gold SQL, its database's columns and what the stage kept."""

    gold: str
    schema_columns: Mapping[str, Sequence[str]]
    tables: set[str]
    columns: set[tuple[str, str]]
    values: set[str] | None = None


def _pairs(items: Sequence[SchemaItem], dialect: str):
    for item in items:
        try:
            refs = gold_refs(item.gold, item.schema_columns, dialect)
        except SqlfoundryError:
            continue
        yield item, refs


def subset_scores(items: Sequence[SchemaItem], dialect: str = "sqlite") -> dict[str, Any]:
    """A reducer's scores (see the module doc)."""
    table_pairs, column_pairs, reductions = [], [], []
    for item, refs in _pairs(items, dialect):
        table_pairs.append((refs.tables, item.tables))
        column_pairs.append((refs.columns, item.columns))
        total = sum(len(cols) for cols in item.schema_columns.values())
        if total:
            reductions.append(1 - len(item.columns) / total)
    reduction = round(sum(reductions) / len(reductions), 4) if reductions else 0.0
    return {
        "tables": linking_scores(table_pairs),
        "columns": linking_scores(column_pairs),
        "reduction_rate": reduction,
        "kept_rate": round(1 - reduction, 4) if reductions else 0.0,
        "count": len(table_pairs),
    }


def link_scores(items: Sequence[SchemaItem], dialect: str = "sqlite") -> dict[str, Any]:
    """A linker's scores (see the module doc)."""
    table_pairs, column_pairs = [], []
    found = wanted = 0
    for item, refs in _pairs(items, dialect):
        table_pairs.append((refs.tables, item.tables))
        column_pairs.append((refs.columns, item.columns))
        predicted = item.values or set()
        wanted += len(refs.values)
        found += len(refs.values & predicted)
    return {
        "tables": linking_scores(table_pairs),
        "columns": linking_scores(column_pairs),
        "values": {"recall": share(found, wanted), "gold_values": wanted},
        "count": len(table_pairs),
    }
