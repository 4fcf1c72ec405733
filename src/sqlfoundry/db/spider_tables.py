"""Import and export of Spider's ``tables.json`` schema format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import InputError
from sqlfoundry.core.io import atomic_write_text, input_name, read_text
from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table

_TYPE_WORDS = (
    ("boolean", ("bool",)),
    ("time", ("date", "time", "year")),
    # text before number: "tinytext" and "mediumtext" hold "int"
    ("text", ("char", "text", "clob", "string", "varchar")),
    ("number", ("int", "real", "num", "float", "double", "decimal", "dec", "money", "serial")),
)


def spider_type(declared: str) -> str:
    """Map a declared SQL type to Spider's text / number / time / boolean / others."""
    lowered = declared.lower()
    if not lowered:
        return "text"
    for spider, words in _TYPE_WORDS:
        if any(w in lowered for w in words):
            return spider
    return "others"


def _readable(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def schema_to_spider(schema: Schema) -> dict[str, Any]:
    """One ``tables.json`` entry for ``schema``."""
    columns: list[list[Any]] = [[-1, "*"]]
    readable: list[list[Any]] = [[-1, "*"]]
    types = ["text"]
    position: dict[tuple[str, str], int] = {}
    for ti, table in enumerate(schema.tables):
        for col in table.columns:
            position[(table.name.lower(), col.name.lower())] = len(columns)
            columns.append([ti, col.name])
            readable.append([ti, col.readable_name or _readable(col.name)])
            types.append(spider_type(col.type))
    primary_keys: list[Any] = []
    for table in schema.tables:
        idx = [position[(table.name.lower(), c.lower())] for c in table.primary_key]
        if len(idx) == 1:
            primary_keys.append(idx[0])
        elif idx:
            primary_keys.append(idx)
    foreign_keys = []
    for t, c, rt, rc in schema.foreign_key_pairs():
        a = position.get((t.lower(), c.lower()))
        b = position.get((rt.lower(), rc.lower()))
        if a is not None and b is not None:
            foreign_keys.append([a, b])
    return {
        "db_id": schema.db_id,
        "table_names_original": schema.table_names,
        "table_names": [_readable(t) for t in schema.table_names],
        "column_names_original": columns,
        "column_names": readable,
        "column_types": types,
        "primary_keys": primary_keys,
        "foreign_keys": foreign_keys,
    }


def schema_from_spider(entry: dict[str, Any], *, source: str = "tables.json") -> Schema:
    """Build a Schema (no row counts or samples) from one ``tables.json`` entry."""
    db_id = entry.get("db_id")
    try:
        tables = [Table(name=name) for name in entry["table_names_original"]]
        originals = entry["column_names_original"]
        readables = entry.get("column_names") or originals
        types = entry.get("column_types") or ["text"] * len(originals)
        cols: list[tuple[Table, Column] | None] = []
        for i, (ti, name) in enumerate(originals):
            if ti < 0:
                cols.append(None)
                continue
            readable = readables[i][1] if i < len(readables) else None
            col = Column(
                name=name,
                type=types[i] if i < len(types) else "",
                readable_name=readable if readable and readable != name else None,
            )
            tables[ti].columns.append(col)
            cols.append((tables[ti], col))
        for key in entry.get("primary_keys", []):
            for idx in key if isinstance(key, list) else [key]:
                table, col = cols[idx]  # type: ignore[misc]
                col.primary_key = True
                table.primary_key.append(col.name)
        for src, ref in entry.get("foreign_keys", []):
            (table, col), (ref_table, ref_col) = cols[src], cols[ref]  # type: ignore[misc]
            table.foreign_keys.append(
                ForeignKey(columns=[col.name], ref_table=ref_table.name, ref_columns=[ref_col.name])
            )
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise InputError(f"malformed tables.json entry: {err!r}", file=source, db_id=db_id) from err
    return Schema(db_id=db_id or "", dialect="sqlite", tables=tables)


def load_tables_json(path: str | Path) -> dict[str, Schema]:
    """Read a whole ``tables.json``; each bad entry raises an InputError naming it."""
    try:
        entries = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise InputError(f"cannot read tables.json: {err}", file=input_name(path)) from err
    if not isinstance(entries, list):
        raise InputError("tables.json must hold a list of databases", file=input_name(path))
    return {e.get("db_id"): schema_from_spider(e, source=input_name(path)) for e in entries}


def write_tables_json(schemas: list[Schema], path: str | Path) -> None:
    """Write ``schemas`` as a Spider ``tables.json`` file."""
    atomic_write_text(
        path, json.dumps([schema_to_spider(s) for s in schemas], indent=2, ensure_ascii=False)
    )
