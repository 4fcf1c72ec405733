"""``mcts_search``: SQL-o1's tree search as a pipeline operator.

Reads ``db_id`` and ``prompt`` (SQL-o1's schema-aware prompt with an empty
incomplete query, as ``prepare-sft`` writes it) or ``question`` (and
``evidence``), from which it renders that prompt; never ``sql``. Writes
``pred_sql`` (the chosen query), ``candidates`` (every whole query reached, best
reward first) and ``meta["mcts"]``: each candidate's reward, visits and
execution status, the tree's size, the samples drawn, the calls and tokens,
and how the answer was chosen. ``meta["usage"]["mcts_search"]`` holds the
question's calls, tokens, cache hits and seconds waiting on the model.

A question that cannot be searched (no database, no prompt or question, a
request that failed after its retries) keeps its place with ``pred_sql`` unset
and the reason in ``meta["errors"]``. An endpoint that cannot serve the search
at all stops the run: unreachable, refused, or without the log probabilities
the ``sqlo1`` and ``mixed`` rewards need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import (
    ConfigError,
    LLMEndpointError,
    LLMItemError,
    LLMLogprobsMissingError,
    SqlfoundryError,
)
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.search.mcts import OPERATOR, Search
from sqlfoundry.synth.sft.prompt import MAX_CHARS, ROWS_SPIDER, check_prompt, schema_prompts


class MCTSParams(Params):
    """The search's settings (defaults follow SQL-o1 where it has one).

    Attributes:
        reward: ``sqlo1`` (SQL-o1's self-reward from log probabilities),
            ``consistency`` (Alpha-SQL's execution self-consistency; needs no log
            probabilities) or ``mixed``.
        iterations: MCTS iterations per question (SQL-o1: 8).
        max_depth: the most actions (clause segments) in a path.
        samples: completions drawn per expansion.
        children: children kept per expansion, the best by prior (SQL-o1: 3).
        uct_c: the UCT exploration weight (SQL-o1's 100 on its x100 scale).
        q: a node's Q from its returns: ``max`` (SQL-o1) or ``mean``.
        alpha: weight of an action's log probability against the whole query's (SQL-o1: 0.4).
        mix: weight of the self-reward in ``mixed``.
        scale: SQL-o1's offset: a log probability ``lp`` scores ``1 + lp / scale``.
        full_logprob: the whole query's log probability: ``echo`` (scored by
            ``/completions`` with echo), ``path`` (the actions' sum), ``auto`` (echo
            with the completions API, else path).
        consistency_samples: completions executed for the consistency reward at a
            node; when more than ``samples``, the rest are drawn once, on first need.
        error_penalty / empty_penalty: subtracted from the return of a query that
            fails / returns no rows.
        choose: the answer: the best ``reward``, or the execution ``vote`` over all
            whole queries reached (a visit is a vote).
        api: ``chat`` (a chat model answering the prompt) or ``completions`` (a base
            model continuing it).
        temperature / max_tokens: sampling of each completion.
        rows / max_chars: the prompt's sample rows, when it is rendered here.
        concurrency: questions searched at once within a batch (None: all).
    """

    reward: Literal["sqlo1", "consistency", "mixed"] = "sqlo1"
    iterations: int = Field(8, ge=1, le=10_000)
    max_depth: int = Field(12, ge=1, le=64)
    samples: int = Field(4, ge=1, le=128)
    children: int = Field(3, ge=1, le=128)
    uct_c: float = Field(1.0, ge=0.0)
    q: Literal["max", "mean"] = "max"
    alpha: float = Field(0.4, ge=0.0, le=1.0)
    mix: float = Field(0.5, ge=0.0, le=1.0)
    scale: float = Field(100.0, gt=0.0)
    full_logprob: Literal["auto", "echo", "path"] = "auto"
    consistency_samples: int = Field(0, ge=0, le=256)
    error_penalty: float = Field(1.0, ge=0.0)
    empty_penalty: float = Field(0.5, ge=0.0)
    choose: Literal["reward", "vote"] = "reward"
    api: Literal["chat", "completions"] = "chat"
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    max_tokens: int = Field(512, ge=8)
    rows: int = Field(ROWS_SPIDER, ge=0, le=50)
    max_chars: int = Field(MAX_CHARS, ge=8)
    concurrency: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _echo_needs_completions(self) -> MCTSParams:
        if self.full_logprob == "echo" and self.api != "completions":
            raise ValueError("full_logprob 'echo' needs api 'completions' (chat cannot echo)")
        return self


@register
class MCTSSearch(Operator):
    """SQL-o1's Monte Carlo tree search over partial SQL; see the module doc."""

    name = OPERATOR
    # ``prompt`` is read too when it is SQL-o1's; a question alone is enough.
    inputs = ("db_id", "question")
    # What the methods engine reads of a stage: its kind, short name and services.
    kind = "generate"
    method = "mcts"
    needs = frozenset({"llm", "executor", "databases"})
    outputs = ("pred_sql", "candidates", "meta")
    Params = MCTSParams

    def context_identity(self, ctx: Any) -> dict[str, Any]:
        llm = getattr(ctx, "llm", None)
        return {"seed": getattr(ctx, "seed", 0), "model": getattr(llm, "model", None),
                "base_url": getattr(llm, "base_url", None)}  # fmt: skip

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        ctx.require_llm(self.name)
        ctx.require_databases(self.name)
        if ctx.executor is None:
            raise ConfigError(f"operator {self.name} runs SQL but the run has no executor")
        gate = asyncio.Semaphore(self.params.concurrency or max(1, len(batch)))

        async def one(sample: Sample) -> Sample:
            async with gate:
                return await self.search(sample, ctx)

        return StepOutput(samples=list(await asyncio.gather(*(one(s) for s in batch))))

    async def search(self, sample: Sample, ctx: RunContext) -> Sample:
        """Search one question; problems with it go to ``meta["errors"]``."""
        record = sample.model_copy(deep=True)
        try:
            prompt, dialect = await self._prompt(record, ctx)
        except SqlfoundryError as err:
            _error(record, "input", err.message)
            return record

        async def run_sql(sqls: Sequence[str]) -> list[Any]:
            return await ctx.execute([(sql, record.db_id) for sql in sqls])

        search = Search(self.params, ctx.llm, run_sql, prompt, seed=ctx.seed, key=record.id,
                        dialect=dialect)  # fmt: skip
        try:
            result = await search.run()
        except LLMLogprobsMissingError as err:
            raise LLMEndpointError(
                f"the endpoint returned no log probabilities, and the {self.params.reward} "
                "reward is computed from them",
                base_url=err.base_url,
                model=getattr(ctx.llm, "model", None),
                hint="serve the model where log probabilities are on (vLLM, llama.cpp "
                "--logprobs), or use --reward consistency, which needs none",
            ) from err
        except LLMItemError as err:
            _error(record, "llm", err.message)
            result = search.result(search.root.visits)
        record.pred_sql = result.sql
        record.candidates = [c["sql"] for c in result.candidates]
        if result.sql is None and not record.meta.get("errors"):
            _error(record, "search", f"no usable query in {result.samples['drawn']} completions")
        record.meta["mcts"] = {
            "reward": self.params.reward,
            "full_logprob": result.full_logprob,
            "chosen_by": result.chosen_by,
            "candidates": result.candidates,
            "tree": result.tree,
            "samples": result.samples,
            **{k: result.usage[k] for k in ("calls", "prompt_tokens", "completion_tokens")},
        }
        usage = record.meta.setdefault("usage", {})
        usage[self.name] = result.usage
        return record

    async def _prompt(self, record: Sample, ctx: RunContext) -> tuple[str, str]:
        """The record's own SQL-o1 prompt, or one rendered from its question; and the dialect."""
        if not record.db_id:
            raise ConfigError("missing field: db_id")
        if not ctx.has_database(record.db_id):
            raise ConfigError(f"unknown database {record.db_id!r}")
        has_question = bool(record.question and record.question.strip())
        if record.prompt:
            try:
                check_prompt(record.prompt)
            except SqlfoundryError:
                # Another method's prompt (a synthesis record's, say) says nothing to
                # this model; the question is rendered into SQL-o1's own instead.
                if not has_question:
                    raise
            else:
                schema = await asyncio.to_thread(ctx.schema, record.db_id, 0)
                return record.prompt, schema.dialect
        if not has_question:
            raise ConfigError("missing field: question (or a SQL-o1 prompt)")
        prompts = schema_prompts(ctx.databases, self.params.rows, self.params.max_chars)
        text = await asyncio.to_thread(prompts.get, record.db_id)
        return prompts.prompt(record.db_id, record.question, record.evidence), text.dialect


def _error(record: Sample, kind: str, message: str) -> None:
    record.meta.setdefault("errors", []).append({"stage": OPERATOR, "kind": kind,
                                                 "message": message})  # fmt: skip
