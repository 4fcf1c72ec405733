"""Stage: the operator every Text-to-SQL method step is built from.

A stage is a registered :class:`~sqlfoundry.core.operator.Operator` that works on
one record at a time (the records of a batch run concurrently) and says:

- ``kind``: what it does, as Squrve's actor kinds say it: ``reduce`` (writes
  ``schema_subset``), ``parse`` (``schema_links``), ``generate`` (``pred_sql``),
  ``decompose`` (sub-questions in ``meta``), ``scale`` (``candidates``),
  ``optimize`` (a repaired ``pred_sql``) or ``select`` (one ``pred_sql`` from
  ``candidates``);
- ``method``: its short name within the kind (``exec_vote``, ``din_sql``, ...);
- ``inputs``: the fields it needs (a record without one is skipped, with an
  error unless an earlier stage already failed it); ``uses``: fields it reads
  when present;
- ``merge``: how a ``tree`` merges what it writes with what its siblings write
  (:mod:`sqlfoundry.methods.compose`);
- ``needs``: the run services it cannot work without (``llm``, ``executor``,
  ``embedder``), checked before any work.

A problem with one record (an unparsable answer, an LLM request that failed
after its retries, a database error, any exception of the stage) is written to
that record's ``meta["errors"]`` and the run goes on; the record keeps what the
earlier stages gave it. Only an endpoint that cannot serve the run at all
(:class:`~sqlfoundry.core.errors.LLMEndpointError`) stops it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError, LLMEndpointError, SqlfoundryError
from sqlfoundry.core.operator import Operator, StepOutput
from sqlfoundry.core.sample import Sample

log = logging.getLogger(__name__)

Kind = Literal["reduce", "parse", "generate", "decompose", "scale", "optimize", "select"]
KINDS: tuple[str, ...] = ("reduce", "parse", "generate", "decompose", "scale", "optimize", "select")
Merge = Literal["overwrite", "append", "union"]
# Fields a dataset record brings before any stage has run.
DATASET_FIELDS = frozenset({"id", "db_id", "question", "evidence", "sql"})
# How a tree merges a field when the stage says nothing about it.
DEFAULT_MERGE: dict[str, Merge] = {
    "pred_sql": "append",
    "candidates": "append",
    "schema_links": "union",
    "schema_subset": "union",
}
MAX_RAW = 2000  # characters of an unparsable answer kept on the record


def has_field(sample: Sample, field: str) -> bool:
    """Whether ``field`` (a Sample field, or ``meta.key``) holds a value."""
    if field.startswith("meta."):
        return sample.meta.get(field[5:]) not in (None, "", [], {})
    value = getattr(sample, field, None)
    if isinstance(value, str):
        return bool(value.strip())
    return value not in (None, [], {})


def add_error(
    sample: Sample, stage: str, message: str, *, kind: str = "error", raw: str | None = None
) -> None:
    """Record a problem on ``sample``: ``meta["errors"]`` gets ``{stage, kind, message[, raw]}``."""
    entry: dict[str, Any] = {"stage": stage, "kind": kind, "message": message}
    if raw is not None:
        entry["raw"] = raw[:MAX_RAW]
    sample.meta.setdefault("errors", []).append(entry)


def failed(sample: Sample) -> bool:
    """Whether a stage recorded an error on ``sample`` (``meta["errors"]``)."""
    return bool(sample.meta.get("errors"))


def working_copy(sample: Sample) -> Sample:
    """A copy a stage may change without touching ``sample``: fields are replaced, never
    changed in place, except ``meta``'s, which are copied as deep as stages write."""
    meta = dict(sample.meta)
    if "usage" in meta:
        meta["usage"] = {stage: dict(counts) for stage, counts in meta["usage"].items()}
    for key in ("errors", "provenance"):
        if key in meta:
            meta[key] = list(meta[key])
    return sample.model_copy(update={"meta": meta})


class StageError(SqlfoundryError):
    """A stage could not do its work on one record (``kind`` says why: parse, database...)."""

    def __init__(self, message: str, *, kind: str = "error", raw: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.raw = raw


class Stage(Operator):
    """Subclass, set the class attributes of the module doc, implement :meth:`run`."""

    kind: ClassVar[str]
    method: ClassVar[str]
    uses: ClassVar[tuple[str, ...]] = ()
    merge: ClassVar[Mapping[str, Merge]] = {}
    needs: ClassVar[frozenset[str]] = frozenset()

    def required(self) -> tuple[str, ...]:
        """The fields a record must have for this stage (``inputs``, or what the params imply)."""
        return tuple(self.inputs)

    @classmethod
    def merge_rule(cls, field: str) -> Merge:
        """How the stage's value of ``field`` merges: its own ``merge`` table, else the default."""
        return cls.merge.get(field, DEFAULT_MERGE.get(field, "overwrite"))

    def requirements(self) -> frozenset[str]:
        """The run services this stage needs (``llm``, ``executor``, ``embedder``)."""
        return self.needs

    def context_identity(self, ctx: Any) -> dict[str, Any]:
        # What changes the output besides the parameters: the model and the run's seed.
        out: dict[str, Any] = {"seed": getattr(ctx, "seed", 0)}
        if "llm" in self.requirements() and ctx is not None and ctx.llm is not None:
            out["model"] = getattr(ctx.llm, "model", None)
        return out

    def check_context(self, ctx: RunContext | None) -> None:
        """Raise ConfigError when the run lacks a service this stage needs."""
        wanted = self.requirements()
        if ctx is None:
            if wanted:
                raise ConfigError(f"stage {self.name} needs a run context")
            return
        if "llm" in wanted:
            ctx.require_llm(self.name)
        if "executor" in wanted and ctx.executor is None:
            raise ConfigError(f"stage {self.name} runs SQL but the run has no executor")
        if "databases" in wanted or "executor" in wanted:
            ctx.require_databases(self.name)

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        self.check_context(ctx)
        records = await asyncio.gather(*(self._one(s, ctx) for s in batch))
        return StepOutput(samples=list(records))

    async def _one(self, sample: Sample, ctx: RunContext) -> Sample:
        record = working_copy(sample)
        missing = [f for f in self.required() if not has_field(record, f)]
        if missing:
            # A record an earlier stage already failed is passed on quietly.
            if not failed(record):
                add_error(record, self.name, f"missing input: {', '.join(missing)}",
                          kind="input")  # fmt: skip
            return record
        known = ctx is None or ctx.databases is None or ctx.has_database(record.db_id)
        if not known:
            add_error(record, self.name, f"unknown database {record.db_id!r}", kind="input")
            return record
        try:
            await self.run(record, ctx)
        except LLMEndpointError:
            raise
        except StageError as err:
            add_error(record, self.name, err.message, kind=err.kind, raw=err.raw)
        except SqlfoundryError as err:
            add_error(record, self.name, str(err), kind=_error_kind(err))
        except Exception as err:  # noqa: BLE001 - one record's bug must not stop the run
            log.debug("%s failed on %s", self.name, record.id, exc_info=True)
            add_error(record, self.name, f"{type(err).__name__}: {err}", kind="exception")
        return record

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        """Do the stage's work on ``sample`` in place; raise StageError for a record problem."""
        raise NotImplementedError


def _error_kind(err: SqlfoundryError) -> str:
    from sqlfoundry.core.errors import DatabaseError, LLMError

    if isinstance(err, LLMError):
        return "llm"
    if isinstance(err, DatabaseError):
        return "database"
    return "error"


def stage_requirements(op: Operator) -> frozenset[str]:
    """What run services ``op`` needs: a stage's requirements, another operator's
    ``needs`` when it declares them (the tree search does), else the databases."""
    if isinstance(op, Stage):
        return op.requirements()
    return frozenset(getattr(op, "needs", None) or {"databases"})
