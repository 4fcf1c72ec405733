"""SQL analysis on sqlglot trees.

It covers parsing and validation, the tables and columns a query references,
component counts, Spider hardness, skeletons and normal forms, and transpiling
between SQLite, PostgreSQL, MySQL and DuckDB.

Every name is imported on first use: importing one module of this package (the
read-only guard, say) does not load sqlglot's parser for all the others. The
functions named like their module, ``components`` and ``skeleton``, are imported
from those modules (``sqlfoundry.sql.skeleton.skeleton``): the package name is the
module's.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# name -> the module that defines it.
_LAZY = {
    "Components": "components",
    "HARDNESS_LEVELS": "hardness",
    "SpiderCounts": "hardness",
    "spider_counts": "hardness",
    "spider_hardness": "hardness",
    "SUPPORTED_DIALECTS": "parse",
    "parse_one": "parse",
    "split_statements": "parse",
    "sqlglot_dialect": "parse",
    "validate": "parse",
    "referenced_columns": "references",
    "referenced_tables": "references",
    "normalize": "skeleton",
    "transpile": "transpile",
}

__all__ = [
    "HARDNESS_LEVELS",
    "SUPPORTED_DIALECTS",
    "Components",
    "SpiderCounts",
    "normalize",
    "parse_one",
    "referenced_columns",
    "referenced_tables",
    "spider_counts",
    "spider_hardness",
    "split_statements",
    "sqlglot_dialect",
    "transpile",
    "validate",
]

if TYPE_CHECKING:
    from sqlfoundry.sql.components import Components
    from sqlfoundry.sql.hardness import (
        HARDNESS_LEVELS,
        SpiderCounts,
        spider_counts,
        spider_hardness,
    )
    from sqlfoundry.sql.parse import (
        SUPPORTED_DIALECTS,
        parse_one,
        split_statements,
        sqlglot_dialect,
        validate,
    )
    from sqlfoundry.sql.references import referenced_columns, referenced_tables
    from sqlfoundry.sql.skeleton import normalize
    from sqlfoundry.sql.transpile import transpile


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sqlfoundry.sql' has no attribute {name!r}")
    value = getattr(import_module(f"sqlfoundry.sql.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
