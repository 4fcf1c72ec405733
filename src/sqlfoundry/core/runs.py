"""Run storage shared by every executor: step signatures, step folders, the run's files.

A step's folder is ``RUN_DIR/steps/<nn>-<operator>-<signature>``; its ``done`` file,
written last and atomically, marks a finished step whatever executor wrote it. The
run's own files (``data.jsonl``, ``rejects.jsonl``, ``manifest.json``) are written
from streams, so a run never holds its records in memory to finish.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text, decode_line
from sqlfoundry.core.sample import Sample

DONE = "done"


def records_signature(samples: Iterable[Sample]) -> str:
    """A short hash of the records' content: the input part of a step's signature."""
    digest = hashlib.sha256()
    for s in samples:
        digest.update(json.dumps(s.to_json_dict(), sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Step:
    """One step of a run: its operator, content signature and checkpoint folder."""

    number: int
    op: Any
    signature: str
    dir: Path

    @property
    def finished(self) -> bool:
        """Whether the step's ``done`` marker is there."""
        return (self.dir / DONE).exists()

    def mark_done(self) -> None:
        """Write the ``done`` marker (atomically): every record of the step is on disk."""
        atomic_write_text(self.dir / DONE, "")


def plan_steps(operators: Sequence[Any], input_signature: str, steps_root: Path,
               ctx: Any) -> list[Step]:  # fmt: skip
    """Each operator's signature chains the one before it, so changing a step changes
    the folders of that step and of every step after it, and only those run again."""
    steps = []
    signature = input_signature
    for number, op in enumerate(operators, start=1):
        signature = hashlib.sha256(f"{signature}:{op.signature(ctx)}".encode()).hexdigest()[:16]
        steps.append(
            Step(number, op, signature, steps_root / f"{number:02d}-{op.name}-{signature}")
        )
    return steps


@dataclass(frozen=True)
class Fold:
    """A summary of a run's final records, made a part per batch where the batch is made
    (a pool worker, or this process) and merged in batch order.

    The functions go to worker processes: module-level functions, not lambdas.

    Attributes:
        start: () -> the summary of no records.
        batch: (records, ctx) -> the part of one batch of records, in order.
        merge: (summary so far, the next part) -> the summary of both.
    """

    start: Callable[[], Any]
    batch: Callable[[Sequence[Sample], Any], Any]
    merge: Callable[[Any, Any], Any]

    def over(self, records: Iterable[Sample], ctx: Any, size: int = 256) -> Any:
        """The summary of ``records``, folded ``size`` records at a time."""
        folded, chunk = self.start(), []
        for record in records:
            chunk.append(record)
            if len(chunk) == size:
                folded, chunk = self.merge(folded, self.batch(chunk, ctx)), []
        return self.merge(folded, self.batch(chunk, ctx)) if chunk else folded


@dataclass
class StepReport:
    operator: str
    signature: str
    inputs: int
    outputs: int
    rejects: int
    seconds: float
    reused: bool
    reasons: dict[str, int] = field(default_factory=dict)


class RunResult:
    """What a run made. ``samples`` and ``rejects`` are read from the run's files the
    first time they are asked for; :meth:`iter_samples` streams them instead.

    Args:
        samples, rejects: the records and rejects, when already in memory.
        steps: one report per step.
        read_samples, read_rejects: how to stream them from storage otherwise.
        count: how many samples there are (without reading them).
        folded: the run's :class:`Fold` of its records, when it was given one.
    """

    def __init__(
        self,
        samples: Sequence[Sample] | None = None,
        rejects: Sequence[dict[str, Any]] | None = None,
        steps: Sequence[StepReport] = (),
        *,
        read_samples: Callable[[], Iterator[Sample]] | None = None,
        read_rejects: Callable[[], Iterator[dict[str, Any]]] | None = None,
        count: int | None = None,
        folded: Any = None,
    ) -> None:
        self.folded = folded
        if samples is not None:
            self.__dict__["samples"] = list(samples)
        if rejects is not None:
            self.__dict__["rejects"] = list(rejects)
        self.steps = list(steps)
        self._read_samples = read_samples or (lambda: iter(self.samples))
        self._read_rejects = read_rejects or (lambda: iter(self.rejects))
        self.count = count if count is not None else (len(samples) if samples is not None else None)

    @cached_property
    def samples(self) -> list[Sample]:
        return list(self._read_samples())

    @cached_property
    def rejects(self) -> list[dict[str, Any]]:
        return list(self._read_rejects())

    def iter_samples(self) -> Iterator[Sample]:
        """The records in order, one at a time (from storage when not already loaded)."""
        if "samples" in self.__dict__:
            return iter(self.__dict__["samples"])
        return self._read_samples()

    def iter_rejects(self) -> Iterator[dict[str, Any]]:
        """The rejects in order, one at a time."""
        if "rejects" in self.__dict__:
            return iter(self.__dict__["rejects"])
        return self._read_rejects()


def read_jsonl_dicts(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a file written by a run, one per line, streamed."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield decode_line(line)


def finish_run(
    run_dir: Path,
    reports: Sequence[StepReport],
    records: Callable[[], Iterator[Sample]],
    rejects: Callable[[], Iterator[dict[str, Any]]],
    record: Callable[[Sample], dict[str, Any]] | None,
    *,
    fold: Fold | None = None,
    ctx: Any = None,
    written: tuple[int, Any] | None = None,
) -> RunResult:
    """Write ``data.jsonl`` (in the ``record`` view), ``rejects.jsonl`` and ``manifest.json``
    from streams, and return a result that reads them back on demand.

    ``fold`` is folded over the records after they are written; ``written``: (records,
    fold) of a ``data.jsonl`` the executor wrote as the run went (see
    :mod:`sqlfoundry.core.executors.final`)."""
    if written is not None:
        count, folded = written
    else:
        view = record or Sample.to_json_dict
        count = atomic_write_jsonl(run_dir / "data.jsonl", (view(s) for s in records()))
        folded = fold.over(records(), ctx) if fold is not None else None
    reject_count = atomic_write_jsonl(run_dir / "rejects.jsonl", rejects())
    manifest = {"steps": [r.__dict__ for r in reports], "records": count, "rejects": reject_count}
    atomic_write_text(run_dir / "manifest.json", json.dumps(manifest, indent=2))
    rejects_file = run_dir / "rejects.jsonl"
    return RunResult(steps=reports, read_samples=records, count=count, folded=folded,
                     read_rejects=lambda: read_jsonl_dicts(rejects_file))  # fmt: skip


def count_reasons(rejects: Iterable[dict[str, Any]], into: dict[str, int]) -> int:
    """Add each reject's reason to ``into``; returns how many there were."""
    n = 0
    for r in rejects:
        into[r["reason"]] = into.get(r["reason"], 0) + 1
        n += 1
    return n
