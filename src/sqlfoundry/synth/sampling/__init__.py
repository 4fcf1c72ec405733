"""Offline SQL sampling grounded in a database's schema and data.

``profile`` reads each table once and gives every column a role and real
values; ``scope`` builds FROM clauses along foreign keys; ``clauses`` makes
conditions and aggregates from real rows; ``builder``, ``compose`` and
``nested`` put queries together and ``levels`` aims them at a Spider hardness
level; ``styles`` varies how they are written; ``sampler`` runs every
candidate and fills the per-level quotas.
"""

from sqlfoundry.synth.sampling.profile import DatabaseProfile, profile_database
from sqlfoundry.synth.sampling.sampler import (
    DEFAULT_MIX,
    GeneratedQuery,
    RejectedQuery,
    SampleOutcome,
    Sampler,
    SamplerStats,
    load_profile,
    quotas,
    sample_database,
)

__all__ = [
    "DEFAULT_MIX",
    "DatabaseProfile",
    "GeneratedQuery",
    "RejectedQuery",
    "SampleOutcome",
    "Sampler",
    "SamplerStats",
    "load_profile",
    "profile_database",
    "quotas",
    "sample_database",
]
