"""The SFT preparation steps as pipeline operators.

``sqlo1_prompt``  (db_id, question, evidence, SQL -> prompt)
    Renders SQL-o1's schema-aware prompt with an empty incomplete query and
    writes the target: the gold SQL with its runs of whitespace collapsed.
``psg_selector``  (prompt, SQL -> meta["sqlo1"]["psg_need"])
    Decides which items get a PSG example: SQL-o1's rule with a model (its
    zero-shot answer fails to run, or the gold reads 3+ tables), the gold's
    table count and Spider hardness without one.
``psg_cutter``    (one record -> the record and its PSG examples)
    ``need``: one random cut for each item the selector picked; ``progressive``:
    every cut of those items; ``ratio``: one random cut for a random share of
    all items (no selector needed).

Records carry ``meta["sqlo1"]``: ``incomplete_sql`` (the slot's content, empty
for a whole query), and for PSG examples ``psg_of`` (the item's id) and ``cut``
(how many clause segments the prefix keeps).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import DatabaseError, LLMItemError, SqlfoundryError
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.parse import parse_sql
from sqlfoundry.sql.clauses import normalize_spacing
from sqlfoundry.synth.base import EngineOperator, EngineParams, stamp
from sqlfoundry.synth.sft import psg
from sqlfoundry.synth.sft.prompt import MAX_CHARS, ROWS_SPIDER, messages, schema_prompts
from sqlfoundry.synth.sft.prompt import with_incomplete as put_prefix


def _info(sample: Sample) -> dict[str, Any]:
    return sample.meta.setdefault("sqlo1", {})


class Sqlo1PromptParams(Params):
    """
    Attributes:
        rows: rows shown per table (SQL-o1: 3 for Spider-like data, 1 for BIRD).
        max_chars: strings in those rows longer than this are cut.
    """

    rows: int = Field(ROWS_SPIDER, ge=0, le=50)
    max_chars: int = Field(MAX_CHARS, ge=8)


@register
class Sqlo1Prompt(Operator):
    """SQL-o1's schema-aware prompt for each record; see the module doc."""

    name = "sqlo1_prompt"
    inputs = ("db_id", "question")
    outputs = ("prompt", "sql", "meta")
    Params = Sqlo1PromptParams

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        prompts = schema_prompts(ctx.require_databases(self.name), self.params.rows,
                                 self.params.max_chars)  # fmt: skip
        problems: dict[str, str] = {}
        for db_id in dict.fromkeys(s.db_id for s in batch if s.db_id):
            try:
                await asyncio.to_thread(prompts.get, db_id)
            except DatabaseError as err:
                problems[db_id] = f"database {db_id}: {err.message}"
        for sample in batch:
            if not sample.question or not sample.question.strip():
                out.rejects.append(self.reject(sample, "missing field: question"))
                continue
            if not sample.db_id:
                out.rejects.append(self.reject(sample, "missing field: db_id"))
                continue
            if sample.db_id in problems:
                out.rejects.append(self.reject(sample, problems[sample.db_id]))
                continue
            kept = sample.model_copy(deep=True)
            kept.prompt = prompts.prompt(sample.db_id, sample.question, sample.evidence)
            if kept.sql:
                # An untokenizable gold stays as written (the SQL checks before said so).
                with contextlib.suppress(SqlfoundryError):
                    kept.sql = normalize_spacing(kept.sql)
            _info(kept)["incomplete_sql"] = ""
            out.samples.append(stamp(kept, self.name, "offline", rows=self.params.rows))
        return out


class PSGSelectorParams(EngineParams):
    """
    Attributes:
        min_tables: a gold query reading this many tables or more gets PSG.
        hard_levels: without a model, these Spider hardness levels get PSG too.
        temperature: the zero-shot answer's sampling temperature (SQL-o1: near 0).
        max_tokens: the zero-shot answer's length limit.
    """

    min_tables: int = Field(psg.MIN_TABLES, ge=1)
    hard_levels: tuple[str, ...] = psg.HARD_LEVELS
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(512, ge=16)


@register
class PSGSelector(EngineOperator):
    """Marks the records that get a PSG example; see the module doc."""

    name = "psg_selector"
    inputs = ("prompt", "sql", "db_id")
    outputs = ("meta",)
    Params = PSGSelectorParams

    async def process_offline(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        for sample in batch:
            kept = sample.model_copy(deep=True)
            need, why = psg.offline_need(kept.sql or "", _dialect(ctx, kept.db_id),
                                         self.params.min_tables, self.params.hard_levels)  # fmt: skip
            _info(kept).update(psg_need=need, psg_reason=why)
            out.samples.append(stamp(kept, self.name, "offline"))
        return out

    async def process_llm(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        llm = ctx.require_llm(self.name)
        p = self.params

        async def answer(sample: Sample) -> tuple[str | None, str | None]:
            try:
                generations = await llm.generate(messages(sample.prompt or ""), temperature=p.temperature,
                                                 max_tokens=p.max_tokens, operator=self.name)  # fmt: skip
            except LLMItemError as err:
                return None, f"the zero-shot request failed: {err.message}"
            parsed = parse_sql(generations[0].text)
            if not parsed.ok:
                return None, f"no SQL in the zero-shot answer: {parsed.error}"
            return parsed.value, None

        answers = await asyncio.gather(*(answer(s) for s in batch))
        jobs = [(sql, s.db_id) for s, (sql, _) in zip(batch, answers, strict=True) if sql]
        results = dict(zip(jobs, await ctx.execute(jobs), strict=True)) if jobs else {}
        out = StepOutput()
        for sample, (sql, problem) in zip(batch, answers, strict=True):
            kept = sample.model_copy(deep=True)
            info = _info(kept)
            status = "no answer"
            if sql is not None:
                result = results[(sql, sample.db_id)]
                status = "ok" if result.ok else f"{result.status}: {result.error}"
            info["zero_shot"] = {"sql": sql, "status": status}
            tables = psg.table_count(kept.sql or "", _dialect(ctx, kept.db_id))
            if problem is not None:
                need, why = True, problem
            elif status != "ok":
                need, why = True, f"the zero-shot answer fails ({status})"
            elif tables is not None and tables >= p.min_tables:
                need, why = True, f"the gold reads {tables} tables"
            else:
                need, why = False, "the zero-shot answer runs and the gold reads few tables"
            info.update(psg_need=need, psg_reason=why)
            out.samples.append(stamp(kept, self.name, "llm"))
        return out


class PSGCutterParams(Params):
    """
    Attributes:
        mode: ``need`` (one random cut for each record the selector picked),
            ``progressive`` (every cut of those records) or ``ratio`` (one random cut
            for each record picked with probability ``ratio``).
        ratio: the share of records cut in ``ratio`` mode.
        keep_full: keep every record's whole-query example besides its PSG ones.
    """

    mode: Literal["need", "progressive", "ratio"] = "need"
    ratio: float = Field(0.4, ge=0.0, le=1.0)
    keep_full: bool = True


@register
class PSGCutter(Operator):
    """Adds the PSG examples: the prompt with a prefix of the gold, the whole gold as target."""

    name = "psg_cutter"
    inputs = ("prompt", "sql")
    outputs = ("prompt", "meta")
    Params = PSGCutterParams

    def context_identity(self, ctx: Any) -> dict[str, Any]:
        return {"seed": getattr(ctx, "seed", 0)}

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        seed = getattr(ctx, "seed", 0)
        for sample in batch:
            if self.params.keep_full:
                out.samples.append(sample)
            if not self._selected(sample, seed):
                continue
            dialect = _dialect(ctx, sample.db_id)
            try:
                if self.params.mode == "progressive":
                    cuts = psg.every_cut(sample.sql or "", dialect)
                else:
                    cut = psg.random_cut(sample.sql or "", psg.record_rng(seed, sample.id, "cut"),
                                         dialect)  # fmt: skip
                    cuts = [cut] if cut else []
            except SqlfoundryError:
                cuts = []
            if not cuts:
                _info(sample)["psg_skipped"] = "a single clause: nothing to cut"
            for kept, prefix in cuts:
                record = sample.model_copy(deep=True)
                record.id = f"{sample.id}:psg{kept}"
                record.prompt = put_prefix(sample.prompt or "", prefix)
                _info(record).update(incomplete_sql=prefix, psg_of=sample.id, cut=kept)
                out.samples.append(stamp(record, self.name, "offline", mode=self.params.mode))
        return out

    def _selected(self, sample: Sample, seed: int) -> bool:
        if self.params.mode == "ratio":
            return psg.record_rng(seed, sample.id, "ratio").random() < self.params.ratio
        return bool(_info(sample).get("psg_need"))


def _dialect(ctx: RunContext, db_id: str) -> str:
    try:
        return ctx.schema(db_id, sample_values=0).dialect
    except SqlfoundryError:
        return "sqlite"
