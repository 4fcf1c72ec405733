"""Spider exact-set match (EM), with the verdicts of the official scorer.

The official metric (``evaluation.py`` of taoyds/test-suite-sql-eval, which
most people run, and of taoyds/spider) reads gold and prediction into Spider's
structured form (see :mod:`sqlfoundry.sql.spider_sql`) and then:

1. drops the values conditions compare with, keeping column, operator and any
   nested query (``DISABLE_VALUE``); subqueries in FROM are compared exactly
   as read, values included;
2. drops DISTINCT, in the select list and inside column units
   (``DISABLE_DISTINCT``), but only at the outer level and in set-operation
   branches: a nested query in a condition keeps its DISTINCTs and column ids;
3. replaces each column of a foreign-key class by the class representative,
   but only for columns of the tables in the outer FROM (``rebuild_sql_col``).
   Set-operation branches use the outer FROM's tables too;
4. scores ten components. Each is 1 when gold and prediction agree on it as a
   multiset (select items, WHERE conditions, GROUP BY column names with the
   table dropped) or as a whole (GROUP BY + HAVING, ORDER BY + whether there is
   a LIMIT, the set of AND/OR in WHERE, set-operation branches compared by a
   recursive exact match, the set of SQL keywords), else 0;
5. calls it a match when all ten are 1 and, if the gold has a FROM, both have
   the same FROM tables and subqueries (``eval_exact_match``). Join conditions
   are not compared beyond what the components see.

A prediction the official parser rejects is scored as an empty query (so it
almost always scores 0). A gold query it rejects has no verdict: the official
run stops there, and we return an error. In a few corners the official scorer
itself crashes; we return ``match=False`` with an error there too (see
:class:`EMResult`).

Two variants are supported. ``"test-suite"`` (the default) is
taoyds/test-suite-sql-eval: the word ``value`` between spaces in a prediction
reads as ``1``, and any word after LIMIT is accepted and recorded as 1.
``"spider"`` is taoyds/spider: the LIMIT word must be an integer, and that
integer is compared inside nested queries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlfoundry.core.errors import InputError
from sqlfoundry.core.io import input_name, read_text
from sqlfoundry.sql.spider_sql import (
    WHERE_OPS,
    Condition,
    SpiderSchema,
    SpiderSQL,
    SpiderSQLError,
    Variant,
    foreign_key_map,
    read_spider_sql,
)

# The component names of the official report, in its order.
PARTIAL_COMPONENTS = (
    "select",
    "select(no AGG)",
    "where",
    "where(no OP)",
    "group(no Having)",
    "group",
    "order",
    "and/or",
    "IUEN",
    "keywords",
)

_IN = WHERE_OPS.index("in")
_LIKE = WHERE_OPS.index("like")


class PartialScore(NamedTuple):
    """One component of the partial match.

    The official scorer gives accuracy, recall and F1 per component; they are
    always equal, so one number is kept. The totals say whether the component
    counts toward the benchmark's accuracy (``pred_total > 0``) and recall
    (``label_total > 0``). For ``and/or`` the two totals are swapped, as in the
    official code.
    """

    f1: float
    label_total: int
    pred_total: int


@dataclass(frozen=True)
class EMResult:
    """The exact-match verdict for one gold / prediction pair.

    Attributes:
        match: the official verdict (False whenever ``error`` is set).
        partial: component name (see :data:`PARTIAL_COMPONENTS`) -> score; empty
            when the gold could not be read.
        error: None, or why there is no official verdict: the official parser
            rejects the gold (``gold: ...``), or the official scorer crashes on
            the pair (``official scorer crashes: ...``).
        pred_parsed: False when the official parser rejects the prediction; it
            was then scored as an empty query.
        pred_error: why the prediction was rejected.
    """

    match: bool
    partial: dict[str, PartialScore] = field(default_factory=dict)
    error: str | None = None
    pred_parsed: bool = True
    pred_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data."""
        return {
            "match": self.match,
            "partial": {name: score._asdict() for name, score in self.partial.items()},
            "error": self.error,
            "pred_parsed": self.pred_parsed,
            "pred_error": self.pred_error,
        }


class _OfficialCrash(Exception):
    """The official scorer raises on this pair."""


def load_foreign_key_maps(tables_json: str | Path) -> dict[str, dict[str, str]]:
    """Foreign-key maps of every database in a ``tables.json``, by ``db_id``.

    Each maps a column id (``__table.column__``, lower case) to the id standing
    for its foreign-key class: the official ``build_foreign_key_map_from_json``.
    """
    try:
        entries = json.loads(read_text(tables_json))  # ``-``: standard input
        return {entry["db_id"]: foreign_key_map(entry) for entry in entries}
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InputError(
            f"cannot read foreign keys from tables.json: {exc!r}", file=input_name(tables_json)
        ) from None


def exact_match(
    gold_sql: str,
    pred_sql: str,
    schema: SpiderSchema | Mapping[str, Any],
    *,
    variant: Variant = "test-suite",
) -> EMResult:
    """Spider exact-set match of ``pred_sql`` against ``gold_sql``, as the official scorer decides.

    Args:
        gold_sql: the gold query.
        pred_sql: the predicted query, scored as the text of one line of the
            prediction file.
        schema: the database, as a :class:`SpiderSchema` (build it once per
            database) or a ``tables.json`` entry.
        variant: ``"test-suite"`` (test-suite-sql-eval, the default) or
            ``"spider"`` (taoyds/spider).

    Returns:
        The verdict, the ten partial scores, and why there is no verdict if so.
    """
    if not isinstance(schema, SpiderSchema):
        schema = SpiderSchema.from_tables_json(schema)
    try:
        gold = read_spider_sql(gold_sql, schema, variant=variant)
    except SpiderSQLError as exc:
        return EMResult(False, error=f"gold: the official parser rejects it ({exc.message})")

    pred_text = pred_sql.strip()
    if variant == "test-suite":
        pred_text = pred_text.replace(" value ", " 1 ")
    pred_error = None
    try:
        pred = read_spider_sql(pred_text, schema, variant=variant)
    except SpiderSQLError as exc:
        pred, pred_error = SpiderSQL(), exc.message

    partial: dict[str, PartialScore] = {}
    try:
        gold = _canonical(gold, schema)
        pred = _canonical(pred, schema)
        partial = _partial_scores(pred, gold)
        match = _exact(pred, gold, partial)
    except _OfficialCrash as exc:
        return EMResult(
            False,
            partial,
            error=f"official scorer crashes: {exc}",
            pred_parsed=pred_error is None,
            pred_error=pred_error,
        )
    return EMResult(match, partial, pred_parsed=pred_error is None, pred_error=pred_error)


# ------------------------------------------------------------ canonical form


def _canonical(sql: SpiderSQL, schema: SpiderSchema) -> SpiderSQL:
    """Values dropped, then foreign keys and DISTINCT normalised (``rebuild_sql_val`` + ``rebuild_sql_col``)."""
    table_ids = tuple(unit for kind, unit in sql.from_tables if kind == "table_unit")
    valid = schema.valid_columns(table_ids)
    return _map_columns(_drop_values(sql), valid, schema.foreign_key_map)


def _drop_values(sql: SpiderSQL | None) -> SpiderSQL | None:
    """Drop condition values, recursing into nested queries of conditions and set branches.

    Subqueries in FROM are left exactly as written, values included.
    """
    if sql is None:
        return None
    return SpiderSQL(
        select=sql.select,
        from_tables=sql.from_tables,
        from_conds=_condition_without_values(sql.from_conds),
        where=_condition_without_values(sql.where),
        group_by=sql.group_by,
        having=_condition_without_values(sql.having),
        order_by=sql.order_by,
        limit=sql.limit,
        intersect=_drop_values(sql.intersect),
        except_=_drop_values(sql.except_),
        union=_drop_values(sql.union),
    )


def _condition_without_values(condition: Condition) -> Condition:
    items = []
    for index, item in enumerate(condition):
        # Units sit at even positions; anything else there breaks the official rebuild.
        if index % 2 == 0:
            if isinstance(item, str):
                raise _OfficialCrash(f"{item!r} where a condition was expected")
            negated, op, val_unit, value, high = item
            items.append(
                (
                    negated,
                    op,
                    val_unit,
                    _drop_values(value) if isinstance(value, SpiderSQL) else None,
                    _drop_values(high) if isinstance(high, SpiderSQL) else None,
                )
            )
        else:
            items.append(item)
    return tuple(items)


def _map_columns(
    sql: SpiderSQL | None, valid: frozenset[str], fk_map: dict[str, str]
) -> SpiderSQL | None:
    """Foreign-key representatives for the valid columns, and no DISTINCT flags.

    Nested queries in conditions and in FROM are not touched.
    """
    if sql is None:
        return None

    def col(unit):
        if unit is None:
            return None
        agg, column, _distinct = unit
        if column in fk_map and column in valid:
            column = fk_map[column]
        return (agg, column, None)

    def val(unit):
        op, first, second = unit
        return (op, col(first), col(second))

    def cond(condition: Condition) -> Condition:
        return tuple(
            (item[0], item[1], val(item[2]), item[3], item[4]) if index % 2 == 0 else item
            for index, item in enumerate(condition)
        )

    order_by = sql.order_by
    if order_by is not None:
        order_by = (order_by[0], tuple(val(unit) for unit in order_by[1]))
    return SpiderSQL(
        select=(None, tuple((agg, val(unit)) for agg, unit in sql.select[1])),
        from_tables=sql.from_tables,
        from_conds=cond(sql.from_conds),
        where=cond(sql.where),
        group_by=tuple(col(unit) for unit in sql.group_by),
        having=cond(sql.having),
        order_by=order_by,
        limit=sql.limit,
        intersect=_map_columns(sql.intersect, valid, fk_map),
        except_=_map_columns(sql.except_, valid, fk_map),
        union=_map_columns(sql.union, valid, fk_map),
    )


# ------------------------------------------------------------------- scoring


def _score(count: int, pred_total: int, label_total: int) -> PartialScore:
    f1 = 1.0 if pred_total == label_total and count == pred_total else 0.0
    return PartialScore(f1, label_total, pred_total)


def _common(pred_items: list, label_items: list) -> int:
    """How many predicted items find a gold item, each gold item used once."""
    remaining = list(label_items)
    count = 0
    for item in pred_items:
        if item in remaining:
            remaining.remove(item)
            count += 1
    return count


def _without_table(column_id: str) -> str:
    # "__table.column__" -> "column__": GROUP BY is compared on column names only.
    return column_id.split(".")[1] if "." in column_id else column_id


def _keywords(sql: SpiderSQL) -> set[str]:
    found = set()
    if sql.where:
        found.add("where")
    if sql.group_by:
        found.add("group")
    if sql.having:
        found.add("having")
    if sql.order_by is not None:
        found.update((sql.order_by[0], "order"))
    if sql.limit is not None:
        found.add("limit")
    for op in ("except", "union", "intersect"):
        if sql.set_branch(op) is not None:
            found.add(op)
    connectors = sql.from_conds[1::2] + sql.where[1::2] + sql.having[1::2]
    if any(item == "or" for item in connectors):
        found.add("or")
    units = sql.from_conds[::2] + sql.where[::2] + sql.having[::2]
    if any(unit[0] for unit in units):
        found.add("not")
    if any(unit[1] == _IN for unit in units):
        found.add("in")
    if any(unit[1] == _LIKE for unit in units):
        found.add("like")
    return found


def _partial_scores(pred: SpiderSQL, label: SpiderSQL) -> dict[str, PartialScore]:
    scores: dict[str, PartialScore] = {}

    pred_sel, label_sel = list(pred.select[1]), list(label.select[1])
    scores["select"] = _score(_common(pred_sel, label_sel), len(pred_sel), len(label_sel))
    scores["select(no AGG)"] = _score(
        _common([u[1] for u in pred_sel], [u[1] for u in label_sel]), len(pred_sel), len(label_sel)
    )

    pred_conds, label_conds = list(pred.where[::2]), list(label.where[::2])
    scores["where"] = _score(_common(pred_conds, label_conds), len(pred_conds), len(label_conds))
    scores["where(no OP)"] = _score(
        _common([u[2] for u in pred_conds], [u[2] for u in label_conds]),
        len(pred_conds),
        len(label_conds),
    )

    pred_cols = [unit[1] for unit in pred.group_by]
    label_cols = [unit[1] for unit in label.group_by]
    scores["group(no Having)"] = _score(
        _common([_without_table(c) for c in pred_cols], [_without_table(c) for c in label_cols]),
        len(pred_cols),
        len(label_cols),
    )

    pred_group, label_group = int(bool(pred_cols)), int(bool(label_cols))
    same_group = (
        pred_group == label_group == 1 and pred_cols == label_cols and pred.having == label.having
    )
    scores["group"] = _score(int(same_group), pred_group, label_group)

    pred_order, label_order = int(pred.order_by is not None), int(label.order_by is not None)
    same_order = (
        label_order == 1
        and pred.order_by == label.order_by
        and (pred.limit is None) == (label.limit is None)
    )
    scores["order"] = _score(int(same_order), pred_order, label_order)

    try:
        pred_ao, label_ao = set(pred.where[1::2]), set(label.where[1::2])
    except TypeError:
        # A condition read with no AND / OR before it sits where a connector
        # should; if it holds a nested query, it cannot be hashed.
        raise _OfficialCrash("a nested query where WHERE expects AND / OR") from None
    if pred_ao == label_ao:
        scores["and/or"] = PartialScore(1.0, 1, 1)
    else:
        scores["and/or"] = _score(0, len(label_ao), len(pred_ao))

    label_total = pred_total = count = 0
    for op in ("intersect", "except", "union"):
        pred_branch, label_branch = pred.set_branch(op), label.set_branch(op)
        pred_total += pred_branch is not None
        label_total += label_branch is not None
        if pred_branch is not None and label_branch is not None:
            count += _exact(pred_branch, label_branch, _partial_scores(pred_branch, label_branch))
    scores["IUEN"] = _score(count, pred_total, label_total)

    pred_kw, label_kw = _keywords(pred), _keywords(label)
    scores["keywords"] = _score(len(pred_kw & label_kw), len(pred_kw), len(label_kw))
    return scores


def _exact(pred: SpiderSQL, label: SpiderSQL, partial: dict[str, PartialScore]) -> bool:
    if any(score.f1 != 1 for score in partial.values()):
        return False
    if label.from_tables:
        try:
            return sorted(label.from_tables) == sorted(pred.from_tables)
        except TypeError:
            # Like the official dicts, two different FROM subqueries cannot be ordered.
            raise _OfficialCrash("two different subqueries in one FROM") from None
    return True
