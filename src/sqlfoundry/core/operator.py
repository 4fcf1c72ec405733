"""Operator: one step of a pipeline over batches of Samples.

An operator declares the fields it reads and writes, takes a batch and returns
a batch. It may add fields, drop records (always with a reason, which goes to
the rejects stream) or expand one record into several. Parameters are a
pydantic model, validated when the operator is built, so a bad config fails
before any work starts.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.sample import Sample


class Params(BaseModel):
    """Base of every operator's parameters: unknown keys are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Reject:
    """A record an operator dropped, and why."""

    sample: Sample
    operator: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The reject as one line of ``rejects.jsonl``: operator, reason, the sample."""
        return {
            "operator": self.operator,
            "reason": self.reason,
            "sample": self.sample.to_json_dict(),
        }


@dataclass
class StepOutput:
    samples: list[Sample] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


class Operator(ABC):
    """Subclass, set ``name``, ``inputs``, ``outputs`` and ``Params``, implement ``process``."""

    name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[Params]] = Params
    # Bump when the operator's behaviour changes, so old checkpoints are not reused.
    version: ClassVar[int] = 1
    # At most this many records per batch (None: the pipeline's batch size). An operator
    # that turns one record into hundreds sets it, so its batch, not the run, bounds memory.
    max_batch: ClassVar[int | None] = None

    def __init__(self, **params: Any) -> None:
        try:
            self.params = self.Params(**params)
        except ValidationError as err:
            raise ConfigError(f"bad parameters for operator {self.name}: {err}") from err

    def signature(self, ctx: Any = None) -> str:
        """A content hash of the operator's identity: name, version, parameters and
        whatever of the run context changes its output (:meth:`context_identity`)."""
        payload = json.dumps(
            {
                "name": self.name,
                "version": self.version,
                "params": self.params.model_dump(mode="json"),
                "context": self.context_identity(ctx),
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def context_identity(self, ctx: Any) -> dict[str, Any]:
        """What of ``ctx`` this operator's output depends on (e.g. the engine and model)."""
        return {}

    def reject(self, sample: Sample, reason: str) -> Reject:
        """A reject of ``sample`` by this operator, for ``reason``."""
        return Reject(sample=sample, operator=self.name, reason=reason)

    @abstractmethod
    async def process(self, batch: Sequence[Sample], ctx: Any) -> StepOutput:
        """Transform one batch; records missing an input field should be rejected, not raise."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params.model_dump()})"
