"""The schema a stage shows the model: the record's subset of it, in the form its prompt wants.

- :func:`restrict` keeps the tables and columns of a ``schema_subset``
  (``{table: [columns]}``, an empty list meaning the whole table), plus the key
  columns that join kept tables, so a pruned schema still joins;
- :func:`resolve` turns model-written names (``"Singer.name"``) into the
  schema's own spelling and says which names do not exist;
- :class:`SchemaTexts` renders a schema once per (database, subset, form):
  ``ddl`` (CREATE TABLE with example values), ``din`` (DIN-SQL's
  ``Table t, columns = [*,a,b]`` lines and ``Foreign_keys = [...]``) or ``mac``
  (MAC-SQL's ``# Table: t`` blocks of ``(column, description. Value examples: [...])``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.lru import LRU
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.render import to_ddl
from sqlfoundry.db.schema import Schema
from sqlfoundry.synth.naming import humanize

FORMS = ("ddl", "din", "mac")
_TEXTS_KEPT = 4096


def restrict(schema: Schema, subset: Mapping[str, Sequence[str]] | None) -> Schema:
    """``schema`` cut down to ``subset`` (see the module doc); the whole schema when None."""
    if subset is None:
        return schema
    wanted = {t.lower(): {c.lower() for c in cols} for t, cols in subset.items()}
    kept_tables = {t.name.lower() for t in schema.tables if t.name.lower() in wanted}
    tables = []
    for table in schema.tables:
        key = table.name.lower()
        if key not in kept_tables:
            continue
        columns = wanted[key]
        links = [fk for fk in table.foreign_keys if fk.ref_table.lower() in kept_tables]
        if columns:
            keys = {c.lower() for c in table.primary_key}
            keys |= {c.lower() for fk in links for c in fk.columns}
            keys |= _referenced_columns(schema, table.name, kept_tables)
            cols = [c for c in table.columns if c.name.lower() in columns | keys]
        else:
            cols = list(table.columns)
        tables.append(table.model_copy(update={"columns": cols, "foreign_keys": links}))
    return schema.model_copy(update={"tables": tables})


def _referenced_columns(schema: Schema, table: str, kept: set[str]) -> set[str]:
    """Columns of ``table`` that a kept table's foreign keys point at."""
    out = set()
    for other in schema.tables:
        if other.name.lower() not in kept:
            continue
        for fk in other.foreign_keys:
            if fk.ref_table.lower() == table.lower():
                out |= {c.lower() for c in fk.ref_columns}
    return out


def whole_subset(schema: Schema) -> dict[str, list[str]]:
    """Every table with every column, as a ``schema_subset``."""
    return {t.name: [c.name for c in t.columns] for t in schema.tables}


def resolve(schema: Schema, names: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Split model-written names into known tables, known ``table.column`` and unknown names.

    Matching ignores case and surrounding quotes or backticks; ``table.*``
    names the table. A bare column name is known when exactly one table has it.
    """
    tables: list[str] = []
    columns: list[str] = []
    unknown: list[str] = []
    for raw in names:
        name = _unquote(str(raw))
        if not name:
            continue
        table_part, dot, column_part = name.rpartition(".")
        if not dot:
            table = schema.table(name)
            if table is not None:
                _add(tables, table.name)
                continue
            owners = [t for t in schema.tables if t.column(name) is not None]
            if len(owners) == 1:
                _add(columns, f"{owners[0].name}.{owners[0].column(name).name}")  # type: ignore[union-attr]
                _add(tables, owners[0].name)
            else:
                unknown.append(str(raw))
            continue
        table = schema.table(_unquote(table_part))
        column_name = _unquote(column_part)
        if table is None:
            unknown.append(str(raw))
            continue
        _add(tables, table.name)
        if column_name == "*":
            continue
        column = table.column(column_name)
        if column is None:
            unknown.append(str(raw))
        else:
            _add(columns, f"{table.name}.{column.name}")
    return tables, columns, unknown


def _unquote(text: str) -> str:
    return ".".join(part.strip().strip("`\"'[]").strip() for part in text.strip().split("."))


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def links_subset(links: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ``schema_subset`` a set of schema links names."""
    subset: dict[str, list[str]] = {}
    for table in links.get("tables") or ():
        subset.setdefault(table, [])
    for name in links.get("columns") or ():
        table, _, column = name.rpartition(".")
        cols = subset.setdefault(table, [])
        if column not in cols:
            cols.append(column)
    return subset


def format_links(links: Mapping[str, Any] | None) -> str:
    """``[t.a, t.b = u.c, 'Paris', 50]`` as DIN-SQL's prompts write schema links."""
    if not links:
        return ""
    items = list(links.get("columns") or [])
    items += list(links.get("joins") or [])
    items += [t + ".*" for t in links.get("tables") or () if not _has_column_of(items, t)]
    items += [_value_text(v) for v in links.get("values") or ()]
    return "[" + ", ".join(items) + "]"


def _has_column_of(items: list[str], table: str) -> bool:
    prefix = table.lower() + "."
    return any(i.lower().startswith(prefix) for i in items)


def _value_text(value: Any) -> str:
    text = str(value)
    try:
        float(text)
        return text
    except ValueError:
        return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------- renderings


def din_text(schema: Schema) -> str:
    """DIN-SQL's schema lines: ``Table t, columns = [*,a,b]`` and the foreign keys."""
    lines = [f"Table {t.name}, columns = [*,{','.join(c.name for c in t.columns)}]"
             for t in schema.tables]  # fmt: skip
    keys = [f"{t}.{c} = {rt}.{rc}" for t, c, rt, rc in schema.foreign_key_pairs()]
    lines.append(f"Foreign_keys = [{','.join(keys)}]")
    return "\n".join(lines)


def mac_text(schema: Schema, examples: int = 3) -> str:
    """MAC-SQL's schema blocks, then ``【Foreign keys】`` lines."""
    blocks = []
    for table in schema.tables:
        rows = [f"  ({c.name}, {_describe(c)}.{_examples(c.samples, examples)})"
                for c in table.columns]  # fmt: skip
        blocks.append(f"# Table: {table.name}\n[\n" + ",\n".join(rows) + "\n]")
    keys = [f"{t}.`{c}` = {rt}.`{rc}`" for t, c, rt, rc in schema.foreign_key_pairs()]
    return "\n".join(blocks) + "\n【Foreign keys】\n" + "\n".join(keys)


def _describe(column: Any) -> str:
    text = column.description or column.readable_name or humanize(column.name)
    return " ".join(str(text).split()).rstrip(".")


def _examples(samples: Sequence[Any], count: int) -> str:
    if not count or not samples:
        return ""
    shown = [json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v)
             for v in samples[:count]]  # fmt: skip
    return f" Value examples: [{', '.join(shown)}]."


class SchemaTexts:
    """Rendered schema texts per (database, subset, form), kept in a small LRU."""

    def __init__(self, examples: int = 3, max_value_chars: int = 40) -> None:
        self.examples = examples
        self.max_value_chars = max_value_chars
        self._texts: LRU[tuple, str] = LRU(_TEXTS_KEPT)

    def schema(self, ctx: RunContext, sample: Sample, *, use_subset: bool = True) -> Schema:
        """The record's database schema, cut to its ``schema_subset`` when it has one."""
        schema = ctx.schema(sample.db_id, sample_values=max(self.examples, 3))
        return restrict(schema, sample.schema_subset) if use_subset else schema

    def text(self, ctx: RunContext, sample: Sample, form: str = "ddl", *,
             use_subset: bool = True) -> str:  # fmt: skip
        """The schema as the ``form`` (``ddl``, ``din``, ``mac``) shows it."""
        subset = sample.schema_subset if use_subset else None
        frozen = None if subset is None else tuple(sorted((t.lower(), tuple(sorted(c.lower() for c in cols))) for t, cols in subset.items()))  # fmt: skip
        key = (id(ctx.databases), sample.db_id, frozen, form)
        text = self._texts.get(key)
        if text is None:
            schema = self.schema(ctx, sample, use_subset=use_subset)
            if form == "din":
                text = din_text(schema)
            elif form == "mac":
                text = mac_text(schema, self.examples)
            else:
                text = to_ddl(schema, examples=self.examples, max_chars=self.max_value_chars)
            self._texts.put(key, text)
        return text


def column_count(schema: Schema) -> int:
    """The number of columns over all of ``schema``'s tables."""
    return sum(len(t.columns) for t in schema.tables)
