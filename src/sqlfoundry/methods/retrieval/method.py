"""Retrieval over synthesized pairs: sqlfoundry's own Text-to-SQL method with no model.

For each database, sqlfoundry's offline synthesis writes a few hundred
question/SQL pairs once (:mod:`pairs`, cached on disk): queries
sampled from the schema and real values, plus one of each everyday query shape
per table and foreign key (:mod:`templates`), all worded by the
offline SQL-to-English realiser. Only the database itself is read. A question
is answered by

1. reading it: its values (quoted strings, numbers with the comparison around
   them, values found in the database: :mod:`values`), its
   terms with those values taken out, its structure cues ("how many", "for
   each", "oldest") and its links to tables and columns (:mod:`linking`);
2. ranking the pairs by lexical similarity, schema agreement, structure
   agreement and value fit, each scored as it would be once fitted to the
   question (:mod:`index`), and taking the best;
3. fitting its SQL (:mod:`adapt`): columns the question does not name
   swapped for ones of the same table and kind that it does, SELECT items left
   out or added, MAX / MIN and sort directions turned round, conditions added
   for values no literal takes; and putting the question's values in place of
   the pair's literals (:mod:`substitution`).

It is a modest method: an answer is always a synthesized query, or a template,
with a few columns and values changed; it cannot write a shape it has not seen.
``benchmarks/bench_local_method.py`` measures it on Spider dev.

``retrieval_sql_generator`` runs it as a pipeline step (question, db_id ->
pred_sql).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError, DatabaseError, InputError, SqlfoundryError
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.retrieval import pairs as retrieval_pairs
from sqlfoundry.methods.retrieval.adapt import adapt, add_conditions
from sqlfoundry.methods.retrieval.features import Pair, key_columns
from sqlfoundry.methods.retrieval.index import PairIndex, Query, Scored
from sqlfoundry.methods.retrieval.linking import SchemaLexicon, question_cues, terms
from sqlfoundry.methods.retrieval.substitution import substitute
from sqlfoundry.methods.retrieval.values import QuestionValue, ValueIndex, find_values
from sqlfoundry.synth.base import stamp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievalAnswer:
    """The answer to one question.

    Attributes:
        sql: the retrieved SQL with the question's values put in.
        score: the winning pair's ranking score (higher is better; not a probability).
        matched_question: the synthesized question of the pair that won.
        substitutions: what was changed in the pair's SQL to fit the question:
            ``{old literal: new literal}`` as written in the SQL (``"'France'":
            "'Netherlands'"``); for the fitting steps also ``{"table.old": "table.new"}``
            (a column swapped; ``""`` when left out of the SELECT list),
            ``{"+select": "table.a, ..."}`` (columns added), ``{"+table.column":
            "= 'v'"}`` (a condition added) and ``{"DESC": "ASC"}`` / ``{"MAX": "MIN"}``
            (the query turned round).
    """

    sql: str
    score: float
    matched_question: str
    substitutions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedInfo:
    """What :meth:`RetrievalMethod.prepare` did for one database."""

    db_id: str
    pairs: int
    values: int
    from_cache: bool
    seconds: float
    cache_file: Path | None


@dataclass
class _Database:
    schema: Schema
    lexicon: SchemaLexicon
    values: ValueIndex
    index: PairIndex
    info: PreparedInfo


class RetrievalMethod:
    """Answer questions over a database by retrieving synthesized pairs (see the module doc).

    Args:
        databases: a ``sqlfoundry.db.DatabaseManager``.
        cache_dir: where built pairs are kept; by default ``$SQLFOUNDRY_CACHE_DIR/retrieval``
            or the user cache folder's ``sqlfoundry/retrieval``.
        num_per_db: queries synthesized per database.
        seed: the synthesis seed.

    Thread-safe: :meth:`prepare` builds each database once under a lock of its own;
    :meth:`answer` only reads what was built.
    """

    # Once a database is prepared, an answer takes about a millisecond of CPU (p99 ~2 ms
    # on Spider dev): a server may call answer() on its event loop (serve.local).
    answers_inline = True

    def __init__(
        self,
        databases: Any,
        *,
        cache_dir: Path | None = None,
        num_per_db: int = 300,
        seed: int = 0,
    ) -> None:
        if num_per_db < 1:
            raise ConfigError(f"num_per_db must be at least 1, got {num_per_db}")
        self.databases = databases
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.num_per_db = num_per_db
        self.seed = seed
        self._prepared: dict[str, _Database] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def cache_folder(self) -> Path:
        """Where the pair banks are cached: ``cache_dir`` or the default cache folder."""
        return self.cache_dir or retrieval_pairs.default_cache_dir()

    def prepare(self, db_id: str) -> PreparedInfo:
        """Build (or load from the cache) the pair index of ``db_id``; idempotent.

        Raises:
            DatabaseNotFoundError: no database ``db_id``.
        """
        ready = self._prepared.get(db_id)
        if ready is not None:
            return ready.info
        self.databases.spec(db_id)  # unknown ids fail here, before any lock is made
        with self._guard:
            lock = self._locks.setdefault(db_id, threading.Lock())
        with lock:
            ready = self._prepared.get(db_id)
            if ready is None:
                ready = self._build(db_id)
                self._prepared[db_id] = ready
        return ready.info

    def answer(self, question: str, db_id: str) -> RetrievalAnswer:
        """The SQL for ``question`` on ``db_id`` (prepares the database if needed).

        Raises:
            InputError: the question is empty.
            DatabaseNotFoundError: no database ``db_id``.
        """
        return self.rank(question, db_id, k=1)[0]

    def rank(self, question: str, db_id: str, k: int = 5) -> list[RetrievalAnswer]:
        """The ``k`` best answers, best first (values substituted in each)."""
        if not isinstance(question, str) or not question.strip():
            raise InputError("empty question: there is nothing to answer", db_id=db_id)
        if db_id not in self._prepared:
            self.prepare(db_id)
        db = self._prepared[db_id]
        values = find_values(question, db.values)
        query = self._query(question, values, db)
        found = db.index.search(query, k=k)
        if not found:
            raise DatabaseError("no pairs to answer from: the database has no usable table",
                                db_id=db_id)  # fmt: skip
        return [self._answer(s, values, db) for s in found]

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _query(question: str, values: Sequence[QuestionValue], db: _Database) -> Query:
        # The values are matched on their own; left in, "France" would pull
        # pairs about France over pairs of the right shape.
        text = list(question)
        for v in values:
            text[v.start : v.end] = " " * (v.end - v.start)
        plain = "".join(text)
        plain_terms = terms(plain)
        return Query(
            terms=[t for t in plain_terms if not t.isdigit()],
            cues=question_cues(plain, db.lexicon.cue_names),
            links=db.lexicon.link(plain_terms, plain),
            values=list(values),
        )

    @staticmethod
    def _answer(scored: Scored, values: Sequence[QuestionValue], db: _Database) -> RetrievalAnswer:
        try:
            sql, changed = adapt(scored.pair.sql, scored.swaps, scored.drops, db.schema,
                                 scored.flip, scored.adds)  # fmt: skip
            sub = substitute(sql, values, db.schema, db.schema.dialect)
            sql, added = add_conditions(sub.sql, scored.inserts, db.schema)
            changed = {**changed, **sub.replaced, **added}
        except Exception as err:  # noqa: BLE001 - a failed fit leaves the pair's SQL as it is
            log.warning("fitting %r to the question failed: %s", scored.pair.sql, err)
            sql, changed = scored.pair.sql, {}
        return RetrievalAnswer(sql, round(scored.score, 4), scored.pair.question, changed)

    def _build(self, db_id: str) -> _Database:
        start = time.perf_counter()
        schema = self.databases.schema(db_id, sample_values=5)
        key = retrieval_pairs.cache_key(self.databases, db_id, self.num_per_db, self.seed)
        path = retrieval_pairs.cache_path(self.cache_folder, db_id, key)
        pairs = retrieval_pairs.load_cached(path, schema)
        from_cache = pairs is not None
        if pairs is None:
            pairs = self._synthesize(db_id, schema)
            try:
                retrieval_pairs.save(path, pairs)
            except OSError as err:  # an unwritable cache costs the next start, not this one
                log.warning("%s: cannot write the retrieval cache %s: %s", db_id, path, err)
        with self.databases.open(db_id) as database:
            values = ValueIndex.build(database, schema)
        lexicon = SchemaLexicon(schema)
        index = PairIndex(pairs, kinds=lexicon.kinds, keys=key_columns(schema))
        info = PreparedInfo(db_id, len(pairs), len(values), from_cache,
                            round(time.perf_counter() - start, 3), path)  # fmt: skip
        log.info("%s: %d pairs (%s), %d values in %.2f s", db_id, len(pairs),
                 "cached" if from_cache else "synthesized", len(values), info.seconds)  # fmt: skip
        return _Database(schema, lexicon, values, index, info)

    def _synthesize(self, db_id: str, schema: Schema) -> list[Pair]:
        samples = retrieval_pairs.synthesize(self.databases, db_id, self.num_per_db, self.seed)
        return retrieval_pairs.pairs_from_samples(samples, schema)


# --------------------------------------------------------------------------- operator


class RetrievalParams(Params):
    """
    Attributes:
        num_per_db: queries synthesized per database for the pair index.
        cache_dir: the pair cache folder (default: see :class:`RetrievalMethod`).
        candidates: also keep this many next-best answers in ``candidates``.
    """

    num_per_db: int = Field(300, ge=1, le=100_000)
    cache_dir: str | None = None
    candidates: int = Field(0, ge=0, le=50)


@register
class RetrievalSQLGenerator(Operator):
    """Writes ``pred_sql`` for each question by retrieval over synthesized pairs."""

    name = "retrieval_sql_generator"
    inputs = ("question", "db_id")
    outputs = ("pred_sql", "candidates", "meta")  # meta["retrieval"]
    Params = RetrievalParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._methods: dict[tuple[int, int], RetrievalMethod] = {}

    def context_identity(self, ctx: Any) -> dict[str, Any]:
        # The pairs are synthesized with the run's seed.
        return {"seed": getattr(ctx, "seed", 0)}

    def method(self, ctx: RunContext) -> RetrievalMethod:
        """The method over the run's databases (one per context, reused across batches)."""
        key = (id(ctx.databases), ctx.seed)
        if key not in self._methods:
            cache = Path(self.params.cache_dir) if self.params.cache_dir else None
            self._methods[key] = RetrievalMethod(
                ctx.require_databases(self.name), cache_dir=cache,
                num_per_db=self.params.num_per_db, seed=ctx.seed,
            )  # fmt: skip
        return self._methods[key]

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        method = self.method(ctx)
        todo: list[Sample] = []
        for sample in batch:
            if not sample.question or not sample.question.strip():
                out.rejects.append(self.reject(sample, "missing field: question"))
            elif not sample.db_id or not ctx.has_database(sample.db_id):
                out.rejects.append(self.reject(sample, f"unknown database: {sample.db_id!r}"))
            else:
                todo.append(sample)
        failed: dict[str, str] = {}
        for db_id in dict.fromkeys(s.db_id for s in todo):
            try:  # synthesis can take seconds: keep the event loop free
                await asyncio.to_thread(method.prepare, db_id)
            except SqlfoundryError as err:
                failed[db_id] = err.message
        k = 1 + self.params.candidates
        for sample in todo:
            if sample.db_id in failed:
                reason = f"retrieval index unavailable: {failed[sample.db_id]}"
                out.rejects.append(self.reject(sample, reason))
                continue
            try:
                answers = method.rank(sample.question, sample.db_id, k=k)
            except SqlfoundryError as err:
                out.rejects.append(self.reject(sample, f"retrieval failed: {err.message}"))
                continue
            best = answers[0]
            record = sample.model_copy(deep=True)
            record.pred_sql = best.sql
            if self.params.candidates:
                record.candidates = [a.sql for a in answers]
            record.meta["retrieval"] = {
                "score": best.score,
                "matched_question": best.matched_question,
                "substitutions": best.substitutions,
            }
            out.samples.append(stamp(record, self.name, "offline", seed=ctx.seed))
        return out
