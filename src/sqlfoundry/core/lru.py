"""A bounded map of the most recently used entries, for work that can be reused.

The gateway keeps what is pure and dear to compute (a linked prompt, a checked
answer, the local method's answer) so that the same question or the same model
answer is not worked out twice; a Ray step actor keeps the part files it read back;
a method keeps the schema texts it rendered.
The bound keeps memory flat however many distinct entries arrive. An :class:`LRU` is not
locked: each user touches its own from one thread (the event loop, the actor); a
:class:`SharedLRU` is, for a module's cache that threads read at once (parse trees,
plans), and :func:`per_object` keeps what is derived from objects hashed by identity
(a schema's words and keys).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


class LRU(Generic[K, V]):
    """At most ``size`` entries; putting one more forgets the least recently used."""

    __slots__ = ("size", "_items")

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recently used), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key``; returns it."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


class SharedLRU(LRU[K, V]):
    """An :class:`LRU` that several threads use at once: each get and put holds a lock."""

    __slots__ = ("_lock",)

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            return super().get(key)

    def put(self, key: K, value: V) -> V:
        with self._lock:
            return super().put(key, value)


def per_object(size: int) -> Callable[[Callable[[T], V]], Callable[[T], V]]:
    """Keep ``make(obj)`` for each of the ``size`` objects asked about last, by identity
    (objects such as schemas, not hashed by value). An entry holds its object, so the
    object's id is not reused for another while it is there."""

    def wrap(make: Callable[[T], V]) -> Callable[[T], V]:
        kept: SharedLRU[int, tuple[Any, V]] = SharedLRU(size)

        @functools.wraps(make)
        def cached(obj: T) -> V:
            hit = kept.get(id(obj))
            if hit is None or hit[0] is not obj:
                hit = kept.put(id(obj), (obj, make(obj)))
            return hit[1]

        return cached

    return wrap
