"""The Ray actor of one pipeline step, and the step's part files.

Each actor builds its operator from the operator's class and parameters once, and
opens one ``RunContext`` from the run's spec (one event loop, one LLM client, one
SQL executor) for its lifetime. A batch's records are processed, and the outputs
written to a part file of the step's folder before they go on to the next step,
so checkpoints are written as the data streams through; nothing waits for a step
to finish.

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

from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.executors.base import transient_failures
from sqlfoundry.core.io import atomic_write_text
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
                    yield json.loads(line)


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


class StepActor:
    """One step's operator on a Ray actor (used by ``map_batches`` as a callable class).

    Args:
        op_class, params: the operator, rebuilt here from its parameters.
        spec: the run's ``ContextSpec`` (opened once, for the actor's lifetime).
        step_dir: the step's checkpoint folder (shared by every node).
        emit: send the outputs on (False for the last step: its parts are the output).
    """

    def __init__(self, op_class: type, params: dict[str, Any], spec: Any, step_dir: str,
                 emit: bool = True) -> None:  # fmt: skip
        self.emit = emit
        self.node = socket.gethostname()
        self.op = op_class(**params)
        self.step_dir = Path(step_dir)
        self.step_dir.mkdir(parents=True, exist_ok=True)
        self.loop = asyncio.new_event_loop()
        self._opened = spec.open()
        try:
            self.ctx = self.loop.run_until_complete(self._opened.__aenter__())
        except SqlfoundryError as error:
            raise type(error)(f"on node {self.node}, step {self.op.name}: {error.message}",
                              hint=error.hint) from None  # fmt: skip
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

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        keys = [str(k) for k in batch["key"]]
        upstream = batch["unf"] if "unf" in batch else [False] * len(keys)
        lines: dict[str, dict[str, Any]] = {}
        todo = []
        for key, text in zip(keys, batch["json"], strict=True):
            stored = self._stored(key)
            if stored is not None:
                lines[key] = stored
            else:
                todo.append((key, Sample(**json.loads(text))))
        if todo:
            failures = transient_failures(self.ctx)
            made = self.loop.run_until_complete(self._process(todo))
            # Requests failed for a passing reason: nothing this batch made is final.
            failed = transient_failures(self.ctx) > failures
            not_final = {k for k, u in zip(keys, upstream, strict=True) if u}
            for m in made:
                if failed or m["p"] in not_final:
                    m["u"] = True
            atomic_write_text(self.step_dir / f"part-{uuid.uuid4().hex}.jsonl",
                              "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in made))  # fmt: skip
            lines.update((m["p"], m) for m in made)
        out_keys, out_json, out_unf = [], [], []
        for key in keys if self.emit else ():
            for child_key, sample in lines[key]["out"]:
                out_keys.append(child_key)
                out_json.append(json.dumps(sample, ensure_ascii=False))
                out_unf.append(bool(lines[key].get("u")))
        return {"key": np.array(out_keys, dtype=object), "json": np.array(out_json, dtype=object),
                "unf": np.array(out_unf, dtype=bool)}  # fmt: skip

    def _stored(self, key: str) -> dict[str, Any] | None:
        path = self.done.get(key)
        if path is None:
            return None
        lines = self._parts.get(path)
        if lines is None:
            read = (json.loads(t) for t in path.read_text(encoding="utf-8").splitlines() if t)
            lines = self._parts.put(path, {m["p"]: m for m in read})
        return lines[key]

    async def _process(self, todo: list[tuple[str, Sample]]) -> list[dict[str, Any]]:
        batch = [s for _, s in todo]
        groups = None
        if not self.expands:
            groups = group_by_parent(batch, await self.op.process(batch, self.ctx))
            # An operator that expands runs record by record from now on, so every
            # output is known by the record it came from.
            self.expands = groups is None
        if groups is None:
            results = await asyncio.gather(*(self.op.process([s], self.ctx) for s in batch))
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

    def __del__(self) -> None:
        try:
            self.loop.run_until_complete(self._opened.__aexit__(None, None, None))
            self.loop.close()
        except Exception:  # noqa: BLE001 - the actor is going away
            pass
