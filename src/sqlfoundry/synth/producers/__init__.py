"""Pair producers: extract, synthesize, evolve and decorate question/SQL pairs.

Every producer streams chunks of :class:`ExtractedPair` from ``produce()``
(``await producer.to_pairs()`` collects them) and takes another producer or a
list as its source, so they chain::

    async with PairDatabase.open("examples/demo_dbs", db_id="bookshop") as db:
        pairs = await DeduplicatedProducer(
            ValidatedProducer(
                BreadthEvolver(DepthEvolver(SchemaSynthesizer(db, count=5), db=db), db=db),
                db, execute=True,
            ),
            strategy="exact",
        ).to_pairs(run_dir="runs/pairs")

Each step with an LLM engine (the ``db`` was opened with ``llm=LLMConfig(...)``)
also has an offline engine built on the sampler, the realiser and the data
profile. Pairs convert to and from :class:`~sqlfoundry.core.sample.Sample`, so
they go on into the synthesis pipeline, the exporters and the evaluator.
"""

from sqlfoundry.synth.producers.base import (
    ChainedProducer,
    EngineUser,
    Outcome,
    PairList,
    PairProducer,
)
from sqlfoundry.synth.producers.breadth_evolver import BreadthEvolver
from sqlfoundry.synth.producers.contextual import (
    ContextualExtractor,
    FullContextExtractor,
    LastQueryExtractor,
    SegmentedContextExtractor,
    WindowedContextExtractor,
)
from sqlfoundry.synth.producers.database import PairDatabase
from sqlfoundry.synth.producers.decorators import (
    DeduplicatedProducer,
    FilteredProducer,
    ValidatedProducer,
)
from sqlfoundry.synth.producers.depth_evolver import DepthEvolver
from sqlfoundry.synth.producers.depth_rules import TECHNIQUES
from sqlfoundry.synth.producers.message_extractor import MessageExtractor
from sqlfoundry.synth.producers.pair import ExtractedPair
from sqlfoundry.synth.producers.personas import Persona, PersonaGenerator
from sqlfoundry.synth.producers.schema_synthesizer import COMPLEXITIES, SchemaSynthesizer
from sqlfoundry.synth.producers.sql_extractor import SqlExtractor
from sqlfoundry.synth.producers.teachings import (
    KINDS,
    Teaching,
    TeachingsGenerator,
    render_teachings,
)


async def to_pairs(producer: PairProducer) -> list[ExtractedPair]:
    """Every pair a producer makes (the same as ``await producer.to_pairs()``)."""
    return await producer.to_pairs()


__all__ = [
    "COMPLEXITIES",
    "KINDS",
    "TECHNIQUES",
    "BreadthEvolver",
    "ChainedProducer",
    "ContextualExtractor",
    "DeduplicatedProducer",
    "DepthEvolver",
    "EngineUser",
    "ExtractedPair",
    "FilteredProducer",
    "FullContextExtractor",
    "LastQueryExtractor",
    "MessageExtractor",
    "Outcome",
    "PairDatabase",
    "PairList",
    "PairProducer",
    "Persona",
    "PersonaGenerator",
    "SchemaSynthesizer",
    "SegmentedContextExtractor",
    "SqlExtractor",
    "Teaching",
    "TeachingsGenerator",
    "ValidatedProducer",
    "WindowedContextExtractor",
    "render_teachings",
    "to_pairs",
]
