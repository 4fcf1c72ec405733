"""What the two evolvers share: checking a source pair, planning its variants, making children.

An evolver yields only the new pairs (ids ``<parent>-b<k>`` for breadth,
``<parent>-d<k>`` for depth), each remembering its parent in
``meta["evolved_from"]``. A source pair that failed, has no SQL, or names a
database the run does not have is not evolved: it is a reject with the reason.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlfoundry.synth.producers.base import Outcome, PairProducer
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.pair import ExtractedPair, content_hash, provenance


class PairEvolver(PairProducer):
    """Base of the breadth and depth evolvers; subclasses implement ``evolve``."""

    marker: str  # "b" or "d": the letter in children's ids

    def __init__(self, source: Any, *, db: PairDatabase, **kwargs: Any) -> None:
        super().__init__(source=source, db=db, **kwargs)

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        async for chunk in self.each(self.upstream(), self._one, _pair_key):
            yield chunk

    async def _one(self, pair: ExtractedPair) -> Outcome:
        assert self.db is not None
        db_id = pair.db_id or self.db.db_id
        if not pair.success:
            reason = pair.meta.get("error") or "unsuccessful"
            return Outcome(
                rejects=[self.reject(f"not evolved: the pair failed ({reason})", pair=pair)]
            )
        if not pair.sql.strip():
            return Outcome(rejects=[self.reject("not evolved: the pair has no SQL", pair=pair)])
        if not self.db.knows(db_id):
            return Outcome(rejects=[self.reject(f"unknown database: {db_id!r}", pair=pair)])
        return await self.evolve(pair.model_copy(update={"db_id": db_id}), self.db.using(db_id))

    async def evolve(self, pair: ExtractedPair, db: PairDatabase) -> Outcome:
        """The pairs evolved from ``pair`` and what was rejected on the way."""
        raise NotImplementedError

    def plan(self, pair: ExtractedPair, choices: Sequence[str], count: int) -> list[str]:
        """``count`` choices for one pair: the list in turn, from a place set by the pair."""
        start = int(content_hash([pair.id, pair.question, pair.sql], 8), 16) % len(choices)
        return [choices[(start + k) % len(choices)] for k in range(count)]

    def child(
        self, parent: ExtractedPair, k: int, question: str, sql: str, **info: Any
    ) -> ExtractedPair:
        """A new pair made from ``parent``; ``info`` goes into its provenance entry."""
        meta = {k: copy.deepcopy(v) for k, v in parent.meta.items() if k not in ("error", "engine")}
        meta["evolved_from"] = parent.id or parent.key()
        pair = ExtractedPair(question=question, sql=sql, context=list(parent.context),
                             db_id=parent.db_id, id=f"{parent.id or parent.key()}-{self.marker}{k}",
                             meta=meta)  # fmt: skip
        return provenance(pair, self.name, self.engine, **info)


def _pair_key(pair: ExtractedPair) -> dict[str, Any]:
    return pair.model_dump(mode="json", exclude={"meta"}) | {"source": pair.meta.get("source")}
