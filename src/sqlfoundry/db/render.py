"""Schema renderers: the text forms prompts and tools expect.

- ``ddl``: CREATE TABLE statements with example values in comments (OmniSQL style);
- ``compact``: ``Tables: t: c1 , c2 ; ...`` with optional keys (seq2seq style);
- ``codex``: ``# Table t, columns = [ ... ]`` lines;
- ``central``: one dict for the database; ``parallel``: one dict per column.

For SQL-o1's schema-aware prompt there is also :func:`to_coarse_ddl` (one
``CREATE TABLE`` line per table with coarse types and the real keys) and
:func:`rows_text` (a table's first rows as value tuples).
"""

from __future__ import annotations

import json
from typing import Any

from sqlfoundry.db.schema import Column, Schema, Table
from sqlfoundry.db.spider_tables import spider_type

FORMATS = ("ddl", "compact", "codex", "json", "central", "parallel")


# Words SQLite refuses as bare identifiers; names such as date, year or key
# are accepted bare and stay unquoted so the DDL reads naturally.
_RESERVED = frozenset(
    """ADD ALL ALTER AND AS AUTOINCREMENT BETWEEN CASE CHECK COLLATE COMMIT CONSTRAINT CREATE
    DEFAULT DEFERRABLE DELETE DISTINCT DROP ELSE ESCAPE EXCEPT EXISTS FOREIGN FROM GROUP HAVING
    IN INDEX INSERT INTERSECT INTO IS ISNULL JOIN LIMIT NOT NOTHING NOTNULL NULL ON OR ORDER
    PRIMARY REFERENCES RETURNING SELECT SET TABLE THEN TO TRANSACTION UNION UNIQUE UPDATE USING
    VALUES WHEN WHERE""".split()
)


def _ident(name: str) -> str:
    # Quote only names that need it, so the common case stays readable.
    if (
        name
        and (name[0].isalpha() or name[0] == "_")
        and all(ch.isalnum() or ch == "_" for ch in name)
        and name.upper() not in _RESERVED
    ):
        return name
    return '"' + name.replace('"', '""') + '"'


def _one_line(text: str) -> str:
    # Everything here sits in a "--" comment, which a line break would end.
    return " ".join(text.splitlines())


def _example(value: Any, max_chars: int) -> str:
    if isinstance(value, str):
        value = _one_line(value)
        text = value if len(value) <= max_chars else value[: max_chars - 3] + "..."
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def _column_comment(col: Column, examples: int, max_chars: int) -> str:
    parts = []
    if col.description:
        parts.append(_one_line(col.description).rstrip("."))
    if col.value_description:
        parts.append(f"values: {_one_line(col.value_description).rstrip('.')}")
    if examples and col.samples:
        shown = ", ".join(_example(v, max_chars) for v in col.samples[:examples])
        parts.append(f"example: [{shown}]")
    return ", ".join(parts)


def table_ddl(table: Table, *, examples: int = 3, max_chars: int = 40) -> str:
    """One CREATE TABLE statement; each column's comment holds its description and examples."""
    lines = []
    for col in table.columns:
        comment = _column_comment(col, examples, max_chars)
        line = f"    {_ident(col.name)} {col.type or 'text'}".rstrip() + ","
        lines.append(f"{line} -- {comment}" if comment else line)
    constraints = []
    used: set[str] = set()
    if table.primary_key:
        constraints.append(f"    PRIMARY KEY ({', '.join(_ident(c) for c in table.primary_key)})")
    for fk in table.foreign_keys:
        base = f"fk_{table.name}_{'_'.join(fk.columns)}".lower().replace(" ", "_")
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        constraints.append(
            f"    CONSTRAINT {_ident(name)} FOREIGN KEY ({', '.join(_ident(c) for c in fk.columns)})"
            f" REFERENCES {_ident(fk.ref_table)} ({', '.join(_ident(c) for c in fk.ref_columns)})"
        )
    if constraints:
        body = lines + [c + "," for c in constraints[:-1]] + [constraints[-1]]
    else:
        # The last column line loses its comma, before its comment.
        last = lines[-1] if lines else ""
        head, sep, tail = last.partition(" -- ")
        body = lines[:-1] + [head.rstrip(",") + (f" -- {tail}" if sep else "")] if lines else []
    header = f"CREATE TABLE {_ident(table.name)} ("
    if table.description:
        header = f"-- {_one_line(table.description)}\n{header}"
    return "\n".join([header, *body, ");"])


def to_ddl(schema: Schema, *, examples: int = 3, max_chars: int = 40) -> str:
    """The whole schema as DDL with example values, tables in schema order."""
    return "\n\n".join(table_ddl(t, examples=examples, max_chars=max_chars) for t in schema.tables)


def to_compact(schema: Schema, *, keys: bool = True) -> str:
    """``Tables: t: c1 , c2 ; u: c1 ; primary keys: t.c1 ; foreign keys: u.c1 = t.c1``."""
    parts = [f"{t.name}: {' , '.join(c.name for c in t.columns)}" for t in schema.tables]
    text = "Tables: " + " ; ".join(parts)
    if keys:
        pks = [f"{t.name}.{c}" for t in schema.tables for c in t.primary_key]
        fks = [f"{t}.{c} = {rt}.{rc}" for t, c, rt, rc in schema.foreign_key_pairs()]
        if pks:
            text += f" ; primary keys: {' , '.join(pks)}"
        if fks:
            text += f" ; foreign keys: {' , '.join(fks)}"
    return text


def to_codex(schema: Schema, *, keys: bool = True) -> str:
    """Codex-style comment lines: ``# Table t, columns = [ c1, c2 ]``."""
    lines = [
        f"# Table {t.name}, columns = [ {', '.join(c.name for c in t.columns)} ]"
        for t in schema.tables
    ]
    if keys:
        pks = [f"{t.name}.{c}" for t in schema.tables for c in t.primary_key]
        fks = [f"{t}.{c} = {rt}.{rc}" for t, c, rt, rc in schema.foreign_key_pairs()]
        lines.append(f"# Primary_keys = [ {', '.join(pks)} ]")
        lines.append(f"# Foreign_keys = [ {', '.join(fks)} ]")
    return "\n".join(lines)


def to_central(schema: Schema) -> dict[str, Any]:
    """One dict for the database, with parallel lists indexed by column position."""
    columns = [(ti, t, c) for ti, t in enumerate(schema.tables) for c in t.columns]
    position = {(t.name, c.name): i for i, (_, t, c) in enumerate(columns)}
    return {
        "db_id": schema.db_id,
        "dialect": schema.dialect,
        "table_names": schema.table_names,
        "row_counts": [t.row_count for t in schema.tables],
        "column_names": [[ti, c.name] for ti, _, c in columns],
        "column_types": [c.type for _, _, c in columns],
        "column_descriptions": [c.description for _, _, c in columns],
        "sample_values": [c.samples for _, _, c in columns],
        "primary_keys": [
            [position[(t.name, c)] for c in t.primary_key] for t in schema.tables if t.primary_key
        ],
        "foreign_keys": [
            [position[(t, c)], position[(rt, rc)]] for t, c, rt, rc in _resolved_pairs(schema)
        ],
    }


def to_parallel(schema: Schema) -> list[dict[str, Any]]:
    """One dict per column: handy for retrieval and embedding of columns."""
    links = {(t, c): f"{rt}.{rc}" for t, c, rt, rc in _resolved_pairs(schema)}
    return [
        {
            "db_id": schema.db_id,
            "table_name": t.name,
            "column_name": c.name,
            "column_type": c.type,
            "readable_name": c.readable_name,
            "column_description": c.description,
            "value_description": c.value_description,
            "sample_values": c.samples,
            "is_primary_key": c.name in t.primary_key,
            "foreign_key": links.get((t.name, c.name)),
        }
        for t in schema.tables
        for c in t.columns
    ]


def _resolved_pairs(schema: Schema) -> list[tuple[str, str, str, str]]:
    """FK pairs with the names spelled as in the schema; unknown targets are dropped."""
    out = []
    for t, c, rt, rc in schema.foreign_key_pairs():
        src, ref = schema.table(t), schema.table(rt)
        src_col = src.column(c) if src else None
        ref_col = ref.column(rc) if ref else None
        if src and ref and src_col and ref_col:
            out.append((src.name, src_col.name, ref.name, ref_col.name))
    return out


def coarse_type(declared: str | None) -> str:
    """``TEXT``, ``NUMBER``, ``TIME``, ``BOOLEAN`` or ``OTHERS``: Spider's coarse types, the
    words SQL-o1's prompt uses. An empty declared type (SQLite allows it) is ``TEXT``."""
    return spider_type(declared or "").upper()


def coarse_table_ddl(table: Table) -> str:
    """One line: ``CREATE TABLE t (a NUMBER, b TEXT, PRIMARY KEY (a), FOREIGN KEY (b) REFERENCES
    u (c));`` with the table's real primary and foreign keys."""
    parts = [f"{_ident(c.name)} {coarse_type(c.type)}" for c in table.columns]
    if table.primary_key:
        parts.append(f"PRIMARY KEY ({', '.join(_ident(c) for c in table.primary_key)})")
    for fk in table.foreign_keys:
        parts.append(
            f"FOREIGN KEY ({', '.join(_ident(c) for c in fk.columns)}) REFERENCES "
            f"{_ident(fk.ref_table)} ({', '.join(_ident(c) for c in fk.ref_columns)})"
        )
    return f"CREATE TABLE {_ident(table.name)} ({', '.join(parts)});"


def to_coarse_ddl(schema: Schema) -> str:
    """Every table as :func:`coarse_table_ddl`, one per line, in schema order."""
    return "\n".join(coarse_table_ddl(t) for t in schema.tables)


def _row_value(value: Any, max_chars: int) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).hex()
    if isinstance(value, str):
        value = _one_line(value)
        text = value if len(value) <= max_chars else value[:max_chars] + "..."
        return "'" + text.replace("'", "''") + "'"
    return str(value)


def rows_text(table: Table, rows: list[tuple], *, max_chars: int = 100) -> str:
    """``t (a, b):`` then one ``(1, 'x')`` line per row; strings longer than ``max_chars``
    are cut and end in ``...``. A table without rows says ``(no rows)``."""
    header = f"{_ident(table.name)} ({', '.join(_ident(c.name) for c in table.columns)}):"
    if not rows:
        return f"{header}\n(no rows)"
    lines = ["(" + ", ".join(_row_value(v, max_chars) for v in row) + ")" for row in rows]
    return "\n".join([header, *lines])


def render(schema: Schema, fmt: str) -> str:
    """Render ``schema`` as text in one of :data:`FORMATS`."""
    if fmt == "ddl":
        return to_ddl(schema)
    if fmt == "compact":
        return to_compact(schema)
    if fmt == "codex":
        return to_codex(schema)
    if fmt == "json":
        return schema.model_dump_json(indent=2)
    if fmt == "central":
        return json.dumps(to_central(schema), indent=2, ensure_ascii=False)
    if fmt == "parallel":
        return json.dumps(to_parallel(schema), indent=2, ensure_ascii=False)
    raise ValueError(f"unknown schema format {fmt!r}; choose one of {', '.join(FORMATS)}")
