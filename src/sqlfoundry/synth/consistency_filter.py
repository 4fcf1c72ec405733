"""SQLConsistencyFilter: drop question/SQL pairs whose question and SQL disagree.

Offline engine
    :mod:`sqlfoundry.synth.consistency_filter_heuristic`: a pair is dropped when
    the question contradicts the SQL (``inconsistent: asks to count but the SQL
    counts nothing``, ``inconsistent: asks for the highest but the SQL takes
    the lowest``...), or when it mentions less than ``min_coverage`` of what the
    SQL uses (main table, meaningful columns, filter values): ``inconsistent:
    the question does not mention enough of what the SQL uses``. Every record
    gets ``meta["consistency"]``: method, coverage, what was found and missing,
    and the contradictions.

    It also compares what the question asks for with what the SQL computes:
    another table counted ("how many authors" over ``books``), a percentage
    (``* 100``) never asked for, another column of the table returned.

    Calibrated on Spider dev (tests/synth/test_consistency_filter.py): with
    ``min_coverage=0.6`` it keeps 99.0% of the gold pairs and drops 88.7% of
    mismatched ones (questions paired with another query of the same database,
    and queries with ORDER BY or MAX/MIN flipped). On the labelled pairs of
    ``tests/fixtures/synth/consistency`` (26 correct, 22 broken) it decides all 48
    as labelled.

LLM engine
    The pairs of one database go to the judge ``pairs_per_request`` (5) to a
    ``consistency_judge_several`` request: the schema once, then each pair under a
    "Pair N" heading, answered pair by pair, each part ending in its verdict. (A
    single pair, or ``pairs_per_request = 1``, takes the ``consistency_judge``
    template.) A pair's verdict is read from its part of the answer with
    ``parse_yes_no``; a pair the answer leaves out, or whose part holds no verdict,
    is asked again on its own. "no" drops the record with the judge's reasoning in
    the reason (``judge: inconsistent: ...``) and in ``meta``; an answer without a
    verdict drops it as ``consistency: judge answer unreadable``, keeping the raw
    answer in ``meta``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import LLMItemError, SqlfoundryError
from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm import LLMRequest, pair_sections, parse_yes_no, render_prompt, run_batch
from sqlfoundry.sql.parse import sqlglot_dialect
from sqlfoundry.synth.base import EngineOperator, EngineParams, changed_copy, stamp
from sqlfoundry.synth.consistency_filter_heuristic import check
from sqlfoundry.synth.prompt_generator import SchemaText, dialect_name

LOW_COVERAGE = "inconsistent: the question does not mention enough of what the SQL uses"
UNREADABLE = "consistency: judge answer unreadable"
_VERDICT_LINE = re.compile(r"^\W*(final\s+)?verdict\b", re.IGNORECASE)


class ConsistencyParams(EngineParams):
    """
    Attributes:
        min_coverage: offline: the share of the SQL's tables, columns and values the
            question must mention (values weigh 1.5, the others 1).
        examples: LLM: example values per column in the schema shown to the judge.
        max_reason_chars: LLM: the judge's reasoning is cut to this length in the reason.
        pairs_per_request: LLM: pairs of one database judged in one request (the schema
            sent once for them all); 1 asks one request per pair.
    """

    min_coverage: float = Field(0.6, ge=0.0, le=1.0)
    examples: int = Field(3, ge=0)
    max_reason_chars: int = Field(200, ge=20)
    pairs_per_request: int = Field(5, ge=1, le=20)


@register
class SQLConsistencyFilter(EngineOperator):
    """Drops pairs whose question and SQL disagree, with the reason; see the module doc."""

    name = "sql_consistency_filter"
    # 2: conditional counts and shares read their CASE values; asks-for-another-count,
    # unasked-percentage and another-column contradictions; "alphabetically last" is descending.
    # 3: "which"/"who" questions name the selected name or title column
    # 4: LLM: several pairs of one database in one request
    version = 4
    inputs = ("question", "sql", "db_id", "evidence")
    outputs = ("meta",)  # meta["consistency"]
    Params = ConsistencyParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._schemas = SchemaText(examples=self.params.examples)

    def _input_problem(self, sample: Sample, ctx: RunContext) -> str | None:
        if not sample.question or not sample.question.strip():
            return "missing field: question"
        if not sample.sql or not sample.sql.strip():
            return "missing field: SQL"
        if not ctx.has_database(sample.db_id):
            return f"unknown database: {sample.db_id}"
        return None

    # ------------------------------------------------------------------ offline

    async def process_offline(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        for sample in batch:
            problem = self._input_problem(sample, ctx)
            if problem:
                out.rejects.append(self.reject(sample, problem))
                continue
            schema = ctx.schema(sample.db_id, sample_values=0)
            try:
                verdict = check(sample.question, sample.evidence, sample.sql, schema,
                                sqlglot_dialect(schema.dialect or "sqlite"))  # fmt: skip
            except SqlfoundryError as err:
                record = changed_copy(sample)
                record.meta["consistency"] = {"method": "heuristic", "error": err.message}
                out.rejects.append(self.reject(record, "SQL does not parse"))
                continue
            record = changed_copy(sample)
            record.meta["consistency"] = verdict.to_meta()
            if verdict.contradictions:
                reason = f"inconsistent: {verdict.contradictions[0].kind}"
                out.rejects.append(self.reject(record, reason))
            elif verdict.coverage < self.params.min_coverage:
                out.rejects.append(self.reject(record, LOW_COVERAGE))
            else:
                out.samples.append(stamp(record, self.name, "offline", method="heuristic",
                                         coverage=round(verdict.coverage, 3)))  # fmt: skip
        return out

    # ------------------------------------------------------------------ LLM

    def format_input(self, sample: Sample, ctx: RunContext) -> list[dict[str, str]]:
        """The judge's chat messages for one pair."""
        schema = self._schemas.schema(ctx, sample.db_id)
        return render_prompt(
            "consistency_judge",
            dialect=dialect_name(schema.dialect),
            schema=self._schemas.ddl(ctx, sample.db_id),
            question=sample.question.strip(),
            evidence=(sample.evidence or "").strip(),
            sql=sample.sql.strip(),
        )

    def format_several(self, samples: Sequence[Sample], ctx: RunContext) -> list[dict[str, str]]:
        """The judge's chat messages for several pairs of one database."""
        db_id = samples[0].db_id
        schema = self._schemas.schema(ctx, db_id)
        return render_prompt(
            "consistency_judge_several",
            dialect=dialect_name(schema.dialect),
            schema=self._schemas.ddl(ctx, db_id),
            count=str(len(samples)),
            pairs="\n\n".join(_pair_text(k, s) for k, s in enumerate(samples, start=1)),
        )

    def format_output(self, text: str) -> tuple[bool | None, str, dict[str, Any]]:
        """``(verdict or None, the judge's reasoning, meta)`` from one answer."""
        parsed = parse_yes_no(text)
        meta: dict[str, Any] = {"method": "llm", "judge": text}
        if not parsed.ok:
            meta.update(parsed.meta("judge_parse"))
            return None, "", meta
        meta["verdict"] = parsed.value
        reasoning = " ".join(
            line.strip(" -*\t")
            for line in (text or "").splitlines()
            if line.strip() and not _VERDICT_LINE.match(line)
        )
        return parsed.value, reasoning, meta

    async def process_llm(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        todo: list[Sample] = []
        for sample in batch:
            problem = self._input_problem(sample, ctx)
            if problem:
                out.rejects.append(self.reject(sample, problem))
            else:
                todo.append(sample)
        answers = await self._judge(todo, ctx)
        for sample, (answer, shared) in zip(todo, answers, strict=True):
            record = sample.model_copy(deep=True)
            if isinstance(answer, LLMItemError):
                out.rejects.append(self.reject(record, f"LLM request failed: {answer.message}"))
                continue
            verdict, reasoning, meta = self.format_output(answer)
            if shared > 1:
                meta["pairs_in_request"] = shared
            record.meta["consistency"] = meta
            if verdict is None:
                out.rejects.append(self.reject(record, UNREADABLE))
            elif not verdict:
                reason = _shorten(reasoning, self.params.max_reason_chars) or "no reason given"
                out.rejects.append(self.reject(record, f"judge: inconsistent: {reason}"))
            else:
                out.samples.append(stamp(record, self.name, "llm", method="llm"))
        return out

    async def _judge(self, todo: Sequence[Sample],
                     ctx: RunContext) -> list[tuple[str | LLMItemError, int]]:  # fmt: skip
        """Each pair's answer (its part of a shared one) or the error of its request, with
        how many pairs the request judged; see the module doc."""
        by_db: dict[str, list[int]] = {}
        for i, sample in enumerate(todo):
            by_db.setdefault(sample.db_id, []).append(i)
        per = self.params.pairs_per_request
        groups = [ids[k : k + per] for ids in by_db.values() for k in range(0, len(ids), per)]
        requests = [
            LLMRequest(
                self.format_input(todo[g[0]], ctx)
                if len(g) == 1
                else self.format_several([todo[i] for i in g], ctx)
            )
            for g in groups
        ]
        answers: list[tuple[str | LLMItemError, int]] = [("", 1)] * len(todo)
        alone: list[int] = []  # pairs a shared answer left without a readable verdict
        for group, item in zip(groups, await run_batch(ctx.llm, requests, operator=self.name),
                               strict=True):  # fmt: skip
            if not item.ok:
                for i in group:
                    answers[i] = (item.error, len(group))
            elif len(group) == 1:
                answers[group[0]] = (item.text or "", 1)
            else:
                for i, part in zip(group, pair_sections(item.text, len(group)), strict=True):
                    if part is not None and parse_yes_no(part).ok:
                        answers[i] = (part, len(group))
                    else:
                        alone.append(i)
        if alone:
            requests = [LLMRequest(self.format_input(todo[i], ctx)) for i in alone]
            again = await run_batch(ctx.llm, requests, operator=self.name)
            for i, item in zip(alone, again, strict=True):
                answers[i] = (item.error if not item.ok else item.text or "", 1)
        return answers


def _pair_text(k: int, sample: Sample) -> str:
    """One pair as the several-pairs prompt lists it."""
    lines = [f"Pair {k}", f"Question: {sample.question.strip()}"]
    if (sample.evidence or "").strip():
        lines.append(f"External knowledge: {sample.evidence.strip()}")
    lines += ["SQL query:", "```sql", sample.sql.strip(), "```"]
    return "\n".join(lines)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
