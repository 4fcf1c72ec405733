"""Difficulty grades for finished records: from the SQL's components, and from how
often a model gets the question right.

Both classifiers turn a number into a label the way DataFlow's
``SQLComponentClassifier`` and ``SQLExecutionClassifier`` do: with thresholds
``t[0] < t[1] < ...`` and labels ``l[0], l[1], ..., l[k]`` (one more label than
thresholds), a score gets ``l[i]`` for the first ``i`` with ``score <= t[i]``,
and ``l[k]`` when it is above every threshold.

:class:`ComponentClassifier` writes ``hardness`` (always the official Spider
label, from :mod:`sqlfoundry.sql.hardness`) and ``component_difficulty`` (the
configurable label). The score it bins is chosen by ``score``:

* ``"hardness"`` (default): the official level as a number, easy=0, medium=1,
  hard=2, extra=3. The default thresholds ``[0, 1, 2]`` and labels
  ``easy, medium, hard, extra`` give back the official label exactly, so
  ``component_difficulty == hardness``; other settings merge or rename levels
  (``[1]`` with ``["simple", "complex"]``: easy and medium are simple).
* ``"components"``: the number of components the official rule counts,
  ``component1 + component2 + others`` (see
  :class:`~sqlfoundry.sql.hardness.SpiderCounts`), for DataFlow-style
  thresholds such as ``[2, 4, 6]``.

:class:`ExecutionClassifier` asks the model ``num_generations`` times for SQL
from the record's ``prompt``, runs every answer and counts those whose result
equals the reference's (``spider`` comparison by default). The count is the
score: with the defaults ``[2, 5, 9]`` and ``extra, hard, medium, easy``, 0-2
right answers out of 10 is extra and 10 out of 10 is easy. Where DataFlow
quietly raises ``num_generations`` when it does not exceed the last threshold,
such a setting (whose last label could never be given) is refused when the
operator is built. ``meta["execution_pass"]`` keeps ``correct``, ``total``,
``unparsed`` (answers with no SQL in them, counted wrong; the first one's
``parse_error`` and ``parse_raw`` are kept) and ``failed`` (answers whose SQL
did not run). A record whose own SQL does not run is rejected
(``reference SQL failed: ...``); a record the endpoint failed on keeps a null
label and the error in ``meta["execution_difficulty_error"]``. The offline
engine has no model to measure with: it leaves ``execution_difficulty`` null
and says so in ``meta["execution_difficulty_note"]``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.base import ExecResult
from sqlfoundry.db.compare import gold_orders_rows, results_match
from sqlfoundry.llm import BatchItem, LLMRequest, ParseResult, parse_sql, run_batch
from sqlfoundry.sql.hardness import HARDNESS_LEVELS, SpiderCounts, spider_counts
from sqlfoundry.synth.base import EngineOperator, EngineParams, changed_copy, stamp
from sqlfoundry.synth.sql_feed import SQLFeed

log = logging.getLogger(__name__)

OFFLINE_NOTE = (
    "offline engine: grading by execution needs a model to measure a pass rate on; "
    "run with an LLM (--engine llm) to fill sql_execution_difficulty"
)


def threshold_label(score: int, thresholds: Sequence[int], labels: Sequence[str]) -> str:
    """``labels[i]`` for the first ``i`` with ``score <= thresholds[i]``, else the last label."""
    for threshold, label in zip(thresholds, labels, strict=False):
        if score <= threshold:
            return label
    return labels[-1]


def _check_bins(thresholds: Sequence[int], labels: Sequence[str]) -> None:
    """Raise ValueError (reported as a ConfigError) unless the bins make sense."""
    if not thresholds:
        raise ValueError("difficulty_thresholds needs at least one threshold")
    if len(labels) != len(thresholds) + 1:
        raise ValueError(
            f"difficulty_labels needs one more entry than difficulty_thresholds "
            f"({len(thresholds)} thresholds, so {len(thresholds) + 1} labels; got {len(labels)})"
        )
    if any(t < 0 for t in thresholds):
        raise ValueError("difficulty_thresholds must not be negative")
    if any(b <= a for a, b in zip(thresholds, thresholds[1:], strict=False)):
        raise ValueError(f"difficulty_thresholds must increase strictly, got {list(thresholds)}")
    if any(not label.strip() for label in labels):
        raise ValueError("difficulty_labels must not be empty strings")


# --------------------------------------------------------------------------- components


class ComponentClassifierParams(Params):
    """
    Attributes:
        score: what the thresholds bin: ``hardness`` (the official level, 0-3) or
            ``components`` (component1 + component2 + others).
        difficulty_thresholds: upper bounds of each label's scores, increasing.
        difficulty_labels: one label per bin, one more than the thresholds.
    """

    score: Literal["hardness", "components"] = "hardness"
    difficulty_thresholds: list[int] = [0, 1, 2]
    difficulty_labels: list[str] = list(HARDNESS_LEVELS)

    @model_validator(mode="after")
    def _bins(self) -> ComponentClassifierParams:
        _check_bins(self.difficulty_thresholds, self.difficulty_labels)
        top = len(HARDNESS_LEVELS) - 1
        if self.score == "hardness" and self.difficulty_thresholds[-1] >= top:
            raise ValueError(
                f"with score='hardness' the score is the official level (0=easy .. {top}=extra), "
                f"so thresholds must be below {top}; got {self.difficulty_thresholds}. "
                "To bin component counts (DataFlow-style thresholds), set score='components'"
            )
        return self


@register
class ComponentClassifier(Operator):
    """Spider hardness and a configurable component difficulty; see the module doc."""

    name = "component_classifier"
    inputs = ("sql",)
    outputs = ("hardness", "component_difficulty", "meta")  # meta["components"]
    Params = ComponentClassifierParams

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        for sample in batch:
            if not sample.sql or not sample.sql.strip():
                out.rejects.append(self.reject(sample, "missing field: SQL"))
                continue
            try:
                counts = spider_counts(sample.sql, _dialect(ctx, sample.db_id))
            except SqlfoundryError as err:
                out.rejects.append(self.reject(sample, f"cannot parse SQL: {err.message}"))
                continue
            graded = changed_copy(sample)
            graded.hardness = counts.hardness
            graded.component_difficulty = self.label(counts)
            graded.meta["components"] = counts.to_dict()
            out.samples.append(stamp(graded, self.name, "offline"))
        return out

    def label(self, counts: SpiderCounts) -> str:
        """The configured label for one query's official counts."""
        p = self.params
        if p.score == "hardness":
            score = HARDNESS_LEVELS.index(counts.hardness)
        else:
            score = counts.component1 + counts.component2 + counts.others
        return threshold_label(score, p.difficulty_thresholds, p.difficulty_labels)


def _dialect(ctx: RunContext | None, db_id: str) -> str:
    if ctx is not None and ctx.has_database(db_id):
        return ctx.schema(db_id, sample_values=0).dialect
    return "sqlite"


# --------------------------------------------------------------------------- execution


class ExecutionClassifierParams(EngineParams):
    """
    Attributes:
        num_generations: answers asked of the model per record (one request with ``n``).
        difficulty_thresholds: upper bounds of right answers for each label, increasing;
            the last must be below ``num_generations`` so the last label can occur.
        difficulty_labels: one label per bin, hardest first by default.
        temperature: sampling temperature for the answers. A pass rate needs varied
            answers: at temperature 0 all ``n`` are alike and every record is graded
            either the first or the last label. None takes the LLM config's (0 by default).
        compare: how a result is judged equal to the reference's
            (``spider``, ``bird`` or ``strict``; see ``sqlfoundry.db.compare``).
    """

    num_generations: int = Field(10, ge=1)
    difficulty_thresholds: list[int] = [2, 5, 9]
    difficulty_labels: list[str] = ["extra", "hard", "medium", "easy"]
    temperature: float | None = Field(0.8, ge=0, le=2)
    compare: Literal["spider", "bird", "strict"] = "spider"

    @model_validator(mode="after")
    def _bins(self) -> ExecutionClassifierParams:
        _check_bins(self.difficulty_thresholds, self.difficulty_labels)
        if self.difficulty_thresholds[-1] >= self.num_generations:
            raise ValueError(
                f"the last difficulty threshold ({self.difficulty_thresholds[-1]}) must be "
                f"below num_generations ({self.num_generations}), or the label "
                f"{self.difficulty_labels[-1]!r} can never be given; raise num_generations "
                "or lower the thresholds"
            )
        return self


@register
class ExecutionClassifier(EngineOperator):
    """Difficulty from the pass rate of model answers; see the module doc."""

    name = "execution_classifier"
    inputs = ("prompt", "sql", "db_id")
    outputs = ("execution_difficulty", "meta")  # meta["execution_pass"]
    Params = ExecutionClassifierParams

    async def process_offline(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        for sample in batch:
            graded = changed_copy(sample, {"execution_difficulty": None})
            graded.meta["execution_difficulty_note"] = OFFLINE_NOTE
            out.samples.append(stamp(graded, self.name, "offline"))
        return out

    async def process_llm(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        self._warn_if_greedy(ctx)
        out = StepOutput()
        todo: list[Sample] = []
        for sample in batch:
            reason = _input_problem(sample, ctx)
            if reason:
                out.rejects.append(self.reject(sample, reason))
            else:
                todo.append(sample)
        # Each answer is parsed, run and tallied as it arrives, while the other requests
        # are in flight; the references start at once. Each distinct query runs once.
        feed = SQLFeed(ctx)
        feed.submit([(s.sql, s.db_id) for s in todo])
        graded: dict[int, asyncio.Task[tuple[list[ParseResult], dict[str, Any] | None]]] = {}

        def arrived(item: BatchItem) -> None:
            parsed = self.format_output(item)
            if parsed is not None:
                graded[item.index] = asyncio.create_task(self._grade(todo[item.index], parsed,
                                                                     feed, ctx))  # fmt: skip

        try:
            items = await run_batch(ctx.llm, [self.format_input(s) for s in todo],
                                    operator=self.name, on_item=arrived)  # fmt: skip
            await asyncio.gather(*graded.values())
        finally:
            for task in graded.values():
                task.cancel()
            await feed.aclose()

        for sample, item in zip(todo, items, strict=True):
            graded_sample = sample.model_copy(deep=True)
            if item.index not in graded:
                # The endpoint failed on this record: keep it ungraded, with the error.
                graded_sample.execution_difficulty = None
                graded_sample.meta["execution_difficulty_error"] = item.error.message
                out.samples.append(stamp(graded_sample, self.name, "llm"))
                continue
            parsed, tally = graded[item.index].result()
            if tally is None:
                gold = (await feed.run([(sample.sql, sample.db_id)]))[0]
                why = "timed out" if gold.status == "timeout" else gold.error
                out.rejects.append(self.reject(sample, f"reference SQL failed: {why}"))
                continue
            first_error = next((p for p in parsed if not p.ok), None)
            if first_error is not None:
                # One unreadable answer shows what the model wrote, for fixing the prompt.
                tally.update(first_error.meta("parse"))
            graded_sample.execution_difficulty = threshold_label(
                tally["correct"], self.params.difficulty_thresholds, self.params.difficulty_labels
            )
            graded_sample.meta["execution_pass"] = tally
            out.samples.append(
                stamp(graded_sample, self.name, "llm", n=self.params.num_generations)
            )
        return out

    async def _grade(
        self, sample: Sample, parsed: list[ParseResult], feed: SQLFeed, ctx: RunContext
    ) -> tuple[list[ParseResult], dict[str, Any] | None]:
        """The record's answers and their tally; None for the tally when its own SQL fails."""
        answers = [(p.value, sample.db_id) for p in parsed if p.ok]
        gold, *results = await feed.run([(sample.sql, sample.db_id), *answers])
        if not gold.ok:
            return parsed, None
        ran = iter(results)
        runs = [next(ran) if p.ok else None for p in parsed]
        return parsed, self.tally(sample, gold, runs, ctx)

    def _warn_if_greedy(self, ctx: RunContext) -> None:
        temperature = self.params.temperature
        if temperature is None:
            temperature = getattr(getattr(ctx.llm, "config", None), "temperature", None)
        if temperature == 0 and self.params.num_generations > 1:
            log.warning(
                "%s samples %d answers at temperature 0: they will be alike, so the pass rate "
                "is all or nothing; set its temperature (e.g. 0.8)",
                self.name,
                self.params.num_generations,
            )

    def format_input(self, sample: Sample) -> LLMRequest:
        """The request asking for ``num_generations`` answers to the record's prompt."""
        params = {} if self.params.temperature is None else {"temperature": self.params.temperature}
        return LLMRequest(
            [{"role": "user", "content": sample.prompt}], n=self.params.num_generations,
            params=params,
        )  # fmt: skip

    @staticmethod
    def format_output(item: BatchItem) -> list[ParseResult] | None:
        """The SQL parsed from each answer; None when the request itself failed."""
        if not item.ok:
            return None
        return [parse_sql(g.text) for g in item.generations]

    def tally(
        self, sample: Sample, gold: ExecResult, answers: list[ExecResult | None], ctx: RunContext
    ) -> dict[str, Any]:
        """How many of ``answers`` (None: no SQL could be parsed) are right, unparsable
        or failing, out of how many."""
        mode = self.params.compare
        ordered = mode == "spider" and gold_orders_rows(sample.sql, _dialect(ctx, sample.db_id))
        correct = unparsed = failed = 0
        for result in answers:
            if result is None:
                unparsed += 1
            elif not result.ok:
                failed += 1
            elif results_match(gold.rows, result.rows, mode, order_matters=ordered):
                correct += 1
        return {"correct": correct, "total": len(answers), "unparsed": unparsed, "failed": failed}


def _input_problem(sample: Sample, ctx: RunContext) -> str | None:
    if not sample.prompt or not sample.prompt.strip():
        return "missing field: prompt"
    if not sample.sql or not sample.sql.strip():
        return "missing field: SQL"
    if not ctx.has_database(sample.db_id):
        return f"unknown database: {sample.db_id}"
    return None
