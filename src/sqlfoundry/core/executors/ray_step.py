"""The Ray actor of a stage of pipeline steps, and each step's part files.

Each actor builds its steps' operators from their classes and parameters once, and
opens one ``RunContext`` from the run's spec (one event loop, one LLM client, one
SQL executor) for its lifetime. A batch's records are processed by each step in
turn, and every step's outputs written to a part file of the step's folder before
they go on, so checkpoints are written as the data streams through; nothing waits
for a step to finish.

Record keys give every record its place in the output: the input records are
``000000000``, ``000000001``, ...; a record that yields exactly one output passes
its key on, and a record that yields several gives its children
``<parent key>.000000``, ``.000001``, ... in the order the operator returned them.
Sorting by key therefore gives the order the local executor writes, whatever the
order batches finished in on the cluster.

A part file (``part-<uuid>.jsonl``) has one line per input record of the batch:
``{"p": key, "out": [[child key, sample], ...], "rej": [reject, ...]}``. A rerun's
actor reads which keys the step's parts already hold, and gives back their stored
outputs instead of running the operator again.

A line is not final (``"u": true``) when an LLM request failed for a passing reason
while its batch ran, or when the record it came from was not final: it goes on to
the next step and into this run's output, as with the local executor, but the next
run drops it (:func:`drop_unfinished`) and asks again; the answers that came are
cached. The flag travels with the records as the ``unf`` column.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from pathlib import Path
from typing import Any

from sqlfoundry.core.batch_failures import batch_failures
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.io import atomic_write_text, decode_line
from sqlfoundry.core.lru import LRU
from sqlfoundry.core.operator import Reject, StepOutput
from sqlfoundry.core.sample import Sample

log = logging.getLogger(__name__)

ROOT_KEY_WIDTH = 9
CHILD_KEY_WIDTH = 6


def root_key(index: int) -> str:
    """The key of the run's ``index``-th input record."""
    return f"{index:0{ROOT_KEY_WIDTH}d}"


def part_files(step_dir: Path) -> list[Path]:
    """A step's part files, in a stable order."""
    return sorted(step_dir.glob("part-*.jsonl"))


def read_part_lines(step_dir: Path):  # noqa: ANN201 - an iterator of dicts
    """Every line of every part of a step (one per input record)."""
    for path in part_files(step_dir):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield decode_line(line)


def drop_unfinished(step_dir: Path) -> int:
    """Remove the lines that are not final from a step's parts (before a rerun, so their
    records run again); returns how many went."""
    dropped = 0
    for path in part_files(step_dir):
        lines = [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
        kept = [t for t in lines if not json.loads(t).get("u")]
        if len(kept) == len(lines):
            continue
        dropped += len(lines) - len(kept)
        if kept:
            atomic_write_text(path, "".join(t + "\n" for t in kept))
        else:
            path.unlink()
    return dropped


def _reject_dict(r: Any) -> dict[str, Any]:
    return r.to_dict() if isinstance(r, Reject) else r


def _reject_id(r: Any) -> str | None:
    if isinstance(r, Reject):
        return r.sample.id
    return ((r or {}).get("sample") or {}).get("id")


def group_by_parent(batch: list[Sample], result: StepOutput) -> list[tuple[list, list]] | None:
    """Each input's (outputs, rejects) when the operator kept ids (filters, decorators);
    None when outputs cannot be told apart by id (an operator that expands)."""
    index = {s.id: i for i, s in enumerate(batch)}
    if len(index) != len(batch):
        return None
    groups: list[tuple[list, list]] = [([], []) for _ in batch]
    for s in result.samples:
        i = index.get(s.id)
        if i is None or groups[i][0]:
            return None
        groups[i][0].append(s)
    for r in result.rejects:
        i = index.get(_reject_id(r))
        if i is None:
            return None
        groups[i][1].append(r)
    return groups


class _StepRunner:
    """One step inside a stage actor: its operator, its folder and what its parts hold."""

    def __init__(self, op_class: type, params: dict[str, Any], step_dir: str) -> None:
        self.op = op_class(**params)
        self.step_dir = Path(step_dir)
        self.step_dir.mkdir(parents=True, exist_ok=True)
        # Records this step already did in an earlier, interrupted run: key -> part file.
        self.done: dict[str, Path] = {}
        for path in part_files(self.step_dir):
            for text in path.read_text(encoding="utf-8").splitlines():
                line = json.loads(text) if text.strip() else {}
                if line and not line.get("u"):
                    self.done[line["p"]] = path
        # The part files read back most recently, each as key -> line.
        self._parts: LRU[Path, dict[str, dict]] = LRU(4)
        self.expands = False

    def run(self, loop: asyncio.AbstractEventLoop, ctx: Any, keys: list[str], texts: list[str],
            upstream: list[bool], emit: bool) -> tuple[list[str], list[str], list[bool]]:  # fmt: skip
        """One batch through the step: its part file written, its outputs as (keys, JSON
        texts, not-final flags), or nothing when ``emit`` is False."""
        lines: dict[str, dict[str, Any]] = {}
        todo = []
        for key, text in zip(keys, texts, strict=True):
            stored = self._stored(key)
            if stored is not None:
                lines[key] = stored
            else:
                todo.append((key, Sample(**json.loads(text))))
        if todo:
            with batch_failures() as failures:
                made = loop.run_until_complete(self._process(todo, ctx))
            # Requests failed for a passing reason: nothing this batch made is final.
            failed = failures[0] > 0
            not_final = {k for k, u in zip(keys, upstream, strict=True) if u}
            for m in made:
                if failed or m["p"] in not_final:
                    m["u"] = True
            atomic_write_text(self.step_dir / f"part-{uuid.uuid4().hex}.jsonl",
                              "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in made))  # fmt: skip
            lines.update((m["p"], m) for m in made)
        out_keys: list[str] = []
        out_json: list[str] = []
        out_unf: list[bool] = []
        for key in keys if emit else ():
            for child_key, sample in lines[key]["out"]:
                out_keys.append(child_key)
                out_json.append(json.dumps(sample, ensure_ascii=False))
                out_unf.append(bool(lines[key].get("u")))
        return out_keys, out_json, out_unf

    def _stored(self, key: str) -> dict[str, Any] | None:
        path = self.done.get(key)
        if path is None:
            return None
        lines = self._parts.get(path)
        if lines is None:
            read = (json.loads(t) for t in path.read_text(encoding="utf-8").splitlines() if t)
            lines = self._parts.put(path, {m["p"]: m for m in read})
        return lines[key]

    async def _process(self, todo: list[tuple[str, Sample]], ctx: Any) -> list[dict[str, Any]]:
        batch = [s for _, s in todo]
        groups = None
        if not self.expands or len(batch) == 1:
            result = await self.op.process(batch, ctx)
            if len(batch) == 1:  # whatever came, came from this record
                groups = [(result.samples, result.rejects)]
            else:
                groups = group_by_parent(batch, result)
            # An operator that expands runs record by record from now on, so every
            # output is known by the record it came from.
            self.expands = self.expands or groups is None
        if groups is None:
            results = await asyncio.gather(*(self.op.process([s], ctx) for s in batch))
            groups = [(r.samples, r.rejects) for r in results]
        made = []
        for (key, _), (outputs, rejects) in zip(todo, groups, strict=True):
            if len(outputs) == 1:
                children = [[key, outputs[0].to_json_dict()]]
            else:
                children = [[f"{key}.{j:0{CHILD_KEY_WIDTH}d}", s.to_json_dict()]
                            for j, s in enumerate(outputs)]  # fmt: skip
            made.append({"p": key, "out": children, "rej": [_reject_dict(r) for r in rejects]})
        return made


class StageActor:
    """Consecutive pipeline steps on one Ray actor (a callable class for ``map_batches``).

    A batch goes through every step of the stage in turn, each step writing its own part
    file, so the parts are those one actor per step would write; the records cross into
    Arrow and back once per stage, not once per step, and one actor process (one import,
    one context) serves the stage's steps.

    Args:
        steps: each step's (operator class, parameters, checkpoint folder shared by every
            node), in order; the operators are rebuilt here from their parameters.
        spec: the run's ``ContextSpec`` (opened once, for the actor's lifetime).
        emit: send the last step's outputs on (False for the pipeline's last stage: its
            parts are the output).
        batch_sizes: the most records each step takes at once (a step after one that
            expands gets its input in slices of that size).
    """

    def __init__(self, steps: list[tuple[type, dict[str, Any], str]], spec: Any,
                 emit: bool = True, batch_sizes: list[int] | None = None) -> None:  # fmt: skip
        self.emit = emit
        self.node = socket.gethostname()
        self.steps = [
            _StepRunner(op_class, params, step_dir) for op_class, params, step_dir in steps
        ]
        self.sizes = batch_sizes or [0] * len(self.steps)
        self.loop = asyncio.new_event_loop()
        self._opened = spec.open()
        try:
            self.ctx = self.loop.run_until_complete(self._opened.__aenter__())
        except SqlfoundryError as error:
            names = ", ".join(step.op.name for step in self.steps)
            raise type(error)(f"on node {self.node}, step {names}: {error.message}",
                              hint=error.hint) from None  # fmt: skip

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        keys = [str(k) for k in batch["key"]]
        texts = list(batch["json"])
        upstream = [bool(u) for u in batch["unf"]] if "unf" in batch else [False] * len(keys)
        last = len(self.steps) - 1
        for i, (step, size) in enumerate(zip(self.steps, self.sizes, strict=True)):
            emit = self.emit or i < last
            out: tuple[list[str], list[str], list[bool]] = ([], [], [])
            size = size or len(keys) or 1
            for at in range(0, len(keys), size):
                made = step.run(self.loop, self.ctx, keys[at:at + size], texts[at:at + size],
                                upstream[at:at + size], emit)  # fmt: skip
                for held, new in zip(out, made, strict=True):
                    held.extend(new)
            keys, texts, upstream = out
        return {"key": np.array(keys, dtype=object), "json": np.array(texts, dtype=object),
                "unf": np.array(upstream, dtype=bool)}  # fmt: skip

    def __del__(self) -> None:
        try:
            self.loop.run_until_complete(self._opened.__aexit__(None, None, None))
            self.loop.close()
        except Exception:  # noqa: BLE001 - the actor is going away
            pass
