"""``exec_vote_selector``: self-consistency by execution, Alpha-SQL's selection rule.

Every candidate is executed; candidates are grouped by result (the set of rows,
as Alpha-SQL compares them); only groups with a valid result (at least one
non-NULL value) compete, unless none has one, then any group that ran does. The
largest group wins; between groups of the same size the faster wins, timed again
``timing_runs`` times each (the median) so one noisy run does not decide. The
winner is the first candidate of its group. No model is asked. Squrve's
``FastExecSelector``.

Times that differ by less than ``near_ms`` (or ``near_share`` of the fastest) are
the same time: the earliest of those groups wins. Sub-millisecond differences are
noise, and without this rule the same run on another machine (or another Ray
node) could pick another candidate.

``ties = "first"`` breaks a tie by candidate order instead of time, for
candidates that come ranked (the offline method's top k).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.operator import Params
from sqlfoundry.core.registry import register
from sqlfoundry.core.sample import Sample
from sqlfoundry.methods.select.execution import (
    CandidateRun,
    groups_of,
    keep_first,
    run_candidates,
)
from sqlfoundry.methods.stage import Stage


def contenders(runs: Sequence[CandidateRun]) -> list[list[CandidateRun]]:
    """The result groups that compete: those with a valid result, else all that ran."""
    groups = groups_of(runs)
    return [g for g in groups if g[0].valid] or groups


def tied_groups(runs: Sequence[CandidateRun]) -> list[list[CandidateRun]]:
    """The largest competing groups (one when there is no tie)."""
    contest = contenders(runs)
    if not contest:
        return []
    largest = max(len(g) for g in contest)
    return [g for g in contest if len(g) == largest]


def vote(
    runs: Sequence[CandidateRun],
    timing: Callable[[list[CandidateRun]], float] | None = None,
    *,
    near_ms: float = 0.0,
    near_share: float = 0.0,
) -> CandidateRun | None:
    """The winning run by the rule of the module doc; None when no candidate ran.

    Args:
        runs: every candidate's run.
        timing: milliseconds a group takes (default: its fastest member's measured
            time); asked only of groups tied on size.
        near_ms, near_share: groups within this many milliseconds (or this share)
            of the fastest count as equally fast; the earliest of them wins.
    """
    tied = tied_groups(runs)
    if not tied:
        return None
    if len(tied) == 1:
        return tied[0][0]
    clock = timing or (lambda group: min(r.elapsed_ms for r in group))
    times = {g[0].index: clock(g) for g in tied}
    fastest = min(times.values())
    margin = max(near_ms, near_share * fastest)
    return min(tied, key=lambda g: (times[g[0].index] > fastest + margin, g[0].index))[0]


class VoteParams(Params):
    """
    Attributes:
        ties: ``fastest`` (Alpha-SQL's rule) or ``first`` (the earliest candidate's group).
        timing_runs: executions per tied group when sizes tie (the median decides).
        near_ms, near_share: times this close to the fastest are the same time (the
            earliest candidate's group wins among them), so noise does not decide.
    """

    ties: Literal["fastest", "first"] = "fastest"
    timing_runs: int = Field(3, ge=1, le=50)
    near_ms: float = Field(1.0, ge=0)
    near_share: float = Field(0.25, ge=0)


@register
class ExecVoteSelector(Stage):
    """Writes ``pred_sql``: the candidate of the largest result group (see the module doc)."""

    name = "exec_vote_selector"
    kind = "select"
    method = "exec_vote"
    inputs = ("db_id", "candidates")
    outputs = ("pred_sql", "meta.selection")
    merge = {"pred_sql": "overwrite"}
    needs = frozenset({"executor", "databases"})
    Params = VoteParams

    async def run(self, sample: Sample, ctx: RunContext) -> None:
        runs = await run_candidates(ctx, sample.db_id, sample.candidates)
        tied = tied_groups(runs)
        timings: dict[int, float] = {}
        if self.params.ties == "first":
            winner = vote(runs, lambda group: group[0].index)
        else:
            for group in tied if len(tied) > 1 else ():
                results = await ctx.execute(
                    [(group[0].sql, sample.db_id)] * self.params.timing_runs
                )
                timings[group[0].index] = statistics.median(r.elapsed_ms for r in results)
            winner = vote(runs, (lambda group: timings[group[0].index]) if timings else None,
                          near_ms=self.params.near_ms, near_share=self.params.near_share)  # fmt: skip
        if winner is None:
            keep_first(sample, "exec_vote")
        sample.pred_sql = winner.sql
        sample.meta["selection"] = {
            "rule": "exec_vote",
            "chosen": winner.index,
            "groups": [[r.index for r in g] for g in groups_of(runs)],
        }
