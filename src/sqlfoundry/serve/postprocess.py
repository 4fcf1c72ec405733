"""From the model's text to the answer the client gets.

In order, each step optional per service:

1. **extract** the SQL (``sqlfoundry.llm.parse.parse_sql``: a ```sql block, a bare
   query, a ``SQL:`` label; a Codex-style prompt's answer is completed with its
   ``SELECT``);
2. **validate** it: it must parse as one statement in the service's dialect, and
   name only tables and columns of the schema;
3. **transpile** it to the target dialect;
4. **execute** it read-only against the request's database and append a preview
   of the first rows. Only single read-only queries ever reach a database: the
   db layer's guard refuses anything else before it runs.

A problem found here does not turn the answer into an HTTP error: the model
answered and the tokens were spent, so the client gets a 200 with the model's
SQL, a ``-- warning: …`` line in the content, and the same facts in the
``sqlfoundry`` object of the choice (``valid``, ``errors``), where a program can
act on them (ask again, show the warning, refuse to run it).

Steps 1-3 are pure: an answer met again over a database's own schema (a model
asked the same question answers the same) is copied from the last time rather
than parsed and checked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from sqlglot import exp

from sqlfoundry.core.errors import SqlfoundryError, SQLSyntaxError, WriteRejectedError
from sqlfoundry.core.lru import LRU
from sqlfoundry.db.base import Database, ExecResult, failed, json_value
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.schema import Schema
from sqlfoundry.llm.parse import parse_sql
from sqlfoundry.serve.config import PostprocessConfig
from sqlfoundry.sql.guard import check_read_only
from sqlfoundry.sql.parse import parse_one
from sqlfoundry.sql.references import referenced_columns
from sqlfoundry.sql.transpile import transpile

_CELL_CHARS = 40
# Answers kept per service, extracted and checked, for when the same one comes again.
_CHECKED_ANSWERS = 4096


@dataclass(slots=True)
class Outcome:
    """One choice after post-processing."""

    text: str  # the model's text as it came
    sql: str | None = None  # the final SQL (transpiled when asked)
    dialect: str = "sqlite"
    extracted: str | None = None  # the SQL as the model wrote it
    valid: bool | None = None
    errors: list[str] = field(default_factory=list)
    preview: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # "-- ..." lines for the reply

    def reply(self, mode: str) -> str:
        """The message content: the final SQL and its notes, or the text and its notes."""
        if mode == "sql" and self.sql is not None:
            return "\n".join([self.sql, *self.notes])
        return self.text + self.suffix()

    def suffix(self) -> str:
        """What follows the model's own text: the final SQL unless the text holds it as it is
        (it was transpiled, or completed with the prompt's SELECT), then the notes."""
        parts = []
        if self.sql is not None and (self.sql != self.extracted or self.sql not in self.text):
            parts.append(f"-- {self.dialect}:\n{self.sql}")
        parts.extend(self.notes)
        return "\n\n" + "\n".join(parts) if parts else ""

    def info(self) -> dict[str, Any]:
        """The ``sqlfoundry`` object of the choice."""
        return {"sql": self.sql, "dialect": self.dialect, "valid": self.valid,
                "errors": self.errors, "preview": self.preview}  # fmt: skip


class PreviewRunner:
    """Read-only execution for previews, on a small pool of threads.

    Each thread keeps its own open databases (SQLite connections belong to the
    thread that opened them). Every statement goes through ``Database.execute``,
    whose guard refuses anything but one read-only query before it runs.
    """

    def __init__(self, manager: DatabaseManager, threads: int = 4) -> None:
        self.manager = manager
        self._pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="sqlfoundry-preview"
        )
        self._local = threading.local()
        self._opened: list[Database] = []
        self._lock = threading.Lock()

    def _database(self, db_id: str) -> Database:
        cache = getattr(self._local, "databases", None)
        if cache is None:
            cache = self._local.databases = {}
        db = cache.get(db_id)
        if db is None:
            db = cache[db_id] = self.manager.open(db_id)
            with self._lock:
                self._opened.append(db)
        return db

    def _execute(self, sql: str, db_id: str, rows: int, timeout: float) -> ExecResult:
        try:
            db = self._database(db_id)
        except SqlfoundryError as err:
            return failed(err, 0.0, db_id)
        return db.execute(sql, timeout=timeout, max_rows=rows)

    async def run(self, sql: str, db_id: str, *, rows: int, timeout: float) -> ExecResult:
        """Run ``sql`` read-only on ``db_id`` off the event loop; at most ``rows`` rows."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._execute, sql, db_id, rows, timeout)

    def close(self) -> None:
        """Close the worker threads and the open databases."""
        self._pool.shutdown(wait=True)
        with self._lock:
            for db in self._opened:
                # Opened on a pool thread that is gone now; closing is best effort.
                with contextlib.suppress(Exception):
                    db.close()
            self._opened.clear()


class PostProcessor:
    """One service's post-processing.

    Args:
        config: the service's ``[postprocess]`` settings.
        dialect: the dialect the model writes.
        answer_prefix: words the prompt ended with, which the answer continues (``SELECT``).
        previews: the read-only runner, needed when ``config.execute`` is on.
    """

    def __init__(self, config: PostprocessConfig, dialect: str, *, answer_prefix: str | None = None,
                 previews: PreviewRunner | None = None) -> None:  # fmt: skip
        self.config = config
        self.dialect = dialect
        self.answer_prefix = answer_prefix
        self.previews = previews
        self._checked: LRU[tuple[SchemaNames | None, str], Outcome] = LRU(_CHECKED_ANSWERS)

    def extract(self, text: str) -> Outcome:
        """Steps 1-3: extract, validate and transpile (no I/O)."""
        outcome = Outcome(text=text, dialect=self.dialect)
        if self.config.extract_sql:
            parsed = parse_sql(text)
            if not parsed.ok and self.answer_prefix:
                parsed = parse_sql(f"{self.answer_prefix} {text.strip()}")
            if not parsed.ok:
                outcome.valid = False
                outcome.errors.append(f"no SQL in the answer: {parsed.error}")
                outcome.notes.append(f"-- warning: no SQL in the answer: {parsed.error}")
                return outcome
            sql = parsed.value
        else:
            sql = text.strip()
        outcome.sql = outcome.extracted = sql
        return outcome

    def check(self, outcome: Outcome, names: SchemaNames | None) -> None:
        """Validate and transpile ``outcome.sql`` in place."""
        sql = outcome.sql
        if sql is None:
            return
        tree = None
        if self.config.validate_sql or self.config.transpile_to:
            try:
                tree = parse_one(sql, self.dialect)
            except SQLSyntaxError as err:
                self._problem(outcome, f"not valid {self.dialect}: {err.message}")
        if self.config.validate_sql and tree is not None:
            try:
                check_read_only(sql, self.dialect)
            except WriteRejectedError as err:
                # Never executed either way; the flag must not call a DELETE valid.
                self._problem(outcome, err.message)  # "not a query: DELETE statements ..."
            except SQLSyntaxError as err:
                self._problem(outcome, f"not a query: {err.message}")
            for problem in unknown_names(tree, self.dialect, names) if names else []:
                self._problem(outcome, problem)
            if outcome.valid is None:
                outcome.valid = True
        target = self.config.transpile_to
        if target and target != self.dialect and tree is not None:
            try:
                outcome.sql = transpile(sql, self.dialect, target)
                outcome.dialect = target
            except SQLSyntaxError as err:
                self._problem(outcome, f"not transpiled to {target}: {err.message}", valid=None)

    @staticmethod
    def _problem(outcome: Outcome, message: str, valid: bool | None = False) -> None:
        if valid is False:
            outcome.valid = False
        outcome.errors.append(message)
        outcome.notes.append(f"-- warning: {message}")

    async def execute(self, outcome: Outcome, db_id: str | None, db_dialect: str | None) -> None:
        """Step 4: run the SQL read-only on ``db_id`` and note the first rows."""
        if not self.config.execute or self.previews is None or db_id is None:
            return
        if outcome.extracted is None or outcome.sql is None:
            return
        if outcome.dialect == db_dialect:
            sql = outcome.sql
        elif self.dialect == db_dialect or db_dialect is None:
            sql = outcome.extracted
        else:
            try:
                sql = transpile(outcome.extracted, self.dialect, db_dialect)
            except SQLSyntaxError as err:
                outcome.notes.append(f"-- not executed: cannot run on {db_dialect}: {err.message}")
                return
        result = await self.previews.run(sql, db_id, rows=self.config.preview_rows,
                                         timeout=self.config.execute_timeout)  # fmt: skip
        outcome.preview = preview_info(result)
        outcome.notes.extend(preview_lines(result, self.config.execute_timeout))

    def checked(self, text: str, names: SchemaNames | None, *, reuse: bool = False) -> Outcome:
        """Steps 1-3 on ``text``.

        Args:
            reuse: ``names`` lives as long as the server (a database's own, not a schema
                pasted in a request): an answer checked before under it is copied, not
                parsed again.
        """
        if not reuse:
            outcome = self.extract(text)
            self.check(outcome, names)
            return outcome
        key = (names, text)
        done = self._checked.get(key)
        if done is None:
            done = self.extract(text)
            self.check(done, names)
            self._checked.put(key, done)
        # A copy: step 4 adds notes to the outcome it is given.
        return replace(done, errors=list(done.errors), notes=list(done.notes))

    async def run(self, text: str, *, names: SchemaNames | None, db_id: str | None,
                  db_dialect: str | None, reuse: bool = False) -> Outcome:  # fmt: skip
        """Extract, validate, transpile and (when configured) preview the model's SQL
        (``reuse``: see :meth:`checked`)."""
        outcome = self.checked(text, names, reuse=reuse)
        await self.execute(outcome, db_id, db_dialect)
        return outcome


class SchemaNames:
    """The names validation checks against, computed once per schema."""

    def __init__(self, schema: Schema) -> None:
        self.columns = {t.name.lower(): {c.name.lower() for c in t.columns} for t in schema.tables}
        self.every = set().union(*self.columns.values()) if self.columns else set()
        self.column_map = schema.column_map()


def unknown_names(tree: exp.Expression, dialect: str, names: SchemaNames) -> list[str]:
    """Tables and columns the query reads that the schema does not have."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables = {t.name.lower() for t in tree.find_all(exp.Table) if t.name}
    problems = [f"unknown table {t}" for t in sorted(tables - ctes) if t not in names.columns]
    for table, column in sorted(referenced_columns(tree, dialect, names.column_map)):
        if column == "*":
            continue
        if table in names.columns and column not in names.columns[table]:
            problems.append(f"unknown column {table}.{column}")
        elif not table and column not in names.every:
            problems.append(f"unknown column {column}")
    return problems


def preview_info(result: ExecResult) -> dict[str, Any]:
    """An execution result as the ``preview`` of a choice's ``sqlfoundry`` object."""
    return {
        "status": result.status,
        "columns": result.columns,
        "rows": [[json_value(v) for v in row] for row in result.rows],
        "truncated": result.truncated,
        "elapsed_ms": round(result.elapsed_ms, 3),
        "error": result.error,
    }


def _cell(value: Any) -> str:
    text = "NULL" if value is None else " ".join(str(json_value(value)).split())
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 3] + "..."


def preview_lines(result: ExecResult, timeout: float) -> list[str]:
    """The preview as SQL comment lines, so the reply stays runnable SQL."""
    if result.status == "rejected":
        return [f"-- not executed: {result.error}"]
    if result.status == "timeout":
        return [f"-- not executed: the query ran past the {timeout:g} s preview timeout"]
    if not result.ok:
        return [f"-- execution error: {' '.join((result.error or '').split())}"]
    count = len(result.rows)
    if result.truncated:
        head = f"-- preview: first {count} rows"
    else:
        head = f"-- preview: {count} row{'s' if count != 1 else ''}"
    lines = [head, "-- " + " | ".join(result.columns)]
    lines.extend("-- " + " | ".join(_cell(v) for v in row) for row in result.rows)
    return lines
