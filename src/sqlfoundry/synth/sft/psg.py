"""Progressive SQL generation (PSG): which items get an incomplete query, and where it is cut.

SQL-o1 gives the items a model finds hard a second training example: the gold
query cut before a randomly chosen clause keyword (never the first), the prefix
in the prompt's incomplete-query slot, the whole query as the target. The model
learns to finish a query it did not start, which is what the tree search asks
of it at every step.

Which items are "hard":

* with a model, SQL-o1's rule: its zero-shot answer fails to run, or the gold
  query reads 3 or more tables (decided by :class:`~sqlfoundry.synth.sft.operators.PSGSelector`);
* without one, the gold query alone: 3 or more tables, or Spider hardness
  ``hard`` / ``extra`` (:func:`offline_need`).

Every random choice comes from :func:`record_rng`, a stream of its own per record
and seed, so the same command gives the same files whatever the batching.
"""

from __future__ import annotations

import hashlib
import random

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.sql.clauses import clause_prefixes
from sqlfoundry.sql.hardness import spider_hardness
from sqlfoundry.sql.references import referenced_tables

MIN_TABLES = 3
HARD_LEVELS = ("hard", "extra")


def table_count(sql: str, dialect: str = "sqlite") -> int | None:
    """How many distinct base tables the query reads; None when it does not parse."""
    try:
        return len(referenced_tables(sql, dialect))
    except SqlfoundryError:
        return None


def offline_need(
    sql: str,
    dialect: str = "sqlite",
    min_tables: int = MIN_TABLES,
    hard_levels: tuple[str, ...] = HARD_LEVELS,
) -> tuple[bool, str]:
    """Whether the gold query calls for PSG without a model, and why (for ``meta``)."""
    tables = table_count(sql, dialect)
    if tables is not None and tables >= min_tables:
        return True, f"the gold reads {tables} tables"
    try:
        hardness = spider_hardness(sql, dialect)
    except SqlfoundryError:
        hardness = None
    if hardness in hard_levels:
        return True, f"Spider hardness {hardness}"
    return False, f"{tables if tables is not None else '?'} table(s), hardness {hardness}"


def record_rng(seed: int, record_id: str, purpose: str) -> random.Random:
    """A random stream of its own for one record, seed and purpose."""
    digest = hashlib.sha256(f"{seed}\x00{record_id}\x00{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def random_cut(sql: str, rng: random.Random, dialect: str = "sqlite") -> tuple[int, str] | None:
    """One prefix of ``sql`` cut before a clause keyword other than the first, chosen with
    ``rng``: ``(segments kept, prefix)``; None for a query of a single clause."""
    prefixes = clause_prefixes(sql, dialect)
    if not prefixes:
        return None
    index = rng.randrange(len(prefixes))
    return index + 1, prefixes[index]


def every_cut(sql: str, dialect: str = "sqlite") -> list[tuple[int, str]]:
    """Every prefix cut before a clause keyword other than the first (the ``progressive`` mode)."""
    return [(i + 1, p) for i, p in enumerate(clause_prefixes(sql, dialect))]
