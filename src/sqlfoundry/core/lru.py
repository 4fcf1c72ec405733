"""A bounded map of the most recently used entries, for work that can be reused.

The gateway keeps what is pure and dear to compute (a linked prompt, a checked
answer, the local method's answer) so that the same question or the same model
answer is not worked out twice; a Ray step actor keeps the part files it read back;
a method keeps the schema texts it rendered.
The bound keeps memory flat however many distinct entries arrive. Not locked: each
user touches its own from one thread (the event loop, the actor).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


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
