"""BIRD-style column descriptions: ``database_description/<table>.csv`` beside the database."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlfoundry.db.schema import Schema

log = logging.getLogger(__name__)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    # BIRD ships these files in a mix of UTF-8 (with and without BOM) and cp1252.
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def apply_descriptions(schema: Schema, folder: Path) -> int:
    """Fill column descriptions from the CSV files in ``folder``, if it exists.

    Returns:
        How many columns received a description.
    """
    if not folder.is_dir():
        return 0
    filled = 0
    files = {p.stem.lower(): p for p in folder.glob("*.csv")}
    for table in schema.tables:
        path = files.get(table.name.lower())
        if path is None:
            continue
        try:
            reader = csv.DictReader(io.StringIO(_read_text(path)))
            rows = list(reader)
        except csv.Error as err:
            log.warning("%s: unreadable description file: %s", path, err)
            continue
        for line, row in enumerate(rows, start=2):
            row = {(k or "").strip().lower(): v for k, v in row.items()}
            original = _clean(row.get("original_column_name"))
            column = table.column(original) if original else None
            if column is None:
                log.warning("%s:%d: no column %r in table %s", path, line, original, table.name)
                continue
            column.readable_name = _clean(row.get("column_name"))
            column.description = _clean(row.get("column_description"))
            column.value_description = _clean(row.get("value_description"))
            filled += 1
    return filled
