"""Fewer passes of Python's cycle collector while a run lasts.

A run makes container objects by the million (records' JSON, request bodies, SQL
parse trees). With the default thresholds the collector starts a pass over the
young objects every 700 allocations, and now and then one over the whole heap
(every module, schema and cached tree made before the run): in an LLM synthesis
run of 260 records that was 1,200 passes and a quarter of the main thread's CPU
(0.6 s of 2.3 s). While :func:`fewer_collections` lasts, the objects made before
it are frozen (never scanned, ``gc.freeze``) and a young pass starts every
``YOUNG`` allocations; both are put back when it ends. Cyclic garbage (a parse
tree's nodes point to their parents) still goes, a few passes later.

A process forked during a run (a pool worker, an SQL worker) goes back to the
thresholds of outside a run: a worker's memory is checked after each job, and young
garbage left for 50,000 allocations made workers reach their growth limit and be
replaced more often (offline synthesis: 8.6 ms of CPU a record against 7.8). What
the parent froze stays frozen in the child, so the pages they share stay shared.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections(young: int = YOUNG) -> Iterator[None]:
    """Freeze what exists and collect the young generation every ``young`` allocations
    (never more often than the thresholds in force) until the outermost one ends."""
    global _depth, _saved
    with _lock:
        _depth += 1
        if _depth == 1:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(young, _saved[0]), *_saved[1:])
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()


def _forked_child() -> None:
    """In a child forked during a run: the thresholds of outside it, and no run open."""
    global _depth, _lock
    _lock = threading.Lock()  # another thread of the parent may have held it at the fork
    if _depth:
        gc.set_threshold(*_saved)
        _depth = 0


os.register_at_fork(after_in_child=_forked_child)
