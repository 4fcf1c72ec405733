"""``llm_selector``: the model chooses among candidates that return different results.

Candidates are executed and grouped by result; one representative per group
(its first candidate) competes, failing ones only when nothing ran. One group
left means no question to ask. Otherwise:

- ``listwise`` (template ``sql_selection``): every representative with the
  first rows of its result in one prompt; the answer names one by number;
- ``pairwise`` (template ``sql_pairwise``, CHESS-style): each pair of
  representatives is compared once; the most wins is chosen, ties to the larger
  group, then to the earlier candidate.

At most ``max_candidates`` representatives compete (the largest groups).
An unusable answer falls back to the largest group and is recorded.
Squrve's ``CHESSSelector`` is the pairwise mode.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Literal

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm.templates import render_prompt
from sqlfoundry.methods.calls import ask, json_of
from sqlfoundry.methods.schema_view import SchemaTexts
from sqlfoundry.methods.select.execution import CandidateRun, groups_of, preview, run_candidates
from sqlfoundry.methods.stage import Stage, StageError, add_error
from sqlfoundry.synth.prompt_generator import dialect_name


class LLMSelectorParams(Params):
    """
    Attributes:
        mode: ``listwise`` (one prompt) or ``pairwise`` (one prompt per pair).
        max_candidates: representatives (distinct results) that compete at most.
        preview_rows: result rows shown per candidate.
        examples: example values per column in the DDL.
    """

    mode: Literal["listwise", "pairwise"] = "listwise"
    max_candidates: int = Field(5, ge=2, le=20)
    preview_rows: int = Field(5, ge=0, le=50)
    examples: int = Field(3, ge=0, le=10)


def shown(run: CandidateRun, rows: int) -> str:
    """One candidate as the selection prompt shows it: its SQL and a preview of its rows."""
    return f"```sql\n{run.sql}\n```\nResult:\n{preview(run, rows)}"


@register
class LLMSelector(Stage):
    """Writes ``pred_sql``: the candidate the model judges right (see the module doc)."""

    name = "llm_selector"
    kind = "select"
    method = "llm"
    inputs = ("question", "db_id", "candidates")
    uses = ("evidence", "schema_subset")
    outputs = ("pred_sql", "meta.selection")
    merge = {"pred_sql": "overwrite"}
    needs = frozenset({"llm", "executor", "databases"})
    Params = LLMSelectorParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.texts = SchemaTexts(self.params.examples)

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        runs = await run_candidates(ctx, sample.db_id, sample.candidates)
        groups = groups_of(runs)
        if groups:
            groups.sort(key=lambda g: (-len(g), g[0].index))
            groups = groups[: self.params.max_candidates]
            sizes = {g[0].index: len(g) for g in groups}
            reps = sorted((g[0] for g in groups), key=lambda r: r.index)
        else:  # nothing ran: the model may still tell a fixable query from a hopeless one
            reps = [r for r in runs if r.sql][: self.params.max_candidates]
            sizes = {r.index: 1 for r in reps}
        if not reps:
            raise StageError("no candidate to choose from", kind="input")
        if len(reps) == 1:
            self._choose(sample, reps[0], "single result", 0)
            return
        common = {
            "dialect": dialect_name(self.texts.schema(ctx, sample).dialect),
            "schema": self.texts.text(ctx, sample),
            "question": sample.question,
            "evidence": sample.evidence,
        }
        if self.params.mode == "listwise":
            chosen, calls = await self._listwise(sample, ctx, reps, sizes, common), 1
        else:
            chosen, calls = await self._pairwise(sample, ctx, reps, sizes, common)
        self._choose(sample, chosen, self.params.mode, calls)

    def _choose(self, sample: Sample, run: CandidateRun, how: str, calls: int) -> None:
        sample.pred_sql = run.sql
        sample.meta["selection"] = {"rule": f"llm/{how}", "chosen": run.index, "calls": calls}

    @staticmethod
    def _fallback(reps: list[CandidateRun], sizes: dict[int, int]) -> CandidateRun:
        return min(reps, key=lambda r: (-sizes[r.index], r.index))

    async def _listwise(self, sample, ctx, reps, sizes, common) -> CandidateRun:
        listing = "\n\n".join(f"Candidate {i}:\n{shown(r, self.params.preview_rows)}"
                              for i, r in enumerate(reps, start=1))  # fmt: skip
        (text,) = await ask(
            ctx, sample, self.name, render_prompt("sql_selection", candidates=listing, **common)
        )
        try:
            choice = int(json_of(text, dict, "selection").get("choice"))
            if not 1 <= choice <= len(reps):
                raise ValueError(choice)
        except (StageError, TypeError, ValueError):
            add_error(sample, self.name, "unparsable selection: no valid candidate number; "
                      "kept the largest group", kind="parse", raw=text)  # fmt: skip
            return self._fallback(reps, sizes)
        return reps[choice - 1]

    async def _pairwise(self, sample, ctx, reps, sizes, common) -> tuple[CandidateRun, int]:
        wins = dict.fromkeys((r.index for r in reps), 0)
        calls = 0
        for first, second in itertools.combinations(reps, 2):
            messages = render_prompt("sql_pairwise", first=shown(first, self.params.preview_rows),
                                     second=shown(second, self.params.preview_rows), **common)  # fmt: skip
            (text,) = await ask(ctx, sample, self.name, messages)
            calls += 1
            try:
                answer = (
                    str(json_of(text, dict, "pairwise choice").get("choice", "")).strip().upper()
                )
            except StageError as err:
                add_error(sample, self.name, err.message, kind="parse", raw=text)
                continue
            if answer in ("A", "B"):
                wins[(first if answer == "A" else second).index] += 1
            else:
                add_error(sample, self.name, f"unparsable pairwise choice: {json.dumps(answer)}",
                          kind="parse", raw=text)  # fmt: skip
        best = min(reps, key=lambda r: (-wins[r.index], -sizes[r.index], r.index))
        return best, calls
