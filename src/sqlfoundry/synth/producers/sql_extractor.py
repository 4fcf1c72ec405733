"""SqlExtractor: a question for every statement of a SQL log.

Each entry is checked first: text that is not SQL, or not a single read-only
query, is a reject with its file:line. With ``validate`` (the default) the
query runs on its database, read-only; one that fails becomes a pair with
``success=False`` and the database's error in ``meta`` (or a reject with
``skip_invalid``). An entry that already carries its question (a JSONL log
with ``question``) keeps it; the others get one written:

* offline: the realiser's question for the SQL;
* LLM: the ``question_generation`` prompt in the chosen style, with the
  database's DDL and example values (never an empty schema).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.llm import QUESTION_STYLES, question_generation_messages
from sqlfoundry.synth.base import Engine
from sqlfoundry.synth.producers.base import Outcome, PairProducer, answer_field
from sqlfoundry.synth.producers.checks import read_only_problem
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.pair import ExtractedPair, provenance
from sqlfoundry.synth.producers.sql_log import LoggedSql, entries_of, read_sql_log
from sqlfoundry.synth.producers.wording import realise
from sqlfoundry.synth.realiser import RealiseError


class SqlExtractor(PairProducer):
    """Pairs from logged SQL, one question each.

    Args:
        sqls: a SQL log file (statements, a Spider gold file, or JSONL with ``sql``),
            one statement, or a list of them.
        db: the databases; entries without a ``db_id`` are for ``db.db_id``.
        validate: run each query and mark those that fail ``success=False``.
        skip_invalid: reject failing queries instead of keeping them.
        style: LLM engine: the question's language style (``question_styles.toml``).
    """

    name = "sql_extractor"

    def __init__(
        self,
        sqls: Any,
        db: PairDatabase,
        *,
        validate: bool = True,
        skip_invalid: bool = False,
        style: str = "interrogative",
        engine: Engine = "auto",
        concurrency: int | None = None,
    ) -> None:
        super().__init__(db=db, engine=engine, concurrency=concurrency)
        if style not in QUESTION_STYLES:
            raise ConfigError(
                f"unknown style {style!r}", hint=f"styles: {', '.join(QUESTION_STYLES)}"
            )
        self.sqls = sqls
        self.validate = validate
        self.skip_invalid = skip_invalid
        self.style = style

    def config(self) -> dict[str, Any]:
        return {"validate": self.validate, "skip_invalid": self.skip_invalid, "style": self.style}

    def entries(self) -> list[LoggedSql]:
        """The logged queries: read from the log file, or taken from the text or list given."""
        if isinstance(self.sqls, Path) or (
            isinstance(self.sqls, str) and "\n" not in self.sqls and Path(self.sqls).is_file()
        ):
            dialect = self.db.dialect() if self.db.db_id else "sqlite"
            entries, problems = read_sql_log(self.sqls, db_id=self.db.db_id, dialect=dialect)
            for problem in problems:
                self.drop(problem["reason"], source=problem["source"])
            return entries
        return entries_of(self.sqls, db_id=self.db.db_id)

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        async def inputs() -> AsyncIterator[list[LoggedSql]]:
            yield self.entries()

        async for chunk in self.each(inputs(), self._extract, _entry_key):
            yield chunk

    async def _extract(self, entry: LoggedSql) -> Outcome:
        out = Outcome()
        db_id = entry.db_id or self.db.db_id
        if not self.db.knows(db_id):
            out.rejects.append(self.reject(f"unknown database: {db_id!r}", source=entry.source))
            return out
        db = self.db.using(db_id)
        problem = read_only_problem(entry.sql, db.dialect())
        if problem is not None:
            out.rejects.append(self.reject(problem, source=entry.source))
            return out
        error = None
        if self.validate:
            [result] = await db.execute([(entry.sql, db_id)])
            error = None if result.ok else f"execution failed: {result.error}"
        if error and self.skip_invalid:
            out.rejects.append(self.reject(error, source=entry.source))
            return out
        question, evidence, info = entry.question, None, {"question": "logged"}
        if question is None:
            question, evidence, info, failure = await self._question(db, db_id, entry)
            if question is None:
                reason = f"cannot write a question: {failure}"
                out.rejects.append(self.reject(f"{error}; {reason}" if error else reason,
                                               source=entry.source))  # fmt: skip
                return out
        meta: dict[str, Any] = {"source": entry.source}
        if entry.extra:
            meta["input"] = entry.extra
        pair = ExtractedPair(question=question, sql=entry.sql, db_id=db_id, evidence=evidence,
                             meta=meta, id=_pair_id(entry))  # fmt: skip
        if error:
            pair = pair.failed(error)
        out.pairs.append(provenance(pair, self.name, self.engine, **info))
        return out

    async def _question(
        self, db: PairDatabase, db_id: str, entry: LoggedSql
    ) -> tuple[str | None, str | None, dict[str, Any], str | None]:
        """``(question, evidence, provenance info, None)`` or ``(None, None, {}, why not)``."""
        if self.engine == "offline":
            try:
                result = realise(db.schema(), entry.sql, f"{db.seed}:{self.name}:{entry.source}")
            except RealiseError as err:
                return None, None, {}, err.message
            return result.text, None, {"style": result.style}, None
        messages = question_generation_messages(
            self.style, dialect=db.dialect_title(), schema=db.ddl(), sql=entry.sql, evidence=""
        )
        text, error = await self.ask(messages)
        if text is None:
            return None, None, {}, error
        question, error = answer_field(text, "question")
        if question is None:
            return None, None, {}, error
        evidence, _ = answer_field(text, "evidence")
        return question, evidence, {"style": self.style}, None


def _entry_key(entry: LoggedSql) -> list[Any]:
    return [entry.sql, entry.db_id, entry.question, entry.source]


def _pair_id(entry: LoggedSql) -> str:
    file, _, line = entry.source.rpartition(":")
    if file and line.isdigit():
        return f"{Path(file).stem}-{line}"
    return entry.source.replace(" ", "-")
