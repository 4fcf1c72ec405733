"""SQL -> English, offline: the realiser behind the question generator's offline engine.

``realise(sql, schema)`` parses the query once with sqlglot, builds its plan
(aliases resolved, joins oriented along foreign keys, CTEs inlined) and words
it as a question or request a person would ask: "What is the name of the
oldest singer from France?", "How many students have a pet whose type is
'cat'?". With an ``rng`` the wording varies (question word, interrogative or
imperative) but the meaning never does.
"""

from __future__ import annotations

import random

from sqlglot import exp

from sqlfoundry.core.errors import SQLSyntaxError
from sqlfoundry.core.lru import SharedLRU
from sqlfoundry.db.schema import Schema
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import read_tree
from sqlfoundry.synth.realiser.errors import RealiseError
from sqlfoundry.synth.realiser.lexicon import Chooser
from sqlfoundry.synth.realiser.names import SchemaWords, schema_words
from sqlfoundry.synth.realiser.plan import Query, build
from sqlfoundry.synth.realiser.question import Realisation, Realiser

__all__ = ["Realisation", "RealiseError", "SchemaWords", "plan_of", "realise", "realise_detail"]


# Plans of the texts planned last. A record's question and its reasoning are worded from
# the same plan, a few steps apart: a stage takes a batch of up to 256 records through
# both (sqlfoundry.core.executors.stage). Plans are only read once built. Shared, as
# threads may plan at once.
_PLANS: SharedLRU[tuple[str, str, SchemaWords], Query] = SharedLRU(320)


def plan_of(sql: str | exp.Expression, schema: Schema, dialect: str = "sqlite") -> Query:
    """The realiser's plan of a query (used by the offline chain-of-thought too). The plan
    of a text is shared with the next callers asking for it: it must not be modified.

    Raises:
        RealiseError: the SQL does not parse, or uses something the realiser cannot say.
    """
    words = schema_words(schema)
    if isinstance(sql, exp.Expression):
        return build(quoted_strings_to_literals(sql.copy(), dialect), words)
    key = (sql, dialect, words)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    try:
        tree = read_tree(sql, dialect)
    except SQLSyntaxError as err:
        raise RealiseError(f"unparseable SQL: {err.message}", sql=sql) from err
    # The tree is shared with the record's later readers (its filters, its hardness):
    # one the plan would change is copied first, its quoted strings made literals.
    if _may_rewrite(tree):
        tree = quoted_strings_to_literals(tree.copy(), dialect)
    return _PLANS.put(key, build(tree, words))


def _may_rewrite(tree: exp.Expression) -> bool:
    """Whether building a plan might change ``tree``: only a quoted name, or a column
    named true or false, can be rewritten as a string (see quoted_strings_to_literals
    and the plan's column references)."""
    for column in tree.find_all(exp.Column):
        name = column.this
        if getattr(name, "quoted", False) or column.name.lower() in ("true", "false"):
            return True
    return False


def realise_detail(
    sql: str | exp.Expression,
    schema: Schema,
    *,
    rng: random.Random | None = None,
    dialect: str = "sqlite",
) -> Realisation:
    """Like :func:`realise`, also saying which phrasing variant was used."""
    query = plan_of(sql, schema, dialect)
    return Realiser(schema_words(schema), Chooser(rng)).realise(query)


def realise(
    sql: str | exp.Expression,
    schema: Schema,
    *,
    rng: random.Random | None = None,
    dialect: str = "sqlite",
) -> str:
    """The question ``sql`` answers, in English.

    Args:
        sql: one SELECT (joins, subqueries, set operations and CTEs allowed).
        schema: the database's schema; its readable column names are used when present.
        rng: varies the wording; without one the plainest wording is used.
        dialect: the SQL dialect to parse with.

    Raises:
        RealiseError: the SQL does not parse or uses something that cannot be said.
    """
    return realise_detail(sql, schema, rng=rng, dialect=dialect).text
