"""Pipeline: an ordered list of operators, run with checkpoints in a run directory.

Layout of a run directory::

    RUN_DIR/
      steps/<nn>-<operator>-<signature>/   one folder per finished or running step
        batch-<k>.jsonl                    output of batch k (written atomically)
        rejects-<k>.jsonl
        done                               present once every batch is written
      data.jsonl                           the final records
      rejects.jsonl                        every reject: operator, reason, record
      manifest.json                        steps, counts, timings

A step's signature hashes its operator's name, version and parameters with
the signature of its input (the previous step, or the seed records). Running
the same pipeline again reuses every finished step and every finished batch of
an interrupted step; changing a step changes its signature and those of the
steps after it, so exactly those run again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError, InputError
from sqlfoundry.core.io import atomic_write_jsonl, atomic_write_text
from sqlfoundry.core.operator import Operator, Reject
from sqlfoundry.core.progress import batch_progress
from sqlfoundry.core.registry import build
from sqlfoundry.core.sample import Sample

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 256


def records_signature(samples: Sequence[Sample]) -> str:
    """A short hash of the records' content: the input part of a step's signature."""
    digest = hashlib.sha256()
    for s in samples:
        digest.update(json.dumps(s.to_json_dict(), sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


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


@dataclass
class RunResult:
    samples: list[Sample]
    rejects: list[dict[str, Any]]
    steps: list[StepReport]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class Pipeline:
    """An ordered list of operators; build it in Python or with :meth:`from_config`."""

    def __init__(
        self,
        operators: Sequence[Operator],
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrent_batches: int = 1,
    ):
        """
        Args:
            operators: the steps, in order.
            batch_size: records per batch (and per checkpoint file).
            concurrent_batches: batches of one step worked on at once. More than 1
                keeps an LLM endpoint busy while another batch waits on its slowest
                request; output order and checkpoints stay the same.
        """
        if not operators:
            raise ConfigError("a pipeline needs at least one operator")
        if batch_size < 1 or concurrent_batches < 1:
            raise ConfigError("batch_size and concurrent_batches must be at least 1")
        self.operators = list(operators)
        self.batch_size = batch_size
        self.concurrent_batches = concurrent_batches

    @classmethod
    def from_config(
        cls,
        steps: Sequence[dict[str, Any]] | Mapping[str, Any],
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrent_batches: int = 1,
    ) -> Pipeline:
        """Build from ``[{"op": name, **params}, ...]`` (the ``[[steps]]`` of a TOML file),
        or from a whole config mapping: ``steps`` plus, optionally, ``batch_size`` and
        ``concurrent_batches`` (at the top or in a ``pipeline`` section).

        Operator names are looked up in the registry (see :mod:`sqlfoundry.core.registry`).

        Raises:
            ConfigError: a step without ``op``, an unknown operator or a bad parameter.
        """
        if isinstance(steps, Mapping):
            section = steps.get("pipeline") if isinstance(steps.get("pipeline"), Mapping) else steps
            batch_size = section.get("batch_size", batch_size)
            concurrent_batches = section.get("concurrent_batches", concurrent_batches)
            steps = section.get("steps") or steps.get("steps")
            if not isinstance(steps, list):
                raise ConfigError(
                    "a pipeline config needs a list of steps ([[steps]] with op = ...)"
                )
        operators = []
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or "op" not in step:
                raise ConfigError(f"step {i + 1} needs an 'op' naming a registered operator")
            params = {k: v for k, v in step.items() if k != "op"}
            operators.append(build(step["op"], params))
        return cls(operators, batch_size=batch_size, concurrent_batches=concurrent_batches)

    @classmethod
    def from_file(cls, path: str | Path) -> Pipeline:
        """Build from a TOML, YAML or JSON file holding ``[[steps]]`` (see :meth:`from_config`).

        Raises:
            ConfigError: the file cannot be read, or :meth:`from_config` refuses it;
                the message names the file.
        """
        from sqlfoundry.core.config import read_config

        try:
            return cls.from_config(read_config(path))
        except ConfigError as error:
            if error.file is not None:
                raise
            raise ConfigError(error.message, file=str(path), hint=error.hint) from None

    def run(
        self,
        samples: Sequence[Sample],
        run_dir: str | Path,
        ctx: Any = None,
        *,
        progress: Callable[[str, float, int], None] | None = None,
        input_rejects: Sequence[dict[str, Any]] = (),
        record: Callable[[Sample], dict[str, Any]] | None = None,
    ) -> RunResult:
        """Run every step over ``samples``, resuming from what ``run_dir`` already holds.

        Args:
            progress: called with (operator, 0, batches) as a step starts, then with
                (operator, batches done, batches) as batches finish;
                between, "done" may be fractional when an operator reports how far
                into its batch it is (:func:`sqlfoundry.core.progress.report`).
            input_rejects: problems found while reading the input (bad lines...);
                they head ``rejects.jsonl`` so nothing is lost silently.
            record: how a final sample is written to ``data.jsonl`` (the
                synthesis output uses ``SQL`` and ``cot_reasoning``, for example);
                ``Sample.to_json_dict`` by default.
        """
        return asyncio.run(
            self.arun(
                samples, run_dir, ctx, progress=progress, input_rejects=input_rejects, record=record
            )  # fmt: skip
        )

    async def arun(
        self,
        samples: Sequence[Sample],
        run_dir: str | Path,
        ctx: Any = None,
        *,
        progress: Callable[[str, float, int], None] | None = None,
        input_rejects: Sequence[dict[str, Any]] = (),
        record: Callable[[Sample], dict[str, Any]] | None = None,
    ) -> RunResult:
        """:meth:`run`, for callers already inside an event loop."""
        run_dir = Path(run_dir)
        (run_dir / "steps").mkdir(parents=True, exist_ok=True)
        current = list(samples)
        signature = records_signature(current)
        all_rejects: list[dict[str, Any]] = list(input_rejects)
        reports = []
        for number, op in enumerate(self.operators, start=1):
            signature = hashlib.sha256(f"{signature}:{op.signature(ctx)}".encode()).hexdigest()[:16]
            step_dir = run_dir / "steps" / f"{number:02d}-{op.name}-{signature}"
            start = time.perf_counter()
            reused = (step_dir / "done").exists()
            given = len(current)
            current, rejects = await self._run_step(op, current, step_dir, ctx, progress)
            reasons: dict[str, int] = {}
            for r in rejects:
                reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
            reports.append(StepReport(op.name, signature, given, len(current), len(rejects),
                                      time.perf_counter() - start, reused, reasons))  # fmt: skip
            all_rejects.extend(rejects)
        view = record or Sample.to_json_dict
        atomic_write_jsonl(run_dir / "data.jsonl", (view(s) for s in current))
        atomic_write_jsonl(run_dir / "rejects.jsonl", all_rejects)
        manifest = {
            "steps": [r.__dict__ for r in reports],
            "records": len(current),
            "rejects": len(all_rejects),
        }
        atomic_write_text(run_dir / "manifest.json", json.dumps(manifest, indent=2))
        return RunResult(current, all_rejects, reports)

    async def _run_step(
        self,
        op: Operator,
        samples: list[Sample],
        step_dir: Path,
        ctx: Any,
        progress: Callable[[str, float, int], None] | None,
    ) -> tuple[list[Sample], list[dict[str, Any]]]:
        step_dir.mkdir(parents=True, exist_ok=True)
        batches = [
            samples[i : i + self.batch_size] for i in range(0, len(samples), self.batch_size)
        ]
        results: list[tuple[list[Sample], list[dict[str, Any]]] | None] = [None] * len(batches)
        done = 0
        gate = asyncio.Semaphore(self.concurrent_batches)
        # How far each running batch says it is (see sqlfoundry.core.progress).
        partial: dict[int, float] = {}
        loop, loop_thread = asyncio.get_running_loop(), threading.get_ident()
        if progress:
            progress(op.name, 0, len(batches))  # the step starts

        def advance(k: int, fraction: float) -> None:
            if threading.get_ident() != loop_thread:  # a worker thread of the batch
                loop.call_soon_threadsafe(advance, k, fraction)
                return
            if k not in partial and results[k] is not None:
                return  # the batch finished before this late report arrived
            partial[k] = fraction
            if progress:
                progress(op.name, done + sum(partial.values()), len(batches))

        async def one(k: int, batch: list[Sample]) -> None:
            nonlocal done
            data_path = step_dir / f"batch-{k:05d}.jsonl"
            reject_path = step_dir / f"rejects-{k:05d}.jsonl"
            results[k] = _load_batch(data_path, reject_path)
            if results[k] is None:
                async with gate:
                    failures_before = _transient_failures(ctx)
                    with batch_progress(lambda fraction: advance(k, fraction)):
                        result = await op.process(batch, ctx)
                kept = [s.to_json_dict() for s in result.samples]
                dropped = [r.to_dict() if isinstance(r, Reject) else r for r in result.rejects]
                if _transient_failures(ctx) > failures_before:
                    # An LLM request failed in a way a re-run may not (timeouts, 5xx,
                    # malformed answers): keep the batch out of the checkpoints, so the
                    # re-run asks again (the answers that came are cached).
                    unfinished.append(k)
                    log.warning("%s: batch %d had failed LLM requests; not checkpointed, "
                                "a re-run retries it", op.name, k)  # fmt: skip
                else:
                    # The rejects file is written last, so its presence marks a finished batch.
                    atomic_write_jsonl(data_path, kept)
                    atomic_write_jsonl(reject_path, dropped)
                # What the next step sees is what a resumed run would read back.
                results[k] = ([Sample(**d) for d in kept], dropped)
            partial.pop(k, None)
            done += 1
            if progress:
                progress(op.name, done + sum(partial.values()), len(batches))

        unfinished: list[int] = []
        tasks = [asyncio.ensure_future(one(k, batch)) for k, batch in enumerate(batches)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        out: list[Sample] = []
        rejects: list[dict[str, Any]] = []
        for kept, dropped in results:  # type: ignore[misc]
            out.extend(kept)
            rejects.extend(dropped)
        if not unfinished:
            atomic_write_text(step_dir / "done", "")
        return out, rejects


def _transient_failures(ctx: Any) -> int:
    """How many LLM requests of the run's client have failed for a passing reason."""
    return int(getattr(getattr(ctx, "llm", None), "transient_failures", 0) or 0)


def _load_batch(
    data_path: Path, reject_path: Path
) -> tuple[list[Sample], list[dict[str, Any]]] | None:
    """A finished batch's checkpoint, or None when it must run (again)."""
    if not (reject_path.exists() and data_path.exists()):
        return None
    try:
        return [Sample(**d) for d in _read_jsonl(data_path)], _read_jsonl(reject_path)
    except (ValueError, TypeError) as err:
        log.warning("%s: unreadable checkpoint, running the batch again: %s", data_path, err)
        return None


def load_samples(path: str | Path) -> list[Sample]:
    """Read records written by a pipeline (``data.jsonl``)."""
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(Sample(**json.loads(line)))
        except (ValueError, TypeError) as err:
            raise InputError(f"not a sample record: {err}", file=str(path), line=number) from err
    return out
