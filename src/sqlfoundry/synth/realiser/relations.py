"""How a query's sources relate: join paths from the subject, and what COUNT(*) counts.

A hop goes up (child -> parent, along a reference: a book's author) or down
(parent -> child: an author's books). Paths from the sentence's subject to the
other sources decide how a condition on a joined table is said.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from sqlfoundry.synth.realiser.plan import Link, SelectQuery, Source


@dataclass(frozen=True)
class Hop:
    """One step along a join: ``up`` goes child -> parent (a role), else parent -> child."""

    link: Link
    up: bool

    @property
    def target(self) -> Source:
        """The source the hop arrives at."""
        return self.link.parent.source if self.up else self.link.child.source


def paths(query: SelectQuery, start: Source) -> dict[int, list[Hop]]:
    """The join path from ``start`` to every source reachable from it (by source id)."""
    out: dict[int, list[Hop]] = {id(start): []}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for link in query.links:
            for hop in (Hop(link, True), Hop(link, False)):
                origin = link.child.source if hop.up else link.parent.source
                if origin is here and id(hop.target) not in out:
                    out[id(hop.target)] = out[id(here)] + [hop]
                    queue.append(hop.target)
    return out


def children(query: SelectQuery, source: Source) -> list[Source]:
    """The sources that reference ``source`` through a join."""
    return [lk.child.source for lk in query.links if lk.parent.source is source]


def counted_source(query: SelectQuery, anchor: Source | None = None) -> Source:
    """The source whose rows a COUNT(*) over the join counts: the one at the "many"
    end, which no other source references."""
    if len(query.sources) == 1:
        return query.sources[0]
    parents = {id(lk.parent.source) for lk in query.links if lk.kind != "same"}
    leaves = [s for s in query.sources if id(s) not in parents]
    if anchor is not None and len(leaves) > 1:
        leaves = [s for s in leaves if s is not anchor] or leaves
    return leaves[-1] if leaves else query.sources[0]
