"""PairProducer: an async stream of chunks of question/SQL pairs, chained like iterators.

A producer's ``produce()`` is an async generator of chunks (lists of
:class:`~.pair.ExtractedPair`); ``to_pairs()`` collects them. A producer that
works on pairs takes another producer (or a list of pairs or samples) as its
source, so ``DeduplicatedProducer(BreadthEvolver(DepthEvolver(SchemaSynthesizer(db))))``
streams: a pair goes on to the next producer as soon as it is made.

Producers with per-input work (an LLM call, SQL to run) go through
:meth:`PairProducer.each`, which

* works on up to twice ``concurrency`` inputs at once and yields their outputs
  in input order, so a run is reproducible and a chain keeps an endpoint busy;
* bounds the producer's LLM requests in flight by ``concurrency``;
* checkpoints every input's output under the producer's config (see
  :mod:`.checkpoint`) when a run directory is set, so a re-run resumes.

Problems with one input never stop the others: a bad input line, an SQL
statement that is not a read-only query, a question the LLM could not write are
``rejects`` (with the file:line or pair id and the reason); a pair whose SQL
failed is kept with ``success=False`` and ``meta["error"]``.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sqlfoundry.core.errors import ConfigError, LLMItemError
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm import parse_json
from sqlfoundry.synth.base import Engine
from sqlfoundry.synth.producers.checkpoint import CheckpointStore
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.pair import ExtractedPair, content_hash

log = logging.getLogger(__name__)

OFFLINE_CONCURRENCY = 4
CHUNK = 64  # pairs per chunk when a list is the source


@dataclass
class Outcome:
    """What one input gave: pairs (some perhaps failed) and rejects."""

    pairs: list[ExtractedPair] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)


class EngineUser:
    """What producers and generators share: the databases, the engine switch, LLM requests.

    Args:
        db: the databases and run services (LLM, executor), when needed.
        engine: ``offline``, ``llm``, or ``auto`` (the LLM when ``db`` has one).
        concurrency: inputs worked on at once, and LLM requests in flight; the
            LLM client's ``max_concurrency`` by default (4 offline).
    """

    name: ClassVar[str]
    # Bump when the output changes, so old checkpoints are not reused.
    version: ClassVar[int] = 1

    def __init__(
        self,
        *,
        db: PairDatabase | None = None,
        engine: Engine = "auto",
        concurrency: int | None = None,
    ) -> None:
        if engine not in ("auto", "offline", "llm"):
            raise ConfigError(f"{self.name}: engine must be auto, offline or llm, not {engine!r}")
        if concurrency is not None and concurrency < 1:
            raise ConfigError(f"{self.name}: concurrency must be at least 1")
        self.db = db
        self.engine_choice = engine
        self._concurrency = concurrency
        self.rejects: list[dict[str, Any]] = []
        self.stats: Counter[str] = Counter()
        self._limit: asyncio.Semaphore | None = None

    @property
    def engine(self) -> str:
        """``offline`` or ``llm``: what ``auto`` means with this ``db``."""
        if self.engine_choice == "auto":
            has_llm = self.db is not None and self.db.llm is not None
            return "llm" if has_llm else "offline"
        return self.engine_choice

    @property
    def concurrency(self) -> int:
        """Pairs worked on at once: the set value, the LLM's ``max_concurrency``, or the offline
        default."""
        if self._concurrency is not None:
            return self._concurrency
        if self.engine == "llm" and self.db is not None and self.db.llm is not None:
            return int(self.db.llm.config.max_concurrency)
        return OFFLINE_CONCURRENCY

    def require_engine(self) -> None:
        """Fail early when the LLM engine was asked for and there is no LLM."""
        if self.engine == "llm" and (self.db is None or self.db.llm is None):
            raise ConfigError(
                f"{self.name} was asked for its LLM engine but no LLM is configured",
                hint="open PairDatabase with llm=LLMConfig(base_url=..., model=...)",
            )

    def reject(
        self, reason: str, *, source: str | None = None, pair: ExtractedPair | None = None
    ) -> dict[str, Any]:
        """A reject record (the caller puts it in an Outcome or ``self.rejects``)."""
        record: dict[str, Any] = {"producer": self.name, "reason": reason}
        if source is None and pair is not None:
            source = pair.meta.get("source")
        if source:
            record["source"] = source
        if pair is not None:
            record["id"] = pair.id or pair.key()
            record["pair"] = pair.to_record()
        return record

    def drop(
        self, reason: str, *, source: str | None = None, pair: ExtractedPair | None = None
    ) -> None:
        """Record a reject outside :meth:`PairProducer.each` (bad input lines, filtered pairs)."""
        self.rejects.append(self.reject(reason, source=source, pair=pair))
        self.stats["rejected"] += 1

    async def ask(
        self, messages: list[dict[str, str]], **params: Any
    ) -> tuple[str | None, str | None]:
        """One LLM request under this producer's name: ``(text, None)`` or ``(None, error)``.

        An endpoint-level failure (unreachable, refused key, unknown model) raises:
        every other request would fail the same way.
        """
        assert self.db is not None and self.db.llm is not None
        limit = self._limit or asyncio.Semaphore(self.concurrency)
        self._limit = limit
        async with limit:
            try:
                generations = await self.db.llm.generate(messages, operator=self.name, **params)
            except LLMItemError as err:
                return None, f"llm request failed: {err.message}"
        return generations[0].text, None


class PairProducer(EngineUser, ABC):
    """Base of every producer; subclasses set ``name`` and implement ``produce``.

    Args:
        source: the pairs a pair-consuming producer works on: another producer,
            or a list of pairs, samples or records.
        db, engine, concurrency: see :class:`EngineUser`.
    """

    def __init__(
        self,
        *,
        source: Any = None,
        db: PairDatabase | None = None,
        engine: Engine = "auto",
        concurrency: int | None = None,
    ) -> None:
        super().__init__(db=db, engine=engine, concurrency=concurrency)
        self.source = source
        self.run_dir: Path | None = None

    # ------------------------------------------------------------------ the stream

    @abstractmethod
    def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        """Chunks of pairs, as they are made."""

    async def to_pairs(self, run_dir: str | Path | None = None) -> list[ExtractedPair]:
        """Every pair of :meth:`produce`, in order.

        Args:
            run_dir: checkpoint every producer of the chain under this folder
                (``RUN_DIR/producers/``), so running the same chain again resumes.
        """
        if run_dir is not None:
            self.checkpoint(run_dir)
        pairs: list[ExtractedPair] = []
        async for chunk in self.produce():
            pairs.extend(chunk)
        return pairs

    def upstream(self) -> AsyncIterator[list[ExtractedPair]]:
        """The source's chunks: a producer's stream, or a list cut into chunks."""
        return pairs_of(self.source)

    @property
    def sources(self) -> list[PairProducer]:
        """The producers this one reads from (none for a first producer)."""
        return [self.source] if isinstance(self.source, PairProducer) else []

    # ------------------------------------------------------------------ the chain

    def checkpoint(self, run_dir: str | Path) -> PairProducer:
        """Store per-input results under ``run_dir`` for this producer and its sources."""
        self.run_dir = Path(run_dir)
        for source in self.sources:
            source.checkpoint(run_dir)
        return self

    def chain(self) -> list[PairProducer]:
        """Every producer feeding this one, sources first, then this one."""
        out: list[PairProducer] = []
        for source in self.sources:
            out.extend(p for p in source.chain() if p not in out)
        out.append(self)
        return out

    def all_rejects(self) -> list[dict[str, Any]]:
        """The rejects of the whole chain, sources first."""
        return [r for p in self.chain() for r in p.rejects]

    def report(self) -> list[dict[str, Any]]:
        """One row per producer of the chain: inputs, pairs, failed, rejected, reused."""
        return [{"producer": p.name, **dict(p.stats)} for p in self.chain()]

    def config(self) -> dict[str, Any]:
        """The parameters that change the output (part of the checkpoint signature)."""
        return {}

    def signature(self) -> str:
        """Name, version, config and what of the run changes the output, hashed."""
        context: dict[str, Any] = {"engine": self.engine}
        if self.db is not None:
            context["seed"] = self.db.seed
            if self.engine == "llm" and self.db.llm is not None:
                context["model"] = getattr(self.db.llm, "model", None)
        payload = {"name": self.name, "version": self.version, "config": self.config(),
                   "context": context}  # fmt: skip
        return content_hash(payload)

    def account(self, outcome: Outcome) -> None:
        """Count an outcome's pairs, failures and rejects, and keep its rejects."""
        self.stats["pairs"] += len(outcome.pairs)
        self.stats["failed"] += sum(not p.success for p in outcome.pairs)
        self.stats["rejected"] += len(outcome.rejects)
        self.rejects.extend(outcome.rejects)

    async def each(
        self,
        inputs: AsyncIterator[Sequence[Any]],
        work: Callable[[Any], Awaitable[Outcome]],
        key: Callable[[Any], Any],
    ) -> AsyncIterator[list[ExtractedPair]]:
        """Run ``work`` on every input, many at a time, yielding in input order.

        Args:
            inputs: chunks of inputs (pairs, conversations, statements...).
            work: the per-input job; its rejects are recorded here.
            key: a JSON-able identity of an input, hashed for the checkpoint.
        """
        self.require_engine()
        self._limit = asyncio.Semaphore(self.concurrency)
        store = None
        if self.run_dir is not None:
            folder = self.run_dir / "producers" / f"{self.name}-{self.signature()}"
            store = CheckpointStore(folder)
        # Twice as many inputs as requests allowed: while some inputs wait for their
        # turn (or for the input ahead of them), others keep the endpoint busy.
        slots = asyncio.Semaphore(2 * self.concurrency)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        end = object()

        async def run(item: Any) -> Outcome:
            item_key = content_hash(key(item)) if store is not None else ""
            if store is not None:
                hit = store.get(item_key)
                if hit is not None:
                    self.stats["reused"] += 1
                    return Outcome([ExtractedPair(**p) for p in hit["pairs"]], list(hit["rejects"]))
            outcome = await work(item)
            if store is not None:
                store.put(item_key, [p.model_dump(mode="json") for p in outcome.pairs],
                          outcome.rejects)  # fmt: skip
            return outcome

        async def feed() -> None:
            try:
                async for chunk in inputs:
                    for item in chunk:
                        await slots.acquire()
                        self.stats["inputs"] += 1
                        queue.put_nowait(asyncio.ensure_future(run(item)))
                queue.put_nowait(end)
            except Exception as err:  # the upstream failed: hand it to the consumer
                queue.put_nowait(_Failure(err))

        feeder = asyncio.ensure_future(feed())
        finished = False
        try:
            while True:
                entry = await queue.get()
                if entry is end:
                    break
                if isinstance(entry, _Failure):
                    raise entry.error
                try:
                    outcome = await entry
                finally:
                    slots.release()
                self.account(outcome)
                if outcome.pairs:
                    yield list(outcome.pairs)
            finished = True
        finally:
            feeder.cancel()
            pending = [feeder]
            while not queue.empty():
                entry = queue.get_nowait()
                if isinstance(entry, asyncio.Future):
                    entry.cancel()
                    pending.append(entry)
            await asyncio.gather(*pending, return_exceptions=True)
            if store is not None:
                store.finish() if finished else store.flush()


@dataclass
class _Failure:
    error: Exception


async def pairs_of(source: Any) -> AsyncIterator[list[ExtractedPair]]:
    """Chunks of pairs from a producer, or from a list of pairs, samples or records."""
    if source is None:
        return
    if isinstance(source, PairProducer):
        async for chunk in source.produce():
            yield chunk
        return
    chunk: list[ExtractedPair] = []
    for item in source:
        chunk.append(as_pair(item))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def as_pair(item: Any) -> ExtractedPair:
    """A pair from a pair, a ``Sample`` or a JSON record."""
    if isinstance(item, ExtractedPair):
        return item
    if isinstance(item, Sample):
        return ExtractedPair.from_sample(item)
    if isinstance(item, dict):
        return ExtractedPair.from_record(item)
    raise TypeError(f"not a pair: {type(item).__name__}")


class ChainedProducer(PairProducer):
    """Several producers' pairs one after the other (e.g. one schema synthesizer per database).

    The producers run at the same time, so an endpoint stays busy while the
    first one is still short of work; their chunks come out in producer order.
    """

    name = "chain"

    def __init__(self, *producers: PairProducer) -> None:
        super().__init__()
        self.producers = list(producers)

    @property
    def sources(self) -> list[PairProducer]:
        """The producer this one reads from, as a list."""
        return list(self.producers)

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        queues: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in self.producers]
        end = object()

        async def drain(producer: PairProducer, queue: asyncio.Queue[Any]) -> None:
            try:
                async for chunk in producer.produce():
                    queue.put_nowait(chunk)
                queue.put_nowait(end)
            except Exception as err:  # handed to the consumer, in order
                queue.put_nowait(_Failure(err))

        tasks = [
            asyncio.ensure_future(drain(p, q)) for p, q in zip(self.producers, queues, strict=True)
        ]
        try:
            for queue in queues:
                while (entry := await queue.get()) is not end:
                    if isinstance(entry, _Failure):
                        raise entry.error
                    self.stats["pairs"] += len(entry)
                    yield entry
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


class PairList(PairProducer):
    """A list of pairs (or samples, or records) as a producer, e.g. to chain inputs with outputs."""

    name = "input"

    def __init__(self, pairs: Iterable[Any]) -> None:
        super().__init__(source=list(pairs))

    async def produce(self) -> AsyncIterator[list[ExtractedPair]]:
        async for chunk in self.upstream():
            self.stats["pairs"] += len(chunk)
            yield chunk


def answer_field(text: str, field: str, kind: type = str) -> tuple[Any, str | None]:
    """``(value, None)`` for a JSON-object answer whose ``field`` is a ``kind`` (text
    non-empty, whitespace collapsed), else ``(None, why not)``."""
    parsed = parse_json(text, expect=dict)
    if not parsed.ok:
        return None, f"unparsable answer: {parsed.error}"
    value = parsed.value.get(field)
    if kind is str and isinstance(value, str) and value.strip():
        return " ".join(value.split()), None
    if kind is not str and isinstance(value, kind):
        return value, None
    return None, f"the JSON answer has no {field}"
