"""The LLM engine's SQL for a question: written, checked on the schema, run, and repaired.

The ``pair_sql`` prompt shows the database's DDL with example values and the
teachings, and lets the model refuse (``UNANSWERABLE: <why>``) rather than
guess. An answer is kept once it is a single read-only query over the schema's
tables and columns that runs on the database; otherwise the problem goes back
to the model in a follow-up turn (``pair_sql_retry``), up to ``max_attempts``
answers in all. A refusal ends the attempts: the question is unanswerable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlfoundry.llm import parse_sql, render_prompt, strip_thinking
from sqlfoundry.synth.producers.checks import read_only_problem, schema_problem
from sqlfoundry.synth.producers.database import PairDatabase

REFUSAL = "UNANSWERABLE"


@dataclass
class WrittenSql:
    """The outcome: ``sql`` when ``ok``; else ``error`` says why (``unanswerable`` for a refusal)."""

    sql: str
    ok: bool
    attempts: int
    error: str | None = None
    unanswerable: bool = False
    rows: int | None = None


async def write_sql(
    producer: Any,
    db: PairDatabase,
    db_id: str,
    question: str,
    *,
    teachings: str = "",
    max_attempts: int = 3,
) -> WrittenSql:
    """Ask ``producer`` (its ``ask``: its name, concurrency and the LLM) for the SQL of ``question``."""
    db = db.using(db_id)
    schema = db.schema()
    dialect = db.dialect_title()
    messages = render_prompt("pair_sql", dialect=dialect, schema=db.ddl(), teachings=teachings,
                             question=question)  # fmt: skip
    sql, problem = "", "no answer"
    for attempt in range(1, max_attempts + 1):
        text, failure = await producer.ask(messages)
        if text is None:
            return WrittenSql(sql, False, attempt, error=failure)
        parsed = parse_sql(text)
        refusal = _refusal(text)
        if not parsed.ok and refusal is not None:
            return WrittenSql(
                "", False, attempt, error=f"unanswerable: {refusal}", unanswerable=True
            )
        if not parsed.ok:
            sql, problem = "", f"no SQL in the answer ({parsed.error})"
        else:
            sql = parsed.value
            problem = read_only_problem(sql, schema.dialect) or schema_problem(sql, schema)
            if problem is None:
                [result] = await db.execute([(sql, db_id)])
                if result.ok:
                    return WrittenSql(sql, True, attempt, rows=len(result.rows))
                problem = f"execution failed: {result.error}"
        messages = [
            *messages,
            {"role": "assistant", "content": text},
            *render_prompt("pair_sql_retry", dialect=dialect, problem=problem),
        ]
    return WrittenSql(sql, False, max_attempts, error=problem)


def _refusal(text: str) -> str | None:
    """The reason after ``UNANSWERABLE:`` on a line of its own, or None."""
    for line in strip_thinking(text).splitlines():
        stripped = line.strip().strip("`*").strip()
        if stripped.upper().startswith(REFUSAL):
            return stripped[len(REFUSAL) :].lstrip(" :-").strip() or "no reason given"
    return None
