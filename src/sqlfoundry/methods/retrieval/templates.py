"""Skeleton queries: a fixed set of everyday query shapes, filled from each table.

The sampled pairs spread a few hundred queries over all the tables of a
database, so a small table may never get "how many ... are there?" or "the
... with the highest ...". These templates make sure every table has the
common shapes once, filled with its own columns (chosen by the sampler's
column roles: label, measure, category, date) and its most frequent values:

- per table: count; list of labels; filtered list and count (a category value,
  a measure above its median); AVG / SUM / MAX / MIN of a measure; top and
  bottom row by a measure; sorted list; count per category; the most common
  category; categories with at least two rows; distinct count; a label's
  measure; labels above the average;
- per foreign key (parent <- child): count of children per parent, the parent
  with the most children, parents without children, children of parents with a
  category value, parents with at least two children.

They then go through the same steps as the sampled queries (execution filter,
SQL-to-English realiser), and at question time the ranking swaps their columns
for the ones the question names, so one skeleton per table and shape is
enough. It is retrieval of a skeleton plus slot filling; nothing here knows
any benchmark.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlfoundry.core.sample import Sample
from sqlfoundry.sql.parse import sqlglot_dialect
from sqlfoundry.synth.sampling import load_profile
from sqlfoundry.synth.sampling.profile import (
    CATEGORY,
    DATE,
    KEY,
    MEASURE,
    TEXT,
    ColumnProfile,
    DatabaseProfile,
    Link,
    TableProfile,
    ident,
)

# Bump when the templates change: cached pairs are then built again.
TEMPLATES_VERSION = 2


class _Writer:
    """Identifier and literal spelling for one dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.glot = sqlglot_dialect(dialect)

    def name(self, text: str) -> str:
        return ident(text, self.dialect).sql(dialect=self.glot)

    def col(self, column: ColumnProfile, alias: str | None = None) -> str:
        name = self.name(column.name)
        return f"{alias}.{name}" if alias else name

    def value(self, value: Any) -> str | None:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, (int, float)):
            return exp.Literal.number(value).sql(dialect=self.glot)
        if isinstance(value, str) and 0 < len(value) <= 60:
            return exp.Literal.string(value).sql(dialect=self.glot)
        return None


def template_queries(profile: DatabaseProfile) -> list[str]:
    """The skeleton queries of a database, in a fixed order, without repeats."""
    w = _Writer(profile.dialect)
    out: list[str] = []
    for table in profile.tables.values():
        out.extend(_table_templates(table, w))
    for link in profile.links:
        out.extend(_link_templates(profile, link, w))
    return list(dict.fromkeys(out))


def _label(table: TableProfile) -> ColumnProfile:
    return table.labels[0]


def _table_templates(table: TableProfile, w: _Writer) -> list[str]:
    t = w.name(table.name)
    label = _label(table)
    n = w.col(label)
    measures = [c for c in table.of_role(MEASURE) if c.numeric and c is not label][:2]
    categories = [c for c in table.of_role(CATEGORY) if c.values and c is not label][:2]
    dates = [c for c in table.of_role(DATE) if c.quantiles][:1]
    texts = [c for c in table.of_role(TEXT) if c.values and c is not label][:1]
    out = [f"SELECT COUNT(*) FROM {t}", f"SELECT {n} FROM {t}", f"SELECT * FROM {t}",
           f"SELECT {n} FROM {t} ORDER BY {n} ASC"]  # fmt: skip
    for c in categories:
        cc, v = w.col(c), w.value(c.values[0])
        if v is None:
            continue
        out += [
            f"SELECT {n} FROM {t} WHERE {cc} = {v}",
            f"SELECT COUNT(*) FROM {t} WHERE {cc} = {v}",
            f"SELECT {cc}, COUNT(*) FROM {t} GROUP BY {cc}",
            f"SELECT {cc} FROM {t} GROUP BY {cc} ORDER BY COUNT(*) DESC LIMIT 1",
            f"SELECT {cc} FROM {t} GROUP BY {cc} HAVING COUNT(*) >= 2",
            f"SELECT COUNT(DISTINCT {cc}) FROM {t}",
            f"SELECT DISTINCT {cc} FROM {t}",
            f"SELECT {n} FROM {t} WHERE {cc} != {v}",
        ]
        if len(c.values) > 1 and w.value(c.values[1]) is not None:
            v2 = w.value(c.values[1])
            out += [
                f"SELECT {n} FROM {t} WHERE {cc} = {v} OR {cc} = {v2}",
                f"SELECT COUNT(*) FROM {t} WHERE {cc} = {v} OR {cc} = {v2}",
            ]
    label_value = w.value(label.values[0]) if label.values and label.role != KEY else None
    if label_value is not None:
        for c in texts + categories[:1]:
            out.append(f"SELECT {w.col(c)} FROM {t} WHERE {n} = {label_value}")
    for c in measures:
        m = w.col(c)
        median = w.value(c.quantiles[3]) if c.quantiles else None
        out += [
            f"SELECT AVG({m}) FROM {t}",
            f"SELECT SUM({m}) FROM {t}",
            f"SELECT MAX({m}) FROM {t}",
            f"SELECT MIN({m}) FROM {t}",
            f"SELECT MAX({m}), MIN({m}) FROM {t}",
            f"SELECT AVG({m}), MAX({m}), MIN({m}) FROM {t}",
            f"SELECT {n} FROM {t} ORDER BY {m} DESC LIMIT 1",
            f"SELECT {n} FROM {t} ORDER BY {m} ASC LIMIT 1",
            f"SELECT {n} FROM {t} ORDER BY {m} DESC",
            f"SELECT {n} FROM {t} ORDER BY {m} ASC",
            f"SELECT {n}, {m} FROM {t}",
            f"SELECT {n} FROM {t} WHERE {m} > (SELECT AVG({m}) FROM {t})",
        ]
        if median is not None:
            out += [
                f"SELECT {n} FROM {t} WHERE {m} > {median}",
                f"SELECT COUNT(*) FROM {t} WHERE {m} > {median}",
                f"SELECT {n} FROM {t} WHERE {m} < {median}",
            ]
        low, high = (
            (w.value(c.quantiles[1]), w.value(c.quantiles[5])) if c.quantiles else (None, None)
        )
        if low is not None and high is not None:
            out.append(f"SELECT {n} FROM {t} WHERE {m} BETWEEN {low} AND {high}")
        if label_value is not None:
            out.append(f"SELECT {m} FROM {t} WHERE {n} = {label_value}")
        for cat in categories[:1]:
            cc = w.col(cat)
            v = w.value(cat.values[0])
            out.append(f"SELECT {cc}, AVG({m}) FROM {t} GROUP BY {cc}")
            out.append(f"SELECT {cc}, MAX({m}) FROM {t} GROUP BY {cc}")
            if v is not None:
                out.append(f"SELECT AVG({m}) FROM {t} WHERE {cc} = {v}")
    for c in dates:
        d = w.col(c)
        out += [f"SELECT {n} FROM {t} ORDER BY {d} DESC LIMIT 1",
                f"SELECT {n} FROM {t} ORDER BY {d} ASC"]  # fmt: skip
    return out


def _link_templates(profile: DatabaseProfile, link: Link, w: _Writer) -> list[str]:
    if len(link.child_columns) != 1:
        return []
    parent, child = profile.table(link.parent), profile.table(link.child)
    p, c = w.name(parent.name), w.name(child.name)
    on = f"T1.{w.name(link.parent_columns[0])} = T2.{w.name(link.child_columns[0])}"
    pk = f"T1.{w.name(link.parent_columns[0])}"
    label = w.col(_label(parent), "T1")
    join = f"FROM {p} AS T1 JOIN {c} AS T2 ON {on}"
    out = [
        f"SELECT {label}, COUNT(*) {join} GROUP BY {pk}",
        f"SELECT {label} {join} GROUP BY {pk} ORDER BY COUNT(*) DESC LIMIT 1",
        f"SELECT {label} {join} GROUP BY {pk} HAVING COUNT(*) >= 2",
        f"SELECT {w.col(_label(parent))} FROM {p} WHERE {w.name(link.parent_columns[0])} NOT IN "
        f"(SELECT {w.name(link.child_columns[0])} FROM {c})",
        f"SELECT DISTINCT {label} {join}",
    ]
    child_label = w.col(_label(child), "T2")
    out.append(f"SELECT {label}, {child_label} {join}")
    parent_value = w.value(_label(parent).values[0]) if _label(parent).values else None
    if parent_value is not None and _label(parent).role != KEY:
        out.append(f"SELECT COUNT(*) {join} WHERE {label} = {parent_value}")
        out.append(f"SELECT {child_label} {join} WHERE {label} = {parent_value}")
    for cat in [x for x in parent.of_role(CATEGORY) if x.values][:1]:
        v = w.value(cat.values[0])
        if v is not None:
            out.append(f"SELECT COUNT(*) {join} WHERE {w.col(cat, 'T1')} = {v}")
            out.append(f"SELECT {child_label} {join} WHERE {w.col(cat, 'T1')} = {v}")
    for cat in [x for x in child.of_role(CATEGORY) if x.values][:1]:
        v = w.value(cat.values[0])
        if v is None:
            continue
        out.append(f"SELECT {label} {join} WHERE {w.col(cat, 'T2')} = {v}")
        v2 = w.value(cat.values[1]) if len(cat.values) > 1 else None
        if v2 is not None:
            # "both X and Y", "X but not Y"
            first = f"SELECT {label} {join} WHERE {w.col(cat, 'T2')} = {v}"
            second = f"SELECT {label} {join} WHERE {w.col(cat, 'T2')} = {v2}"
            out.append(f"{first} INTERSECT {second}")
            out.append(f"{first} EXCEPT {second}")
    for m in [x for x in child.of_role(MEASURE) if x.numeric][:1]:
        out.append(f"SELECT {label}, AVG({w.col(m, 'T2')}) {join} GROUP BY {pk}")
        out.append(f"SELECT {label} {join} ORDER BY {w.col(m, 'T2')} DESC LIMIT 1")
    return out


def template_samples(databases: Any, db_id: str) -> list[Sample]:
    """The skeleton queries of ``db_id`` as records for the synthesis steps."""
    with databases.open(db_id) as database:
        profile = load_profile(database)
    return [
        Sample(id=f"{db_id}-t{k:04d}", db_id=db_id, sql=sql, meta={"origin": "template"})
        for k, sql in enumerate(template_queries(profile))
    ]
