"""SQLSemanticFilter: drop records whose SQL runs but whose answer misleads.

The execution filter knows a query runs and returns rows; this step runs the
probes of :mod:`sqlfoundry.synth.semantic_probes` (on any engine: they are
plain read-only queries through the run's executor) and drops a record, with
one of these reasons, when

* ``tie at the LIMIT cutoff: ...``: ``ORDER BY ... LIMIT k`` where row k+1 sorts
  like row k, so which rows come back is arbitrary (kept when the question
  itself speaks of ties);
* ``fan-out: ...``: a join lists the same entity once per row of a table the
  answer does not show ("physicians that have a visit", one row per visit),
  unless the question says "for each visit";
* ``degenerate result: ...``: a single NULL, only zeros, or a per-group
  aggregate where every group holds one row;
* ``tautology: ...``: a WHERE condition that keeps every row it is applied to;
* ``contrived filter: ...`` (when ``contrived`` is among the checks, as in
  synthesis mode): a filter no person would write, see
  :mod:`sqlfoundry.synth.contrived`.

A kept record gets ``meta["semantic"]``: the checks that ran. A record the offline
generator already checked (``meta["semantic"]["by"] == "sql_generator"``, for the
same SQL text and at least the same checks) is passed on without running them
twice. Probes that fail
to run (an engine refusing an odd probe) count as passed and are listed under
``unchecked``, so a probe problem never drops a good record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from pydantic import Field
from sqlglot import exp

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.operator import Operator, Params, StepOutput
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.sql.literals import quoted_strings_to_literals
from sqlfoundry.sql.parse import parse_one
from sqlfoundry.synth.base import changed_copy, stamp
from sqlfoundry.synth.contrived import contrived_filters
from sqlfoundry.synth.semantic_probes import (
    Probe,
    degenerate,
    fan_out_probe,
    group_size_probe,
    keeps_every_row,
    one_row_per_group,
    question_says_per,
    repeated_entities,
    tautology_probes,
    tie_at_cutoff,
    tie_probe,
)

Check = Literal["ties", "fan_out", "degenerate", "tautology", "contrived"]
EXECUTION_CHECKS: tuple[str, ...] = ("ties", "fan_out", "degenerate", "tautology")
ALL_CHECKS: tuple[str, ...] = (*EXECUTION_CHECKS, "contrived")
_TIE_WORDS = re.compile(r"\b(ties?|tied|any one of|any of them|all of them)\b")


class SemanticParams(Params):
    """
    Attributes:
        checks: which checks run (``ties``, ``fan_out``, ``degenerate``,
            ``tautology``, ``contrived``).
    """

    checks: list[Check] = Field(default_factory=lambda: list(EXECUTION_CHECKS))


def _digest(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()[:16]


def checked_by_generator(sql: str) -> dict[str, Any]:
    """``meta["semantic"]`` of a query the offline generator already checked: every
    check, tied to this exact SQL text (a changed query is checked again)."""
    return {"checks": list(ALL_CHECKS), "by": "sql_generator", "sql": _digest(sql)}


def _already_checked(sample: Sample, checks: Sequence[str]) -> bool:
    info = sample.meta.get("semantic")
    return (
        isinstance(info, dict)
        and info.get("by") == "sql_generator"
        and info.get("sql") == _digest(sample.sql or "")
        and set(checks) <= set(info.get("checks") or ())
    )


def probes_for(
    sql: str | exp.Expression, schema: Any, dialect: str, checks: Sequence[str]
) -> list[Probe]:
    """Every probe the checks need for one query (empty when the SQL does not parse)."""
    if isinstance(sql, exp.Expression):
        tree = sql
    else:
        try:
            tree = quoted_strings_to_literals(parse_one(sql, dialect), dialect)
        except SqlfoundryError:
            return []
    return list(iter_probes(tree, schema, dialect, checks))


def iter_probes(
    tree: exp.Expression, schema: Any, dialect: str, checks: Sequence[str]
) -> Iterator[Probe]:
    """The probes of :func:`probes_for`, in its order, each built when asked for: a caller
    that stops at the first problem builds none of the rest."""
    if "ties" in checks and (probe := tie_probe(tree, dialect)):
        yield probe
    if "fan_out" in checks and (probe := fan_out_probe(tree, schema, dialect)):
        yield probe
    if "degenerate" in checks and (probe := group_size_probe(tree, dialect)):
        yield probe
    if "tautology" in checks:
        yield from tautology_probes(tree, dialect)


def probe_problem(
    probe: Probe, rows: Sequence[tuple[Any, ...]], question: str | None
) -> str | None:
    """The reject reason one probe's rows give, or None."""
    if probe.kind == "tie":
        if tie_at_cutoff(rows, probe) and not _asks_for_ties(question):
            return f"tie at the LIMIT cutoff: row {probe.limit + 1} sorts like row {probe.limit}"
    elif probe.kind == "fan_out":
        repeats = repeated_entities(rows, probe)
        if repeats and not question_says_per(question, probe.detail):
            return (
                f"fan-out: {repeats} row(s) repeat an entity, once per row of "
                f"{probe.detail}, which the answer does not show"
            )
    elif probe.kind == "group_size":
        if one_row_per_group(rows):
            return "degenerate result: every group holds a single row"
    elif probe.kind == "tautology" and keeps_every_row(rows):
        return f"tautology: {probe.detail} keeps every row"
    return None


def result_problem(rows: Sequence[tuple[Any, ...]]) -> str | None:
    """The reject reason for a query's own rows (a single NULL, only zeros), or None."""
    what = degenerate(rows)
    return f"degenerate result: {what}" if what else None


def _asks_for_ties(question: str | None) -> bool:
    return _TIE_WORDS.search((question or "").lower()) is not None


@register
class SQLSemanticFilter(Operator):
    """Drops records whose answer is arbitrary, repeated, degenerate or unfiltered;
    see the module doc."""

    name = "sql_semantic_filter"
    inputs = ("sql", "db_id")
    outputs = ("meta",)  # meta["semantic"]
    Params = SemanticParams

    async def process(self, batch: Sequence[Sample], ctx: RunContext) -> StepOutput:
        out = StepOutput()
        checks = list(self.params.checks)
        plans: list[tuple[Sample, list[Probe], list[str]]] = []
        passed: list[Sample] = []
        jobs: list[tuple[str, str]] = []
        for sample in batch:
            if not sample.sql or not sample.sql.strip():
                out.rejects.append(self.reject(sample, "missing field: SQL"))
                continue
            if not ctx.has_database(sample.db_id):
                out.rejects.append(self.reject(sample, f"unknown database: {sample.db_id}"))
                continue
            if _already_checked(sample, checks):
                # The generator ran these very checks on this very SQL: no need to run them twice.
                done = stamp(changed_copy(sample), self.name, "offline", reused=True)
                passed.append(done)
                continue
            schema = ctx.schema(sample.db_id, sample_values=0)
            # Parsed once for both: the contrived check works on a copy, the probes on it.
            try:
                tree = quoted_strings_to_literals(parse_one(sample.sql, schema.dialect),
                                                  schema.dialect)  # fmt: skip
            except SqlfoundryError:
                tree = None
            contrived = (
                contrived_filters(tree, schema, schema.dialect)
                if "contrived" in checks and tree is not None
                else []
            )
            probes = [] if tree is None else probes_for(tree, schema, schema.dialect, checks)
            plans.append((sample, probes, contrived))
            if "degenerate" in checks:
                jobs.append((sample.sql, sample.db_id))
            jobs.extend((p.sql, sample.db_id) for p in probes)
        results = iter(await ctx.execute(jobs))
        for sample, probes, contrived in plans:
            reasons: list[str] = []
            unchecked: list[str] = []
            if "degenerate" in checks:
                own = next(results)
                if own.ok and not own.truncated:
                    reason = result_problem(own.rows)
                    if reason:
                        reasons.append(reason)
            for probe in probes:
                result = next(results)
                if not result.ok:
                    unchecked.append(probe.kind)
                    continue
                reason = probe_problem(probe, result.rows, sample.question)
                if reason:
                    reasons.append(reason)
            reasons += [f"contrived filter: {c}" for c in contrived]
            record = changed_copy(sample)
            info: dict[str, Any] = {"checks": checks, "probes": len(probes)}
            if unchecked:
                info["unchecked"] = sorted(set(unchecked))
            if reasons:
                info["problems"] = reasons
                record.meta["semantic"] = info
                out.rejects.append(self.reject(record, reasons[0]))
                continue
            record.meta["semantic"] = info
            passed.append(stamp(record, self.name, "offline"))
        order = {s.id: i for i, s in enumerate(batch)}
        out.samples = sorted(passed, key=lambda s: order.get(s.id, 0))
        return out
