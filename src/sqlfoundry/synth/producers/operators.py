"""The producers that are naturally pipeline steps, registered as operators.

* ``pair_schema_synthesizer``: database seed records in (like ``sql_generator``),
  question/SQL records out;
* ``pair_depth_evolver`` and ``pair_breadth_evolver``: each record followed by
  its evolutions (``keep_original``) or replaced by them;
* ``pair_validator``: records whose SQL is not a read-only query over the
  schema (or does not run, with ``execute``) are rejected;
* ``pair_filter``: records reading none of ``tables`` are rejected.

A pair a producer marks ``success=False`` is a reject here, with its error as
the reason; so is every reject of the producer. De-duplication is not an
operator: a step sees one batch at a time, and duplicates across batches would
slip through; use :class:`~.decorators.DeduplicatedProducer` on the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.base import EngineOperator, EngineParams, stamp
from sqlfoundry.synth.producers.base import PairProducer
from sqlfoundry.synth.producers.breadth_evolver import BreadthEvolver
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.decorators import FilteredProducer, ValidatedProducer
from sqlfoundry.synth.producers.depth_evolver import DepthEvolver
from sqlfoundry.synth.producers.pair import ExtractedPair
from sqlfoundry.synth.producers.schema_synthesizer import SchemaSynthesizer


class _ProducerStep(EngineOperator):
    """Runs a producer over a batch and turns its output into samples and rejects."""

    def build(self, batch: Sequence[Sample], db: PairDatabase, engine: str) -> PairProducer:
        """The pair producer the step runs over ``batch``."""
        raise NotImplementedError

    keeps_originals = False

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        engine = self.engine(ctx)
        if engine == "llm":
            ctx.require_llm(self.name)
        producer = self.build(batch, PairDatabase(ctx), engine)
        pairs = await producer.to_pairs()
        out = StepOutput()
        made: list[Sample] = []
        for pair in pairs:
            sample = pair.to_sample()
            if not pair.success:
                out.rejects.append(
                    self.reject(sample, pair.meta.get("error") or "unsuccessful pair")
                )
                continue
            made.append(stamp(sample, self.name, engine))
        for record in producer.all_rejects():
            sample = (
                ExtractedPair.from_record(record["pair"]).to_sample() if "pair" in record else None
            )
            fallback = Sample(id=str(record.get("source") or "input"), db_id="")
            out.rejects.append(self.reject(sample or fallback, record["reason"]))
        if not self.keeps_originals:
            out.samples.extend(made)  # in the producer's order, whatever the batch
            return out
        # Each record, then what was evolved from it.
        children: dict[str, list[Sample]] = {}
        for sample in made:
            children.setdefault(sample.meta.get("evolved_from") or "", []).append(sample)
        for sample in batch:
            out.samples.append(sample)
            out.samples.extend(children.pop(sample.id, []))
        for rest in children.values():
            out.samples.extend(rest)
        return out


class SchemaSynthesizerParams(EngineParams):
    """
    Attributes:
        count: pairs per persona and complexity.
        complexity: the levels (simple, moderate, complex, highly complex).
        personas: ``{"role", "perspective", "styles", "tables"}`` each.
        teachings: ``{"kind", "text", "refs"}`` each.
        max_attempts: LLM: answers per question before its SQL counts as failed.
    """

    count: int = Field(5, ge=1, le=100)
    complexity: list[str] = Field(default_factory=lambda: ["moderate"], min_length=1)
    personas: list[dict[str, Any]] = Field(default_factory=list)
    teachings: list[dict[str, Any]] = Field(default_factory=list)
    max_attempts: int = Field(3, ge=1)


@register
class SchemaSynthesizerStep(_ProducerStep):
    """One seed record per database in; synthesized pairs out."""

    name = "pair_schema_synthesizer"
    inputs = ("db_id",)
    outputs = ("question", "sql")
    Params = SchemaSynthesizerParams

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        for seed in batch:
            if not ctx.has_database(seed.db_id):
                out.rejects.append(self.reject(seed, f"unknown database: {seed.db_id}"))
                continue
            step = await super().process([seed], ctx)
            out.samples += [s for s in step.samples if s.id != seed.id]
            out.rejects += step.rejects
        return out

    def build(self, batch: Sequence[Sample], db: PairDatabase, engine: str) -> PairProducer:
        p = self.params
        return SchemaSynthesizer(db.using(batch[0].db_id), p.count, p.complexity, p.personas,
                                 p.teachings, max_attempts=p.max_attempts, engine=engine)  # fmt: skip


class DepthParams(EngineParams):
    """
    Attributes:
        techniques: the depth techniques (all by default).
        count: evolutions per record.
        max_attempts: LLM: answers per evolved question before its SQL counts as failed.
        keep_original: emit each record before its evolutions.
    """

    techniques: list[str] | None = None
    count: int = Field(1, ge=1, le=20)
    max_attempts: int = Field(3, ge=1)
    keep_original: bool = True


@register
class DepthEvolverStep(_ProducerStep):
    """Each record followed by harder ones (new question, new SQL)."""

    name = "pair_depth_evolver"
    inputs = ("db_id", "question", "sql")
    outputs = ("question", "sql")
    Params = DepthParams

    @property
    def keeps_originals(self) -> bool:  # type: ignore[override]
        """Whether the input pairs are kept beside their evolutions."""
        return self.params.keep_original

    def build(self, batch: Sequence[Sample], db: PairDatabase, engine: str) -> PairProducer:
        p = self.params
        return DepthEvolver(list(batch), p.techniques, p.count, db=db, max_attempts=p.max_attempts,
                            engine=engine)  # fmt: skip


class BreadthParams(EngineParams):
    """
    Attributes:
        count: paraphrases per record.
        styles: the language styles to use (all nine by default).
        persona: ``{"role", "perspective", "styles", "tables"}``; its styles win.
        keep_original: emit each record before its paraphrases.
    """

    count: int = Field(3, ge=1, le=20)
    styles: list[str] | None = None
    persona: dict[str, Any] | None = None
    keep_original: bool = True


@register
class BreadthEvolverStep(_ProducerStep):
    """Each record followed by paraphrases of its question (same SQL)."""

    name = "pair_breadth_evolver"
    inputs = ("db_id", "question", "sql")
    outputs = ("question",)
    Params = BreadthParams

    @property
    def keeps_originals(self) -> bool:  # type: ignore[override]
        """Whether the input pairs are kept beside their evolutions."""
        return self.params.keep_original

    def build(self, batch: Sequence[Sample], db: PairDatabase, engine: str) -> PairProducer:
        p = self.params
        return BreadthEvolver(
            list(batch), p.count, p.persona, db=db, styles=p.styles, engine=engine
        )


class ValidatorParams(Params):
    """
    Attributes:
        execute: also run each query (read-only) and reject those that fail.
    """

    execute: bool = False


@register
class ValidatorStep(_ProducerStep):
    """Rejects records whose SQL is not one read-only query over the schema (or does not run)."""

    name = "pair_validator"
    inputs = ("db_id", "sql")
    outputs = ()
    Params = ValidatorParams  # type: ignore[assignment]

    def engine(self, ctx: RunContext | None) -> str:
        return "offline"

    def build(self, batch: Sequence[Sample], db: PairDatabase, engine: str) -> PairProducer:
        return ValidatedProducer(list(batch), db, execute=self.params.execute, remove_invalid=True)


class FilterParams(Params):
    """
    Attributes:
        success_only: reject records an earlier producer marked unsuccessful.
        tables: keep records whose SQL reads at least one of these tables.
        dialect: the dialect the SQL is read in.
    """

    success_only: bool = True
    tables: list[str] | None = None
    dialect: str | None = None


@register
class FilterStep(_ProducerStep):
    """Rejects records that fail the filter's criteria."""

    name = "pair_filter"
    inputs = ("sql",)
    outputs = ()
    Params = FilterParams  # type: ignore[assignment]

    def engine(self, ctx: RunContext | None) -> str:
        return "offline"

    def build(self, batch: Sequence[Sample], db: PairDatabase, engine: str) -> PairProducer:
        p = self.params
        return FilteredProducer(list(batch), success_only=p.success_only, tables=p.tables,
                                dialect=p.dialect)  # fmt: skip
