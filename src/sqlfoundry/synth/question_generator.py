"""QuestionGenerator: the natural-language question each record's SQL answers.

Offline engine: the realiser (:mod:`sqlfoundry.synth.realiser`) words the SQL
as a question or request, with a phrasing variant drawn from the run's seed and
the record id; ``meta["question_style"]`` records it.

LLM engine: ``num_candidates`` questions in different language styles
(``question_styles.toml``: formal, colloquial, imperative, ...), all asked in one
request (``question_candidates``; a single style uses ``question_generation``) and
answered as ``{"questions": [{"style", "question", "evidence"}, ...]}``: the
schema and the SQL are sent once, not once per style. The candidates are
embedded (the run's local embedder, else the endpoint's ``/embeddings``) and the
medoid, the candidate closest to all the others, is kept: the most typical
reading of the SQL, which filters out a candidate that drifted. ``meta`` keeps
the chosen style and every candidate. A vague or metaphorical question comes
with the external knowledge that pins it down; it fills ``evidence`` when the
record has none.

A record that already has a question keeps it unless ``overwrite`` is set, so
refinement mode passes original pairs through and only new variants get one.
Records without SQL, for an unknown database, or whose SQL cannot be worded
are dropped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator, model_validator

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import LLMItemError, MissingDependencyError
from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm import (
    QUESTION_STYLES,
    LLMRequest,
    medoid,
    parse_json,
    question_candidates_messages,
    question_generation_messages,
    run_batch,
)
from sqlfoundry.llm.parse import strip_thinking
from sqlfoundry.llm.similarity import require_numpy
from sqlfoundry.synth.base import EngineOperator, EngineParams, changed_copy, stamp
from sqlfoundry.synth.prompt_generator import SchemaText, dialect_name
from sqlfoundry.synth.realiser import RealiseError, realise_detail

log = logging.getLogger(__name__)


class QuestionParams(EngineParams):
    """
    Attributes:
        overwrite: also replace questions records already have.
        num_candidates: LLM engine: candidates per record, each in a different style.
        styles: LLM engine: the styles to draw from (question_styles.toml).
    """

    overwrite: bool = False
    num_candidates: int = Field(5, ge=1, le=len(QUESTION_STYLES))
    styles: list[str] = Field(default_factory=lambda: list(QUESTION_STYLES))

    @field_validator("styles")
    @classmethod
    def _known_styles(cls, styles: list[str]) -> list[str]:
        unknown = [s for s in styles if s not in QUESTION_STYLES]
        if unknown:
            raise ValueError(f"unknown style(s) {unknown}; styles: {', '.join(QUESTION_STYLES)}")
        if not styles or len(set(styles)) != len(styles):
            raise ValueError("styles must be a non-empty list without repeats")
        return styles

    @model_validator(mode="after")
    def _enough_styles(self) -> QuestionParams:
        if self.num_candidates > len(self.styles):
            raise ValueError(
                f"num_candidates={self.num_candidates} needs as many styles, got {len(self.styles)}"
            )
        return self


@register
class QuestionGenerator(EngineOperator):
    """Writes ``question`` from ``sql``; see the module doc."""

    name = "question_generator"
    # 2: clipped names ("GName") read as the noun; 3: MAX/MIN of dates read latest/earliest;
    # 4: questions nearer people's (no "whose" by default, "How many", "who", comparatives, leads, periods, value codes)
    # 5: a count of a key over a join says what it counts ("likes"), flags read as flags;
    # Spider's proportions of openings, verbs and constructions, shorter comparisons and
    # orderings, "which ..., and how many?", run-together names split ("high schooler")
    version = 5
    inputs = ("sql", "db_id")
    outputs = ("question", "evidence")
    Params = QuestionParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._schemas = SchemaText(examples=3)

    # ------------------------------------------------------------------ shared

    def _triage(
        self, batch: Sequence[Sample], ctx: RunContext, out: StepOutput, engine: str
    ) -> tuple[list[Sample], dict[str, Sample]]:
        """Reject bad records; return those to work on and those that keep their question."""
        todo, kept = [], {}
        for sample in batch:
            if sample.question and sample.question.strip() and not self.params.overwrite:
                copy = sample.model_copy(deep=True)
                kept[sample.id] = stamp(copy, self.name, engine, kept_question=True)
            elif not sample.sql or not sample.sql.strip():
                out.rejects.append(self.reject(sample, "missing field: SQL"))
            elif not ctx.has_database(sample.db_id):
                out.rejects.append(self.reject(sample, f"unknown database: {sample.db_id}"))
            else:
                todo.append(sample)
        return todo, kept

    @staticmethod
    def _in_order(batch: Sequence[Sample], done: dict[str, Sample], out: StepOutput) -> StepOutput:
        out.samples = [done[s.id] for s in batch if s.id in done]
        return out

    def _rng(self, ctx: RunContext, sample: Sample) -> random.Random:
        return random.Random(f"{ctx.seed}:{self.name}:{sample.id}")

    # ------------------------------------------------------------------ offline

    async def process_offline(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        todo, done = self._triage(batch, ctx, out, "offline")
        for sample in todo:
            schema = ctx.schema(sample.db_id)
            try:
                result = realise_detail(sample.sql, schema, rng=self._rng(ctx, sample),
                                        dialect=schema.dialect)  # fmt: skip
            except RealiseError as err:
                out.rejects.append(self.reject(sample, _realise_reason(err.message)))
                continue
            except Exception as err:  # a realiser bug must not stop the run
                log.error("realiser failed on %s: %s: %s", sample.id, type(err).__name__, err)
                log.debug("realiser failed on %s", sample.id, exc_info=True)
                reason = f"cannot realise SQL: internal error ({type(err).__name__}: {err})"
                out.rejects.append(self.reject(sample, reason))
                continue
            record = changed_copy(sample)
            record.question = result.text
            record.meta["question_style"] = result.style
            done[sample.id] = stamp(record, self.name, "offline", style=result.style)
        return self._in_order(batch, done, out)

    # ------------------------------------------------------------------ LLM

    def format_input(
        self, sample: Sample, styles: str | list[str], ctx: RunContext
    ) -> list[dict[str, str]]:
        """The chat messages asking for one question in each of ``styles``."""
        styles = [styles] if isinstance(styles, str) else styles
        schema = self._schemas.schema(ctx, sample.db_id)
        values = {"dialect": dialect_name(schema.dialect),
                  "schema": self._schemas.ddl(ctx, sample.db_id), "sql": sample.sql.strip(),
                  "evidence": (sample.evidence or "").strip()}  # fmt: skip
        if len(styles) == 1:
            return question_generation_messages(styles[0], **values)
        return question_candidates_messages(styles, **values)

    @staticmethod
    def format_output(text: str | None) -> tuple[dict[str, str] | None, str | None]:
        """``({"question", "evidence"}, None)`` from an answer, or ``(None, error)``.

        The template asks for JSON; a bare one-line question is accepted too.
        """
        parsed = parse_json(text, expect=dict)
        if parsed.ok:
            question = parsed.value.get("question")
            if not isinstance(question, str) or not question.strip():
                return None, "the JSON answer has no question"
            evidence = parsed.value.get("evidence")
            evidence = evidence.strip() if isinstance(evidence, str) else ""
            return {"question": " ".join(question.split()), "evidence": evidence}, None
        body = strip_thinking(text or "").strip().strip('"').strip()
        if body and "{" not in body and "```" not in body:
            return {"question": " ".join(body.split()), "evidence": ""}, None
        return None, parsed.error or "empty answer"

    @classmethod
    def format_candidates(
        cls, text: str | None, styles: list[str]
    ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """The candidates of one answer to :meth:`format_input`, each with its style, and
        an error for each style the answer has no usable question for.

        Entries are matched to styles by their ``style`` when it names one still
        unmatched, else by position; a single ``{"question", ...}`` answers the first style.
        """
        parsed = parse_json(text, expect=(dict, list))
        entries: list[Any] = []
        if parsed.ok and isinstance(parsed.value, list):
            entries = parsed.value
        elif parsed.ok and isinstance(parsed.value.get("questions"), list):
            entries = parsed.value["questions"]
        elif parsed.ok or len(styles) == 1:
            one, error = cls.format_output(text)
            if one is None:
                return [], [{"style": s, "error": error or "empty answer"} for s in styles]
            entries = [{**one, "style": styles[0]}]
        else:
            return [], [{"style": s, "error": parsed.error or "empty answer"} for s in styles]
        found: dict[str, dict[str, str]] = {}
        for position, entry in enumerate(entries):
            named = entry.get("style") if isinstance(entry, dict) else None
            style = named if named in styles and named not in found else None
            if style is None and position < len(styles) and styles[position] not in found:
                style = styles[position]
            if style is None:
                continue
            one, _ = cls.format_output(json.dumps(entry) if isinstance(entry, dict) else None)
            if one is not None:
                found[style] = {"style": style, **one}
        missing = [{"style": s, "error": "the answer has no question in this style",
                    "raw": text or ""} for s in styles if s not in found]  # fmt: skip
        return [found[s] for s in styles if s in found], missing

    def _styles_for(self, ctx: RunContext, sample: Sample) -> list[str]:
        return self._rng(ctx, sample).sample(self.params.styles, self.params.num_candidates)

    async def process_llm(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        todo, done = self._triage(batch, ctx, out, "llm")
        plan = [(sample, self._styles_for(ctx, sample)) for sample in todo]
        requests = [LLMRequest(self.format_input(s, styles, ctx)) for s, styles in plan]
        # The medoids need numpy: imported while the requests are out, not after them.
        numpy = asyncio.create_task(asyncio.to_thread(_import_numpy))
        try:
            items = await run_batch(ctx.llm, requests, operator=self.name)
        finally:
            await numpy
        candidates: dict[str, list[dict[str, str]]] = {s.id: [] for s in todo}
        errors: dict[str, list[dict[str, str]]] = {s.id: [] for s in todo}
        for (sample, styles), item in zip(plan, items, strict=True):
            if not item.ok:
                errors[sample.id] = [{"style": s, "error": item.error.message} for s in styles]
                continue
            candidates[sample.id], errors[sample.id] = self.format_candidates(item.text, styles)
        chosen = await self._medoids(todo, candidates, ctx)
        for sample in todo:
            found = candidates[sample.id]
            if not found:
                first = errors[sample.id][0]["error"] if errors[sample.id] else "no answer"
                out.rejects.append(self.reject(sample, f"question generation failed: {first}"))
                continue
            pick = found[chosen[sample.id]]
            record = sample.model_copy(deep=True)
            record.question = pick["question"]
            if pick["evidence"] and not (record.evidence or "").strip():
                record.evidence = pick["evidence"]
            record.meta["question_style"] = pick["style"]
            record.meta["question_candidates"] = found
            if errors[sample.id]:
                record.meta["question_errors"] = errors[sample.id]
            done[sample.id] = stamp(record, self.name, "llm", style=pick["style"])
        return self._in_order(batch, done, out)

    async def _medoids(
        self, todo: list[Sample], candidates: dict[str, list[dict[str, str]]], ctx: RunContext
    ) -> dict[str, int]:
        """The index of each record's medoid candidate (0 when it has one or none)."""
        texts = [c["question"] for s in todo if len(candidates[s.id]) > 1 for c in candidates[s.id]]
        chosen = {s.id: 0 for s in todo}
        if not texts:
            return chosen
        unique = list(dict.fromkeys(texts))
        try:
            if ctx.embedder is not None:
                vectors = ctx.embedder.encode(unique)
            else:
                vectors = await ctx.llm.embed(unique, operator=self.name)
        except LLMItemError as err:
            log.warning("question_generator: embeddings failed (%s); keeping first candidates", err)
            return chosen
        by_text = {t: vectors[i] for i, t in enumerate(unique)}
        for sample in todo:
            found = candidates[sample.id]
            if len(found) > 1:
                chosen[sample.id] = medoid([by_text[c["question"]] for c in found])
        return chosen


def _import_numpy() -> None:
    with contextlib.suppress(MissingDependencyError):  # said when the medoids need it
        require_numpy()


def _realise_reason(message: str) -> str:
    if message.startswith("unparseable SQL"):
        return message
    return f"cannot realise SQL: {message}"
