"""Composition: a ``sequence`` of stages, and a ``tree`` of stages that share one input.

Both are operators that contain operators, so a composed method is still one
step of a core :class:`~sqlfoundry.core.pipeline.Pipeline` (the engine puts
the top-level stages of a sequence in the pipeline itself, each with its own
checkpoint, and uses these operators where nesting needs them).

``tree`` gives every child the same records, runs the children at once, and
merges their outputs field by field, each field by the rule its writer
declares (:attr:`Stage.merge`, else :data:`~sqlfoundry.methods.stage.DEFAULT_MERGE`;
for a child that is itself a sequence, the rule of the first stage in it that
writes the field, which makes the value the later ones refine; the tree's own
``merge`` parameter overrides all of them):

- ``overwrite``: the last child (in the order given) that wrote the field wins;
- ``append``: each child's SQL joins ``candidates`` (its ``candidates`` when it
  wrote several, else its ``pred_sql``); ``pred_sql`` is the first child's;
- ``union``: schema links and subsets are united (tables, columns, values).

Per-record usage is summed and errors are kept from every child. A record a
child drops (an operator's reject) gets that reason as an error and keeps the
other children's output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.operator import Operator, Params, Reject, StepOutput
from sqlfoundry.core.registry import build, register
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.calls import add_usage, usage_delta
from sqlfoundry.methods.stage import DEFAULT_MERGE, Merge, Stage, add_error, stage_requirements

StageSpec = str | dict[str, Any]


def build_spec(spec: StageSpec) -> Operator:
    """An operator from ``"name"`` or ``{"op": name, **params}``."""
    if isinstance(spec, str):
        return build(spec)
    if not isinstance(spec, dict) or "op" not in spec:
        raise ConfigError(
            f"a stage is a registered operator name or {{op = NAME, ...}}, got {spec!r}"
        )
    return build(spec["op"], {k: v for k, v in spec.items() if k != "op"})


def requirements(op: Operator) -> frozenset[str]:
    """The run services ``op`` needs, through any nesting."""
    if isinstance(op, Composite):
        out: frozenset[str] = frozenset()
        for child in op.children:
            out |= requirements(child)
        return out
    return stage_requirements(op)


def inputs_of(op: Operator) -> set[str]:
    """Fields ``op`` needs from its input records."""
    if isinstance(op, Composite):
        return op.needed_inputs()
    if isinstance(op, Stage):
        return set(op.required())
    return set(op.inputs)


def outputs_of(op: Operator) -> set[str]:
    """Fields ``op`` may write."""
    if isinstance(op, Composite):
        return op.written_outputs()
    return set(op.outputs)


def merge_rule(op: Operator, field: str) -> Merge:
    """How ``op``'s value of ``field`` merges into a record another operator already wrote."""
    if isinstance(op, Composite):
        return op.field_rule(field)
    if isinstance(op, Stage):
        return op.merge_rule(field)
    return DEFAULT_MERGE.get(field, "overwrite")


class CompositeParams(Params):
    """
    Attributes:
        stages: the contained stages: operator names or ``{op = NAME, ...params}`` tables.
    """

    stages: list[StageSpec] = Field(min_length=1)

    @field_validator("stages")
    @classmethod
    def _shape(cls, value: list[StageSpec]) -> list[StageSpec]:
        for spec in value:
            if not isinstance(spec, str) and not (isinstance(spec, dict) and "op" in spec):
                raise ValueError(f"each stage is an operator name or a table with 'op': {spec!r}")
        return value


class Composite(Operator):
    """An operator made of operators, built (and so checked) with it."""

    Params = CompositeParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.children: list[Operator] = [build_spec(s) for s in self.params.stages]

    def context_identity(self, ctx: Any) -> dict[str, Any]:
        return {"children": [c.context_identity(ctx) for c in self.children]}

    def requirements(self) -> frozenset[str]:
        """The run services the children need, through any nesting."""
        return requirements(self)

    def check_context(self, ctx: Any) -> None:
        """Check the run context gives every child what it needs (see :meth:`Stage.check_context`)."""
        for child in self.children:
            if isinstance(child, (Stage, Composite)):
                child.check_context(ctx)

    def needed_inputs(self) -> set[str]:
        """The record fields the composite reads from its input."""
        raise NotImplementedError

    def written_outputs(self) -> set[str]:
        """The record fields any child writes."""
        out: set[str] = set()
        for child in self.children:
            out |= outputs_of(child)
        return out

    def field_rule(self, field: str) -> Merge:
        # The first child writing the field decides: it makes the value, later ones refine it
        # (a sequence that generates then corrects is a generator to its siblings).
        """How the composite's value of ``field`` merges: as the first child writing it says."""
        for child in self.children:
            if field in outputs_of(child):
                return merge_rule(child, field)
        return DEFAULT_MERGE.get(field, "overwrite")


async def run_in_order(
    operators: Sequence[Operator], batch: Sequence[Sample], ctx: Any
) -> list[Sample]:
    """Run ``operators`` one after the other on ``batch``; rejects become record errors."""
    current = list(batch)
    for op in operators:
        result = await op.process(current, ctx)
        current = restore_rejects(current, result)
    return current


def restore_rejects(given: Sequence[Sample], result: StepOutput) -> list[Sample]:
    """``result``'s records in ``given``'s order, a dropped record kept with the reason as error."""
    by_id: dict[str, Sample] = {s.id: s for s in result.samples}
    for reject in result.rejects:
        sample, operator, reason = _reject_parts(reject)
        if sample.id not in by_id:
            record = sample.model_copy(deep=True)
            add_error(record, operator, reason, kind="rejected")
            by_id[sample.id] = record
    out = [by_id.pop(s.id, s) for s in given]
    out.extend(by_id.values())  # an operator that expands records: keep the extra ones
    return out


def _reject_parts(reject: Reject | dict[str, Any]) -> tuple[Sample, str, str]:
    if isinstance(reject, Reject):
        return reject.sample, reject.operator, reject.reason
    return Sample(**reject["sample"]), reject["operator"], reject["reason"]


@register
class SequenceOperator(Composite):
    """``stages`` one after the other, as one step (for nesting inside a tree)."""

    name = "sequence"

    def needed_inputs(self) -> set[str]:
        """The fields a child reads before an earlier child writes them."""
        needed: set[str] = set()
        written: set[str] = set()
        for child in self.children:
            needed |= inputs_of(child) - written
            written |= outputs_of(child)
        return needed

    async def process(self, batch: Sequence[Sample], ctx: Any) -> StepOutput:
        self.check_context(ctx)
        return StepOutput(samples=await run_in_order(self.children, batch, ctx))


class TreeParams(CompositeParams):
    """
    Attributes:
        parallel: run the children at once (their LLM calls overlap); else in order.
        merge: per-field merge rules overriding what the children declare.
    """

    parallel: bool = True
    merge: dict[str, Merge] = Field(default_factory=dict)


@register
class TreeOperator(Composite):
    """The same records to every child; outputs merged by the declared rules (module doc)."""

    name = "tree"
    Params = TreeParams

    def needed_inputs(self) -> set[str]:
        """The fields any branch reads (each branch sees the input record)."""
        needed: set[str] = set()
        for child in self.children:
            needed |= inputs_of(child)
        return needed

    def field_rule(self, field: str) -> Merge:
        """The merge rule of ``field``: the tree's own ``merge`` setting, else the first branch's."""
        if field in self.params.merge:
            return self.params.merge[field]
        return super().field_rule(field)

    async def process(self, batch: Sequence[Sample], ctx: Any) -> StepOutput:
        self.check_context(ctx)
        if self.params.parallel:
            branches = await asyncio.gather(
                *(run_in_order([child], batch, ctx) for child in self.children)
            )
        else:
            branches = [await run_in_order([child], batch, ctx) for child in self.children]
        by_id = [{s.id: s for s in branch} for branch in branches]
        merged = []
        for sample in batch:
            outputs = [(child, found[sample.id]) for child, found in zip(self.children, by_id, strict=True)
                       if sample.id in found]  # fmt: skip
            merged.append(self.merge_record(sample, outputs))
        return StepOutput(samples=merged)

    def merge_record(self, base: Sample, outputs: list[tuple[Operator, Sample]]) -> Sample:
        """``base`` with every child's output merged in (see the module doc)."""
        out = base.model_copy(deep=True)
        base_candidates = len(base.candidates)
        appended: list[str] = list(base.candidates)
        first_sql: str | None = None
        for child, record in outputs:
            for field in outputs_of(child) | _changed_fields(base, record):
                if field in ("meta", "candidates") or field.startswith("meta."):
                    continue
                rule = (
                    self.field_rule(field)
                    if field in self.params.merge
                    else merge_rule(child, field)
                )
                value = getattr(record, field, None)
                if field == "pred_sql" and rule == "append":
                    new = (
                        record.candidates[base_candidates:]
                        if len(record.candidates) > base_candidates
                        else []
                    )
                    if new:
                        appended.extend(new)
                    elif value and value != base.pred_sql:
                        appended.append(value)
                    if first_sql is None and value and value != base.pred_sql:
                        first_sql = value
                elif rule == "union":
                    setattr(out, field, _union(getattr(out, field, None), value))
                elif value not in (None, "", [], {}):
                    setattr(out, field, value)
            _merge_meta(out.meta, base.meta, record.meta)
        if len(appended) > len(base.candidates):
            out.candidates = appended
        if first_sql is not None and not base.pred_sql:
            out.pred_sql = first_sql
        return out


def _changed_fields(base: Sample, record: Sample) -> set[str]:
    fields = ("pred_sql", "schema_subset", "schema_links", "prompt", "cot")
    return {f for f in fields if getattr(base, f) != getattr(record, f)}


def _union(left: Any, right: Any) -> Any:
    """Union of two schema-link or schema-subset dicts (lists united in order)."""
    if not left:
        return right
    if not right:
        return left
    if isinstance(left, dict) and isinstance(right, dict):
        out = dict(left)
        for key, value in right.items():
            if key in out and isinstance(out[key], list) and isinstance(value, list):
                out[key] = list(dict.fromkeys([*out[key], *value]))
            elif key not in out or not out[key]:
                out[key] = value
        return out
    return right


def _merge_meta(out: dict[str, Any], base: dict[str, Any], record: dict[str, Any]) -> None:
    """Sum usage, keep every new error and provenance entry, overwrite the rest."""
    for key, value in record.items():
        if key == "usage":
            fresh = usage_delta(base.get("usage") or {}, value)
            add_usage(out.setdefault("usage", {}), fresh)
        elif key in ("errors", "provenance"):
            new = value[len(base.get(key) or []) :]
            if new:
                out.setdefault(key, []).extend(new)
        elif base.get(key) != value:
            out[key] = value
