"""SQLVariationGenerator: new SQL records from each record's SQL, checked by execution.

Each record comes out followed by up to ``num_variants`` new records (ids
``<id>-v1``, ``<id>-v2``...), whose ``sql`` is a variant and whose ``meta`` holds
``seed_sql``, ``seed_question`` and ``variation`` (what made the variant). An
equivalent variant (offline rules, LLM ``rewrite`` mode) keeps its seed's
question: the SQL means the same, so the question still holds, and a question
written anew from the variant could only be riskier (``meta["question_from"]``
is ``"seed"``). An ``evolve`` variant asks something else: its ``question`` is
None and a later step writes one.

Equivalence is checked by execution, and not on the database alone: the seed's
result must be non-empty (two queries that both return nothing say nothing),
and the variant must also return what the seed returns on perturbed copies of
a SQLite database (:mod:`sqlfoundry.synth.perturb`: rows removed, values
changed, keys kept), ``perturbed_copies`` of them. Server databases get no
copies (``meta["variation_checks"]["perturbed"]`` says so).

Offline engine
    Rewrites by the rules of :mod:`sqlfoundry.synth.rewrites`: each structural
    rule that applies gives a candidate, sometimes with a second rule on top.
    Cosmetic rewrites (aliases, join order, AND order, ``COUNT(1)`` or
    ``COUNT(key)`` for ``COUNT(*)``) teach nothing and are used only with
    ``cosmetic=True``, after the structural ones. The order is
    drawn from the run's seed and the record id. Candidates that normalise to
    the original or to each other are dropped, the first ``max_checks`` run
    next to the original in one batch, and a candidate is kept only when its
    result equals the original's (Spider comparison: row order counts only
    when the original has ORDER BY). ``variation`` lists the rules applied.

LLM engine
    ``llm_mode="rewrite"`` (default) asks the ``sql_rewrite`` template for
    ``n`` equivalent queries and keeps those whose result equals the seed's,
    as offline. ``llm_mode="evolve"`` asks the ``sql_variation`` template for
    new queries in one evolution direction (drawn per record from
    ``directions``): a different question on the same data. Such a variant
    must parse, run, return rows, and return something other than the seed.
    ``variation`` is ``"llm"`` and ``variation_direction`` the direction.

With ``paraphrase`` an equivalent variant also gets ``meta["paraphrase"]``
(``question``, ``style``, ``engine``): a second wording of the question for
training data that wants two, while ``question`` stays the seed's. Offline it is
another wording the realiser gives the variant's SQL, kept only when it differs
from the seed's question and the offline consistency check accepts it; with the
LLM engine it is one ``question_generation`` request in a style drawn from
``question_styles.toml``, parsed as the question generator parses its answers. A
variant without one keeps ``meta["paraphrase_error"]`` saying why.

Answers that fail a check are counted by reason in the original's
``meta["variation_checks"]``. A record whose own SQL does not run gets no
variants. With ``keep_original=False`` a record that yields no variant is
dropped (``no variant kept: ...``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlglot import exp

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.operator import StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.base import ExecResult
from sqlfoundry.db.compare import gold_orders_rows, results_match
from sqlfoundry.llm import LLMRequest, parse_sql, render_prompt, run_batch
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_one, sqlglot_dialect
from sqlfoundry.sql.skeleton import normalize
from sqlfoundry.synth.base import EngineOperator, EngineParams, stamp
from sqlfoundry.synth.perturb import PerturbedCopies
from sqlfoundry.synth.prompt_generator import SchemaText, dialect_name
from sqlfoundry.synth.rewrites import (
    COSMETIC_RULES,
    DEFAULT_RULES,
    RULES,
    UNDOES,
    SchemaFacts,
    applicable,
)
from sqlfoundry.synth.rewrites.base import render

log = logging.getLogger(__name__)

DIRECTIONS = ("add_constraint", "deepen", "concretize", "reason_more", "breadth")

# Fields that describe the parent's question or SQL; a variant starts without them.
_DERIVED_FIELDS = (
    "prompt", "cot", "hardness", "difficulty", "component_difficulty",
    "execution_difficulty", "pred_sql", "schema_links",
)  # fmt: skip
_DERIVED_META = ("execution", "consistency", "variation_checks", "execution_pass")


class VariationParams(EngineParams):
    """
    Attributes:
        num_variants: at most this many new records per record.
        keep_original: emit the record itself before its variants.
        max_checks: offline: candidate rewrites run per record (the first ones
            in the drawn order); more finds more variants on heavy rejections.
        compose: offline: the chance a second rule is applied on top of each one.
        rules: offline: the rules to use (names of ``sqlfoundry.synth.rewrites.RULES``);
            by default ``DEFAULT_RULES``, every rule but those giving forms people
            seldom write.
        llm_mode: ``evolve`` (new, different queries) or ``rewrite`` (equivalent ones).
        directions: evolution directions drawn from (``evolve`` mode).
        n: LLM answers asked per record.
        temperature: LLM sampling temperature for those answers (None: the ``[llm]``
            setting); n answers at temperature 0 are n copies of one.
        examples: example values per column in the schema shown to the LLM.
        cosmetic: offline: also produce cosmetic variants (aliases, join order, AND
            order, COUNT spellings), which only change how the same query is written.
        perturbed_copies: perturbed copies of each SQLite database an equivalent
            variant must also agree on (0: the database itself only).
        paraphrase: give each equivalent variant, which keeps its seed's question, a
            second wording of it in ``meta["paraphrase"]``: offline another wording
            the realiser gives the variant's SQL that the consistency check accepts;
            with an LLM a question in one of the question generator's styles.
    """

    num_variants: int = Field(2, ge=1, le=50)
    keep_original: bool = True
    max_checks: int = Field(8, ge=1)
    compose: float = Field(0.5, ge=0.0, le=1.0)
    rules: list[str] | None = None
    llm_mode: Literal["evolve", "rewrite"] = "rewrite"
    directions: list[str] = Field(default_factory=lambda: list(DIRECTIONS), min_length=1)
    n: int = Field(4, ge=1, le=32)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    examples: int = Field(3, ge=0)
    cosmetic: bool = False
    perturbed_copies: int = Field(2, ge=0, le=8)
    paraphrase: bool = False

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = sorted(set(value) - set(RULES))
            if unknown:
                raise ValueError(f"unknown rule(s) {unknown}; rules: {', '.join(RULES)}")
        return value

    @field_validator("directions")
    @classmethod
    def _known_directions(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(DIRECTIONS))
        if unknown:
            raise ValueError(f"unknown direction(s) {unknown}; directions: {', '.join(DIRECTIONS)}")
        return value


@dataclass
class _Candidate:
    sql: str
    label: Any  # rule names (offline) or "llm"
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Plan:
    """One record on its way: its candidates and, after execution, what was kept."""

    sample: Sample
    dialect: str = "sqlite"
    candidates: list[_Candidate] = field(default_factory=list)
    kept: list[_Candidate] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    problem: str | None = None  # why the record gets no variants at all
    direction: str | None = None  # LLM evolve mode
    unparsed: str | None = None  # the first LLM answer holding no SQL, kept for people
    perturbed: str | None = None  # what the perturbed-copy check could do


@register
class SQLVariationGenerator(EngineOperator):
    """Adds variants of each record's SQL, kept only when execution agrees; see the module doc."""

    name = "sql_variation_generator"
    # 2: equivalent variants keep the seed's question; no cosmetic variants by default;
    # equivalence needs a non-empty result and agreement on perturbed copies.
    version = 2
    inputs = ("sql", "db_id")
    outputs = ("sql", "question", "meta")
    Params = VariationParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._schemas = SchemaText(examples=self.params.examples)
        self._copies = PerturbedCopies(self.params.perturbed_copies)

    # ------------------------------------------------------------------ shared

    def _rng(self, ctx: RunContext, sample: Sample) -> random.Random:
        return random.Random(f"{ctx.seed}:{self.name}:{sample.id}")

    def _input_problem(self, sample: Sample, ctx: RunContext) -> str | None:
        if not sample.sql or not sample.sql.strip():
            return "missing field: SQL"
        if not ctx.has_database(sample.db_id):
            return f"unknown database: {sample.db_id}"
        return None

    async def _check(self, plans: list[_Plan], ctx: RunContext, want_same: bool) -> None:
        """Run every seed and candidate in one batch; keep candidates that pass."""
        jobs: list[tuple[str, str]] = []
        for plan in plans:
            jobs.append((plan.sample.sql, plan.sample.db_id))
            jobs.extend((c.sql, plan.sample.db_id) for c in plan.candidates)
        results = iter(await ctx.execute(jobs))
        for plan in plans:
            seed = next(results)
            outcomes = [next(results) for _ in plan.candidates]
            if not seed.ok:
                plan.problem = f"seed SQL failed: {seed.error or seed.status}"
                continue
            if want_same and not seed.rows:
                plan.problem = "seed SQL returns no rows: equivalence cannot be told"
                continue
            ordered = gold_orders_rows(plan.sample.sql, plan.dialect)
            passed = []
            for candidate, result in zip(plan.candidates, outcomes, strict=True):
                reason = _verdict(seed, result, ordered, want_same)
                if reason is not None:
                    plan.failures[reason] += 1
                else:
                    passed.append(candidate)
            if want_same and passed:
                passed = await self._on_copies(plan, passed, ordered, ctx)
            plan.kept = passed[: self.params.num_variants]

    async def _on_copies(
        self, plan: _Plan, passed: list[_Candidate], ordered: bool, ctx: RunContext
    ) -> list[_Candidate]:
        """The candidates that also return the seed's result on every perturbed copy."""
        if not self.params.perturbed_copies:
            return passed
        spec = ctx.databases.spec(plan.sample.db_id)
        if spec.kind != "sqlite":
            plan.perturbed = f"no perturbed copies for {spec.kind} (checked on the database only)"
            return passed
        timeout = getattr(ctx.executor, "timeout", 30.0)
        sqls = [plan.sample.sql] + [c.sql for c in passed]
        runs = await asyncio.to_thread(self._copies.run, spec, sqls, timeout)
        plan.perturbed = f"{len(runs)} perturbed copies"
        kept = []
        for i, candidate in enumerate(passed, start=1):
            for results in runs:
                seed, mine = results[0], results[i]
                if not seed.ok or seed.truncated:
                    continue  # this copy cannot judge
                if (
                    not mine.ok
                    or mine.truncated
                    or not results_match(seed.rows, mine.rows, "spider", order_matters=ordered)
                ):
                    plan.failures["result differs on a perturbed copy"] += 1
                    break
            else:
                kept.append(candidate)
        return kept

    def _emit(self, plans: list[_Plan], engine: str) -> StepOutput:
        out = StepOutput()
        for plan in plans:
            parent = plan.sample
            checks = {"candidates": len(plan.candidates), "kept": len(plan.kept)}
            if plan.failures:
                checks["failed"] = dict(sorted(plan.failures.items()))
            if plan.problem:
                checks["problem"] = plan.problem
            if plan.direction:
                checks["direction"] = plan.direction
            if plan.unparsed is not None:
                checks["parse_raw"] = plan.unparsed
            if plan.perturbed:
                checks["perturbed"] = plan.perturbed
            if not plan.kept and not self.params.keep_original:
                why = plan.problem or (
                    ", ".join(f"{k} x{v}" for k, v in sorted(plan.failures.items()))
                    or "no rewrite applies"
                )
                out.rejects.append(self.reject(parent, f"no variant kept: {why}"))
                continue
            if self.params.keep_original:
                original = parent.model_copy(deep=True)
                original.meta["variation_checks"] = checks
                out.samples.append(stamp(original, self.name, engine, variants=len(plan.kept)))
            keeps_question = self.params.llm_mode == "rewrite" or engine == "offline"
            for k, candidate in enumerate(plan.kept, start=1):
                child = self._child(parent, k, candidate, keeps_question)
                out.samples.append(stamp(child, self.name, engine, seed_id=parent.id,
                                         variation=candidate.label))  # fmt: skip
        return out

    def _child(self, parent: Sample, k: int, candidate: _Candidate, keeps_question: bool) -> Sample:
        child = parent.model_copy(deep=True)
        child.id, child.sql = f"{parent.id}-v{k}", candidate.sql
        # Same meaning, same question; an evolved query asks something new.
        child.question = parent.question if keeps_question else None
        if keeps_question and parent.question:
            child.meta["question_from"] = "seed"
        for name in _DERIVED_FIELDS:
            setattr(child, name, None)
        child.candidates = []
        for key in _DERIVED_META:
            child.meta.pop(key, None)
        child.meta["seed_sql"] = parent.sql
        child.meta["seed_question"] = parent.question
        child.meta["variation"] = candidate.label
        child.meta.update(candidate.info)
        return child

    # ------------------------------------------------------------------ offline

    async def process_offline(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        plans, rejects = [], []
        for sample in batch:
            problem = self._input_problem(sample, ctx)
            if problem:
                rejects.append(self.reject(sample, problem))
                continue
            plans.append(self._offline_plan(sample, ctx))
        await self._check([p for p in plans if not p.problem], ctx, want_same=True)
        out = self._emit(plans, "offline")
        if self.params.paraphrase:
            self._paraphrase_offline(out.samples, ctx)
        out.rejects[:0] = rejects
        return out

    def _paraphrase_offline(self, samples: list[Sample], ctx: RunContext) -> None:
        """Another wording of each equivalent variant's question, from the realiser."""
        from sqlfoundry.synth.consistency_filter_heuristic import check
        from sqlfoundry.synth.realiser import RealiseError, realise_detail

        for child in _paraphrasable(samples):
            schema = ctx.schema(child.db_id)
            seen = {(child.question or "").strip().lower()}
            for attempt in range(_PARAPHRASE_ATTEMPTS):
                rng = random.Random(f"{ctx.seed}:{self.name}:{child.id}:paraphrase:{attempt}")
                try:
                    said = realise_detail(child.sql, schema, rng=rng, dialect=schema.dialect)
                except RealiseError as err:
                    child.meta["paraphrase_error"] = f"cannot realise SQL: {err.message}"
                    break
                if said.text.strip().lower() in seen:
                    continue
                seen.add(said.text.strip().lower())
                verdict = check(said.text, child.evidence, child.sql, schema, schema.dialect)
                if verdict.contradictions or verdict.coverage < 0.6:
                    continue
                child.meta["paraphrase"] = {"question": said.text, "style": said.style,
                                            "engine": "offline"}  # fmt: skip
                break
            else:
                child.meta["paraphrase_error"] = "no other wording passes the consistency check"

    def _offline_plan(self, sample: Sample, ctx: RunContext) -> _Plan:
        schema = ctx.schema(sample.db_id, sample_values=0)
        plan = _Plan(sample, dialect=sqlglot_dialect(schema.dialect or "sqlite"))
        try:
            tree = quoted_strings_to_literals(parse_one(sample.sql, plan.dialect), plan.dialect)
            seen = {normalize(tree, plan.dialect)}
        except SqlfoundryError as err:
            plan.problem = f"seed SQL does not parse: {err.message}"
            return plan
        facts = SchemaFacts.from_schema(schema)
        try:
            found = self.rewrites(tree, facts, self._rng(ctx, sample))
        except Exception as err:  # a rule tripping on an odd tree costs this record only
            log.warning("rewrite rules failed on %s (%s): %r", sample.id, sample.sql, err)
            plan.problem = f"rewrite rules failed: {type(err).__name__}"
            return plan
        for names, variant in found:
            try:
                sql = render(variant, plan.dialect)
                key = normalize(sql, plan.dialect)
            except SqlfoundryError:
                plan.failures["rewrite does not parse"] += 1
                continue
            if key in seen:
                continue
            seen.add(key)
            plan.candidates.append(_Candidate(sql, names))
            if len(plan.candidates) >= self.params.max_checks:
                break
        return plan

    def rewrites(
        self, tree: exp.Expression, facts: SchemaFacts, rng: random.Random
    ) -> list[tuple[list[str], exp.Expression]]:
        """Candidate rewrites in the drawn order: structural first, each maybe composed
        with a second rule, then surface-only ones."""
        allowed = set(self.params.rules if self.params.rules is not None else DEFAULT_RULES)
        if not self.params.cosmetic:
            allowed -= COSMETIC_RULES
        found = {k: v for k, v in applicable(tree, facts).items() if k in allowed}
        structural = sorted(k for k in found if RULES[k].kind == "structural")
        surface = sorted(k for k in found if RULES[k].kind == "surface")
        rng.shuffle(structural)
        rng.shuffle(surface)
        out: list[tuple[list[str], exp.Expression]] = []
        for name in structural:
            names, variant = [name], found[name]
            if rng.random() < self.params.compose:
                extra = sorted(
                    k
                    for k in applicable(variant, facts)
                    if k in allowed and k != name and k not in UNDOES[name]
                )
                if extra:
                    second = rng.choice(extra)
                    names, variant = [name, second], RULES[second](variant, facts)
            out.append((names, variant))
        # An alias-only change normalises to the original; pair surface rules up.
        for i, name in enumerate(surface):
            variant = found[name]
            partner = surface[(i + 1) % len(surface)] if len(surface) > 1 else None
            if partner is not None:
                on_top = RULES[partner](variant, facts)
                if on_top is not None:
                    out.append(([name, partner], on_top))
                    continue
            out.append(([name], variant))
        return out

    # ------------------------------------------------------------------ LLM

    def format_input(self, sample: Sample, ctx: RunContext, direction: str | None):
        """The chat messages asking for variants of one record's SQL."""
        schema = self._schemas.schema(ctx, sample.db_id)
        values = {
            "dialect": dialect_name(schema.dialect),
            "schema": self._schemas.ddl(ctx, sample.db_id),
            "sql": sample.sql,
        }
        if self.params.llm_mode == "rewrite":
            return render_prompt("sql_rewrite", **values)
        return render_prompt("sql_variation", direction=direction, **values)

    def format_output(self, texts: list[str], plan: _Plan, seen: set[str]) -> None:
        """Parse the answers into candidates, counting the ones that fail."""
        for text in texts:
            parsed = parse_sql(text)
            if not parsed.ok:
                plan.failures["no SQL in the answer"] += 1
                if plan.unparsed is None:
                    plan.unparsed = parsed.raw
                continue
            try:
                key = normalize(parsed.value, plan.dialect)
            except SqlfoundryError:
                plan.failures["SQL does not parse"] += 1
                continue
            if key in seen:
                plan.failures["duplicate"] += 1
                continue
            seen.add(key)
            info = {"variation_direction": plan.direction} if plan.direction else {}
            plan.candidates.append(_Candidate(parsed.value, "llm", info))

    async def process_llm(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        plans, rejects, requests = [], [], []
        for sample in batch:
            problem = self._input_problem(sample, ctx)
            if problem:
                rejects.append(self.reject(sample, problem))
                continue
            schema = ctx.schema(sample.db_id, sample_values=self.params.examples)
            plan = _Plan(sample, dialect=sqlglot_dialect(schema.dialect or "sqlite"))
            if self.params.llm_mode == "evolve":
                plan.direction = self._rng(ctx, sample).choice(self.params.directions)
            plans.append(plan)
            messages = self.format_input(sample, ctx, plan.direction)
            sampling = (
                {"temperature": self.params.temperature}
                if self.params.temperature is not None
                else {}
            )
            requests.append(LLMRequest(messages, n=self.params.n, params=sampling))
        items = await run_batch(ctx.llm, requests, operator=self.name)
        for plan, item in zip(plans, items, strict=True):
            if not item.ok:
                plan.problem = f"LLM request failed: {item.error.message}"
                continue
            try:
                seen = {normalize(plan.sample.sql, plan.dialect)}
            except SqlfoundryError as err:
                plan.problem = f"seed SQL does not parse: {err.message}"
                continue
            self.format_output([g.text for g in item.generations], plan, seen)
        await self._check([p for p in plans if not p.problem], ctx,
                          want_same=self.params.llm_mode == "rewrite")  # fmt: skip
        out = self._emit(plans, "llm")
        if self.params.paraphrase:
            await self._paraphrase_llm(out.samples, ctx)
        out.rejects[:0] = rejects
        return out

    async def _paraphrase_llm(self, samples: list[Sample], ctx: RunContext) -> None:
        """One question per equivalent variant, in a style of the question generator."""
        from sqlfoundry.llm import QUESTION_STYLES, question_generation_messages
        from sqlfoundry.synth.question_generator import QuestionGenerator

        children = _paraphrasable(samples)
        styles, requests = [], []
        for child in children:
            style = random.Random(f"{ctx.seed}:{self.name}:{child.id}:paraphrase").choice(
                sorted(QUESTION_STYLES)
            )
            schema = self._schemas.schema(ctx, child.db_id)
            messages = question_generation_messages(
                style,
                dialect=dialect_name(schema.dialect),
                schema=self._schemas.ddl(ctx, child.db_id),
                sql=child.sql.strip(),
                evidence=(child.evidence or "").strip(),
            )
            styles.append(style)
            requests.append(LLMRequest(messages))
        items = await run_batch(ctx.llm, requests, operator=self.name)
        for child, style, item in zip(children, styles, items, strict=True):
            if not item.ok:
                child.meta["paraphrase_error"] = f"LLM request failed: {item.error.message}"
                continue
            parsed, error = QuestionGenerator.format_output(item.text)
            if parsed is None:
                child.meta["paraphrase_error"] = f"unparsable answer: {error}"
                child.meta["paraphrase_raw"] = item.text or ""
                continue
            child.meta["paraphrase"] = {"question": parsed["question"], "style": style,
                                        "engine": "llm"}  # fmt: skip


_PARAPHRASE_ATTEMPTS = 12  # wordings drawn per variant before giving up


def _paraphrasable(samples: list[Sample]) -> list[Sample]:
    """The variants that kept their seed's question (equivalent ones with a question)."""
    return [s for s in samples if s.meta.get("question_from") == "seed" and s.question and s.sql]


def _verdict(seed: ExecResult, result: ExecResult, ordered: bool, want_same: bool) -> str | None:
    """Why a candidate fails the execution check, or None when it passes."""
    if result.status == "timeout":
        return "execution timed out"
    if not result.ok:
        return "execution failed"
    if seed.truncated or result.truncated:
        return "result too large to compare"
    same = results_match(seed.rows, result.rows, "spider", order_matters=ordered)
    if want_same:
        return None if same else "result differs"
    if not result.rows:
        return "empty result"
    return "same result as the seed" if same else None
