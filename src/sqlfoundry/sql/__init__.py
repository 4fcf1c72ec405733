"""SQL analysis on sqlglot trees.

It covers parsing and validation, the tables and columns a query references,
component counts, Spider hardness, skeletons and normal forms, and transpiling
between SQLite, PostgreSQL, MySQL and DuckDB.
"""

from sqlfoundry.sql.components import Components, components
from sqlfoundry.sql.hardness import HARDNESS_LEVELS, SpiderCounts, spider_counts, spider_hardness
from sqlfoundry.sql.parse import (
    SUPPORTED_DIALECTS,
    parse_one,
    split_statements,
    sqlglot_dialect,
    validate,
)
from sqlfoundry.sql.references import referenced_columns, referenced_tables
from sqlfoundry.sql.skeleton import normalize, skeleton
from sqlfoundry.sql.transpile import transpile

__all__ = [
    "HARDNESS_LEVELS",
    "SUPPORTED_DIALECTS",
    "Components",
    "SpiderCounts",
    "components",
    "normalize",
    "parse_one",
    "referenced_columns",
    "referenced_tables",
    "skeleton",
    "spider_counts",
    "spider_hardness",
    "split_statements",
    "sqlglot_dialect",
    "transpile",
    "validate",
]
