"""Classify one record: Spider hardness plus component counts, without losing the record."""

from __future__ import annotations

from typing import Any

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.io import sql_of
from sqlfoundry.sql.components import components
from sqlfoundry.sql.parse import parse_one


def classify_record(
    record: dict[str, Any], *, dialect: str = "sqlite", where: str | None = None
) -> dict[str, Any]:
    """Return ``record`` plus ``hardness`` and ``components``.

    A record without SQL, or whose SQL does not parse, keeps its fields and
    gets ``hardness: None`` and an ``error`` that names ``where`` (file:line).
    """
    out = dict(record)
    prefix = f"{where}: " if where else ""
    sql = sql_of(record)
    if sql is None:
        out.update(
            hardness=None, components=None, error=f"{prefix}record has no 'SQL' or 'query' field"
        )
        return out
    try:
        counts = components(parse_one(sql, dialect), dialect).to_dict()
    except SqlfoundryError as err:
        out.update(hardness=None, components=None, error=f"{prefix}{err.message}")
        return out
    out["hardness"] = counts["spider_hardness"]
    out["components"] = counts
    return out
