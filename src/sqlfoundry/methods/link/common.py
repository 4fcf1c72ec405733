"""What the linkers share: building ``schema_links`` from names a model wrote."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlfoundry.core.sample import Sample
from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.schema_view import resolve


def links_from_names(
    schema: Schema, names: Iterable[str], values: Iterable[Any] = (), joins: Iterable[str] = ()
) -> tuple[dict[str, list], list[str]]:
    """``schema_links`` for model-written table / column names, and the names that do not exist."""
    tables, columns, unknown = resolve(schema, names)
    links: dict[str, list] = {"tables": tables, "columns": columns,
                              "values": list(dict.fromkeys(str(v) for v in values if str(v).strip()))}  # fmt: skip
    joins = list(joins)
    if joins:
        links["joins"] = joins
    return links, unknown


def note_unknown(sample: Sample, stage: str, unknown: list[str]) -> None:
    """Keep the names a model invented, for whoever reads the record."""
    if unknown:
        sample.meta["unknown_names"] = {**(sample.meta.get("unknown_names") or {}), stage: unknown}
