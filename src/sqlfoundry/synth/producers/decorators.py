"""Decorators: producers that validate, filter or de-duplicate another producer's pairs.

They wrap any producer (or a list of pairs) and compose in any order::

    DeduplicatedProducer(FilteredProducer(ValidatedProducer(MessageExtractor(log), db)))

Nothing is lost silently: a pair a decorator drops is a reject with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Literal

from sqlfoundry.core.errors import ConfigError, SqlfoundryError
from sqlfoundry.sql.parse import sqlglot_dialect
from sqlfoundry.sql.references import referenced_tables
from sqlfoundry.sql.skeleton import normalize
from sqlfoundry.synth.producers.base import PairProducer
from sqlfoundry.synth.producers.checks import read_only_problem, schema_problem
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.pair import ExtractedPair

Strategy = Literal["exact", "sql-only", "question-only"]
STRATEGIES = ("exact", "sql-only", "question-only")


class ValidatedProducer(PairProducer):
    """Checks every pair's SQL: one read-only query over the schema's tables and columns,
    and with ``execute`` that it runs.

    A pair that fails gets ``success=False`` and the reason in ``meta["error"]``,
    or is rejected with ``remove_invalid``. A pair that passes gets
    ``success=True`` (a pair that failed upstream stays failed unless it now
    runs with ``execute``), and ``meta["rows"]`` when executed.
    """

    name = "validated"

    def __init__(
        self,
        producer: Any,
        db: PairDatabase,
        execute: bool = False,
        remove_invalid: bool = False,
    ) -> None:
        super().__init__(source=producer, db=db, engine="offline")
        self.execute = execute
        self.remove_invalid = remove_invalid

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        assert self.db is not None
        async for chunk in self.upstream():
            self.stats["inputs"] += len(chunk)
            checked: list[ExtractedPair] = []
            problems: list[str | None] = []
            runs: list[tuple[int, str, str]] = []
            for pair in chunk:
                problem = self._static(pair)
                problems.append(problem)
                checked.append(pair)
                if problem is None and self.execute:
                    runs.append((len(checked) - 1, pair.sql, pair.db_id or self.db.db_id or ""))
            results = await self.db.execute([(sql, db_id) for _, sql, db_id in runs])
            rows: dict[int, int] = {}
            for (index, _, _), result in zip(runs, results, strict=True):
                if result.ok:
                    rows[index] = len(result.rows)
                else:
                    problems[index] = f"execution failed: {result.error}"
            out = []
            for index, (pair, problem) in enumerate(zip(checked, problems, strict=True)):
                if problem is not None:
                    if self.remove_invalid:
                        self.drop(problem, pair=pair)
                        continue
                    pair = pair.failed(problem)
                elif index in rows:
                    pair = pair.model_copy(update={"success": True,
                                                   "meta": {**pair.meta, "rows": rows[index]}})  # fmt: skip
                    pair.meta.pop("error", None)
                out.append(pair)
            self.stats["pairs"] += len(out)
            self.stats["failed"] += sum(not p.success for p in out)
            if out:
                yield out

    def _static(self, pair: ExtractedPair) -> str | None:
        assert self.db is not None
        db_id = pair.db_id or self.db.db_id
        if not pair.sql.strip():
            return "no SQL"
        if not self.db.knows(db_id):
            return f"unknown database: {db_id!r}"
        schema = self.db.using(db_id).schema()
        return read_only_problem(pair.sql, schema.dialect) or schema_problem(pair.sql, schema)


class FilteredProducer(PairProducer):
    """Keeps the pairs that pass every given criterion.

    Args:
        success_only: drop pairs with ``success=False``.
        tables: keep pairs whose SQL reads at least one of these tables (found
            with sqlglot; ``schema.table`` names match on the table).
        dialect: the SQL dialect for reading the tables (sqlite by default).
        filter: any predicate on the pair.
    """

    name = "filtered"

    def __init__(
        self,
        producer: Any,
        success_only: bool = True,
        tables: Sequence[str] | None = None,
        dialect: str | None = None,
        filter: Callable[[ExtractedPair], bool] | None = None,  # noqa: A002 - the anchor's name
    ) -> None:
        super().__init__(source=producer, engine="offline")
        self.success_only = success_only
        self.tables = {t.split(".")[-1].lower() for t in tables or []}
        self.dialect = dialect or "sqlite"
        self.filter = filter
        if dialect is not None:
            try:
                sqlglot_dialect(dialect)
            except SqlfoundryError as err:
                raise ConfigError(err.message) from None

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        async for chunk in self.upstream():
            self.stats["inputs"] += len(chunk)
            kept = []
            for pair in chunk:
                reason = self._reason(pair)
                if reason is None:
                    kept.append(pair)
                else:
                    self.drop(reason, pair=pair)
            self.stats["pairs"] += len(kept)
            if kept:
                yield kept

    def _reason(self, pair: ExtractedPair) -> str | None:
        """Why the pair is filtered out, or None to keep it."""
        if self.success_only and not pair.success:
            return "filtered: unsuccessful pair"
        if self.tables:
            try:
                read = referenced_tables(pair.sql, self.dialect)
            except SqlfoundryError as err:
                return f"filtered: cannot read the tables of the SQL ({err.message})"
            if not read & self.tables:
                return f"filtered: reads none of {', '.join(sorted(self.tables))}"
        if self.filter is not None and not self.filter(pair):
            return "filtered: the predicate refused it"
        return None


class DeduplicatedProducer(PairProducer):
    """Drops pairs already seen, the first one staying.

    Args:
        strategy: ``exact`` (question and SQL), ``sql-only`` or ``question-only``.
        dialect: SQL is compared normalised by sqlglot (layout, keyword and
            identifier case, alias names); text that does not parse is compared
            with its whitespace collapsed. Questions are compared case- and
            whitespace-insensitively, ignoring the final punctuation.
    """

    name = "deduplicated"

    def __init__(
        self, producer: Any, strategy: Strategy = "exact", dialect: str | None = None
    ) -> None:
        super().__init__(source=producer, engine="offline")
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"unknown strategy {strategy!r}", hint=f"strategies: {', '.join(STRATEGIES)}"
            )
        self.strategy = strategy
        self.dialect = dialect

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        seen: dict[str, str] = {}
        async for chunk in self.upstream():
            self.stats["inputs"] += len(chunk)
            unique = []
            for pair in chunk:
                key = self.key(pair)
                if key in seen:
                    self.drop(f"duplicate of {seen[key]}", pair=pair)
                    continue
                seen[key] = pair.id or pair.key()
                unique.append(pair)
            self.stats["pairs"] += len(unique)
            if unique:
                yield unique

    def key(self, pair: ExtractedPair) -> str:
        """What two pairs must share to be duplicates."""
        sql = self._sql(pair)
        question = " ".join(pair.question.lower().split()).rstrip("?.!").strip()
        db = pair.db_id or ""
        if self.strategy == "sql-only":
            return f"{db}\x00{sql}"
        if self.strategy == "question-only":
            return f"{db}\x00{question}"
        return f"{db}\x00{question}\x00{sql}"

    def _sql(self, pair: ExtractedPair) -> str:
        try:
            return normalize(pair.sql, self.dialect or "sqlite")
        except SqlfoundryError:
            return " ".join(pair.sql.lower().split())
