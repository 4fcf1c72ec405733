"""A run's ``data.jsonl``, made batch by batch where the last step's batches are made.

The job that makes batch k of a run's last step (a pool worker, or this process) holds
its records in memory: it also encodes their ``data.jsonl`` lines and, given a
:class:`~sqlfoundry.core.runs.Fold`, its part of the run's summary. This process
writes the lines in batch order as the batches arrive and merges the parts, so the
run's output is written while the steps still run, and nothing reads the last
checkpoint back at the end to write it. A batch that arrives with no lines (its
checkpoint was there from an earlier run, or its job could not take the view) is read
from its checkpoint instead: the file is the same bytes either way.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlfoundry.core.io import encode_line, write_chunks
from sqlfoundry.core.runs import Fold, read_jsonl_dicts
from sqlfoundry.core.sample import Sample


@dataclass(frozen=True)
class Ending:
    """What the job of a last-step batch makes besides its checkpoint (sent to workers:
    the functions are module-level)."""

    view: Callable[[Sample], dict[str, Any]]  # a record as data.jsonl holds it
    fold: Fold | None = None


@dataclass
class FinalPart:
    """One last-step batch's ``data.jsonl`` lines (without newlines) and summary part."""

    lines: list[str]
    folded: Any = None


def end_batch(ending: Ending, samples: Sequence[Sample], ctx: Any) -> FinalPart:
    """The output of one last-step batch, from its records in memory."""
    view = ending.view
    lines = [encode_line(view(s)) for s in samples]
    return FinalPart(lines, ending.fold.batch(samples, ctx) if ending.fold else None)


class FinalWriter:
    """Writes the last step's batches to an open ``data.jsonl`` in batch order.

    Args:
        fh, path: the open output and its name (for errors).
        data_path: batch k -> the last step's checkpoint of batch k.
        ending: how a record becomes a line, and the run's fold (``sent``: the same, for
            a pool worker; None when it cannot go there).
        ctx: the run's context, for the fold of a batch read back here.
    """

    def __init__(self, fh: IO[str], path: Path, data_path: Callable[[int], Path],
                 ending: Ending, ctx: Any) -> None:  # fmt: skip
        self.fh, self.path, self.data_path = fh, path, data_path
        self.ending, self.ctx = ending, ctx
        # What a pool worker gets: the view and the fold go by reference, and one a worker
        # cannot take (a lambda) leaves its batches to be read back from their checkpoints.
        self.sent = ending if _sendable(ending) else None
        fold = ending.fold
        self.folded = fold.start() if fold is not None else None
        self.count = 0
        self.next = 0  # the first batch not yet written
        self.waiting: dict[int, FinalPart | None] = {}  # arrived out of order

    def arrived(self, k: int, part: FinalPart | None) -> None:
        """Batch k is written to its checkpoint; ``part`` is its output, or None to read
        it from the checkpoint."""
        self.waiting[k] = part
        while self.next in self.waiting:
            self._write(self.next, self.waiting.pop(self.next))
            self.next += 1

    def close(self, batches: Sequence[int]) -> int:
        """Write what is left of ``batches`` (the last step's batch numbers, in order);
        returns how many lines the file holds."""
        for k in batches:
            if k >= self.next:
                self._write(k, self.waiting.pop(k, None))
        self.waiting.clear()
        return self.count

    def _write(self, k: int, part: FinalPart | None) -> None:
        if part is None:
            records = [Sample(**data) for data in read_jsonl_dicts(self.data_path(k))]
            part = end_batch(self.ending, records, self.ctx)
        write_chunks(self.fh, self.path, ["".join(line + "\n" for line in part.lines)])
        self.count += len(part.lines)
        fold = self.ending.fold
        if fold is not None:
            self.folded = fold.merge(self.folded, part.folded)


def _sendable(ending: Ending) -> bool:
    """Whether ``ending`` can go to a worker process (its functions pickle by name)."""
    try:
        pickle.dumps(ending)
    except (pickle.PicklingError, TypeError, AttributeError):
        return False
    return True
