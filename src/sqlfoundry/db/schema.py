"""The one Schema model every connector fills and every renderer reads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Column(BaseModel):
    name: str
    type: str = ""
    primary_key: bool = False
    nullable: bool = True
    # Up to a few distinct non-NULL values, JSON-friendly (bytes become hex text).
    samples: list[Any] = Field(default_factory=list)
    # From BIRD-style database_description/<table>.csv, when present.
    readable_name: str | None = None
    description: str | None = None
    value_description: str | None = None


class ForeignKey(BaseModel):
    columns: list[str]
    ref_table: str
    ref_columns: list[str]


class Table(BaseModel):
    name: str
    columns: list[Column] = Field(default_factory=list)
    primary_key: list[str] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    row_count: int | None = None
    description: str | None = None

    def column(self, name: str) -> Column | None:
        """Find a column by name, ignoring case as SQL does."""
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)


class Schema(BaseModel):
    db_id: str
    dialect: str = "sqlite"
    tables: list[Table] = Field(default_factory=list)

    def table(self, name: str) -> Table | None:
        """Find a table by name, ignoring case as SQL does."""
        lowered = name.lower()
        return next((t for t in self.tables if t.name.lower() == lowered), None)

    @property
    def table_names(self) -> list[str]:
        """The tables' names, in schema order."""
        return [t.name for t in self.tables]

    def column_map(self) -> dict[str, list[str]]:
        """Return ``{table: [column, ...]}``, the shape the SQL analysis layer takes."""
        return {t.name: [c.name for c in t.columns] for t in self.tables}

    def foreign_key_pairs(self) -> list[tuple[str, str, str, str]]:
        """Return every single-column link as ``(table, column, ref_table, ref_column)``."""
        pairs = []
        for t in self.tables:
            for fk in t.foreign_keys:
                for col, ref in zip(fk.columns, fk.ref_columns, strict=False):
                    pairs.append((t.name, col, fk.ref_table, ref))
        return pairs
