"""Steps that run as one stage: each batch goes through every step of the stage in turn.

In a run with no LLM every step is CPU work, and a batch's records need nothing from
other batches, so the local executor joins consecutive steps into a stage: the first
step cuts its input into batches as usual, and batch k of every later step is the
output of batch k of the step before it. A batch stays in one process from the
stage's first step to its last, as records in memory: it is not encoded, written,
read and decoded again between steps, and what a step learnt about a record's SQL
(its parse tree, in :func:`sqlfoundry.sql.parse.read_tree`'s cache) is still there
for the next one. Every step still writes its own checkpoint files for each batch.

A step folder records its slicing in ``batch-size``: a number (it cuts its input
into batches of that many records) or ``follows`` (its batch k is the step before's
batch k). Steps that turn one record into many (``max_batch``) start a stage and end
it, so no batch grows past the size the step sets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.core.batch_failures import batch_failures
from sqlfoundry.core.executors.final import Ending, FinalPart, end_batch
from sqlfoundry.core.runs import count_reasons, read_jsonl_dicts
from sqlfoundry.core.sample import Sample

FOLLOWS = "follows"


@dataclass(frozen=True)
class Link:
    """One step of a stage, as a batch's job sees it."""

    key: str  # the step's signature: a worker builds its operator once per key
    op_class: type
    params: dict[str, Any]
    data_path: Path
    reject_path: Path
    written: bool  # the batch's checkpoint of this step is there: read it, do not run


@dataclass
class LinkResult:
    """What one step did to one batch (None for a step whose checkpoint was read)."""

    kept: int
    rejected: int
    reasons: dict[str, int] = field(default_factory=dict)
    unfinished: bool = False  # the batch had failed LLM requests at this step or before
    seconds: float = 0.0
    final: FinalPart | None = None  # the batch's output, when this is the run's last step


# (the batch's output, data path, rejects path, unfinished) -> (kept, rejects as dicts)
Write = Callable[[Any, Path, Path, bool], tuple[int, list[dict[str, Any]]]]


async def run_links(links: Sequence[Link], operators: Sequence[Any], records: list[Sample],
                    ctx: Any, unfinished: bool, write: Write, *, in_thread: bool = False,
                    ending: Ending | None = None) -> list[LinkResult | None]:  # fmt: skip
    """Take ``records`` (batch k of the stage's input) through each link in turn.

    A link whose checkpoint is written is read instead of run, when a later link needs
    its records. ``write(result, data_path, reject_path, unfinished)`` writes a batch's
    checkpoint and returns (records kept, rejects as dicts); ``in_thread`` runs it in a
    thread, so its syncs to disk do not hold up the event loop (in a worker nothing
    else waits on it). ``ending``: the last link is the run's last step, and its result
    carries the batch's output (see :mod:`sqlfoundry.core.executors.final`)."""
    results: list[LinkResult | None] = []
    last_to_run = max(i for i, link in enumerate(links) if not link.written)
    for i, (link, op) in enumerate(zip(links, operators, strict=True)):
        if i > last_to_run:
            break
        if link.written:
            records = [Sample(**data) for data in read_jsonl_dicts(link.data_path)]
            results.append(None)
            continue
        start = time.perf_counter()
        with batch_failures() as failures:
            output = await op.process(records, ctx)
        # A failed LLM request leaves this batch, and its records in every later step,
        # to be made again by a re-run.
        unfinished = unfinished or failures[0] > 0
        args = (output, link.data_path, link.reject_path, unfinished)
        kept, dropped = await asyncio.to_thread(write, *args) if in_thread else write(*args)
        reasons: dict[str, int] = {}
        rejected = count_reasons(dropped, reasons)
        records = output.samples
        seconds = time.perf_counter() - start
        final = end_batch(ending, records, ctx) if ending and i == len(links) - 1 else None
        results.append(LinkResult(kept, rejected, reasons, unfinished, seconds, final))
    results.extend([None] * (len(links) - len(results)))
    return results
