"""Pipeline: an ordered list of operators, run with checkpoints in a run directory.

Layout of a run directory::

    RUN_DIR/
      steps/<nn>-<operator>-<signature>/   one folder per finished or running step
        batch-<k>.jsonl                    output of batch k (written atomically)
        rejects-<k>.jsonl
        done                               present once every batch is written
                                           (a Ray run writes part-*.jsonl instead)
      data.jsonl                           the final records
      rejects.jsonl                        every reject: operator, reason, record
      manifest.json                        steps, counts, timings

A step's signature hashes its operator's name, version and parameters with
the signature of its input (the previous step, or the seed records). Running
the same pipeline again reuses every finished step and every finished batch of
an interrupted step; changing a step changes its signature and those of the
steps after it, so exactly those run again.

Where the steps run is the executor's business (:mod:`sqlfoundry.core.executors`):
the local one by default, Ray Data with ``executor="ray"``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlfoundry.core.collector import fewer_collections
from sqlfoundry.core.errors import ConfigError, InputError
from sqlfoundry.core.executors.base import make_executor
from sqlfoundry.core.io import check_output, decode_line
from sqlfoundry.core.operator import Operator
from sqlfoundry.core.registry import build
from sqlfoundry.core.runs import Fold, RunResult, StepReport, records_signature
from sqlfoundry.core.sample import Sample

__all__ = ["DEFAULT_BATCH_SIZE", "Pipeline", "RunResult", "StepReport", "load_samples",
           "records_signature"]  # fmt: skip

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 256


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
        executor: Any = None,
        fold: Fold | None = None,
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
            executor: where the steps run: an ``Executor``, its settings, ``"local"``
                or ``"ray"``; by default the context's (``ctx.pipeline_executor``),
                else the local executor.
            fold: a summary of the final records, made batch by batch as they are
                made (``RunResult.folded``; see :class:`sqlfoundry.core.runs.Fold`).
        """
        return asyncio.run(
            self.arun(
                samples,
                run_dir,
                ctx,
                progress=progress,
                input_rejects=input_rejects,
                record=record,
                executor=executor,
                fold=fold,
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
        executor: Any = None,
        fold: Fold | None = None,
    ) -> RunResult:
        """:meth:`run`, for callers already inside an event loop."""
        check_output(Path(run_dir), folder=True)  # before any step, not when the first one is done
        chosen = make_executor(
            executor if executor is not None else getattr(ctx, "pipeline_executor", None)
        )
        with fewer_collections():
            return await chosen.execute(self, list(samples), Path(run_dir), ctx,
                                        progress=progress, input_rejects=input_rejects,
                                        record=record, fold=fold)  # fmt: skip


def load_samples(path: str | Path) -> list[Sample]:
    """Read records written by a pipeline (``data.jsonl``)."""
    out = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(Sample(**decode_line(line)))
        except (ValueError, TypeError) as err:
            raise InputError(f"not a sample record: {err}", file=str(path), line=number) from err
    return out
