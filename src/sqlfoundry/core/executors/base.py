"""The executor interface: a ``Pipeline`` says what runs, an executor says where.

Two implementations: :class:`~sqlfoundry.core.executors.local.LocalExecutor`
(asyncio in this process, the SQL process pool; the default) and
:class:`~sqlfoundry.core.executors.ray.RayExecutor` (Ray Data ``map_batches`` over
actor pools). Operators never learn which one runs them: they get a
``RunContext``, built here or rebuilt on a Ray actor from ``ctx.spec``. Both write
the same step folders under the same signatures with an atomic ``done`` marker,
so a run's resume does not depend on the executor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sqlfoundry.core.runs import Fold, RunResult
from sqlfoundry.core.sample import Sample

Progress = Callable[[str, float, int], None]


class Executor(ABC):
    """Runs a pipeline's steps over records into a run directory."""

    kind: str = ""

    @abstractmethod
    async def execute(
        self,
        pipeline: Any,
        samples: Sequence[Sample],
        run_dir: Path,
        ctx: Any,
        *,
        progress: Progress | None = None,
        input_rejects: Sequence[dict[str, Any]] = (),
        record: Callable[[Sample], dict[str, Any]] | None = None,
        fold: Fold | None = None,
    ) -> RunResult:
        """Run every step of ``pipeline`` (see :meth:`sqlfoundry.core.pipeline.Pipeline.run`)."""

    def close(self) -> None:  # noqa: B027 - most executors hold nothing
        """Release what the executor holds (a Ray connection it opened)."""


class ExecutorSettings(BaseModel):
    """The ``[executor]`` section of a config; ``--executor`` / ``--ray-address`` override it.

    Attributes:
        kind: ``local`` (this process; the default) or ``ray``.
        address: the Ray cluster (``ray://host:10001``, ``auto``, ``host:6379``); None
            starts a Ray instance on this machine.
        actors: (min, max) actors of each pool (one for the run's steps, or one per step).
        num_cpus: CPUs each actor asks Ray for; by default the cluster's CPUs shared
            among the pools' smallest sizes (every pool's actors run at once, as the
            records stream through them), at most 1.
        checkpoint_dir: where a Ray run's step checkpoints go; every node must reach it
            (a shared file system). Default ``RUN_DIR/steps``.
        init: extra ``ray.init`` keyword arguments when this process starts Ray.
        fuse: a Ray run takes each batch through all its steps on one actor (one
            pool, one actor start); False gives each step a pool of its own. A local
            run with no LLM takes each batch through consecutive steps in one go
            (:mod:`sqlfoundry.core.executors.stage`); False runs step after step.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "ray"] = "local"
    address: str | None = None
    actors: tuple[int, int] = (1, 2)
    num_cpus: float | None = Field(None, gt=0)
    checkpoint_dir: Path | None = None
    init: dict[str, Any] = Field(default_factory=dict)
    fuse: bool = True

    @field_validator("actors")
    @classmethod
    def _check_actors(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low < 1 or high < low:
            raise ValueError("actors must be (min, max) with 1 <= min <= max")
        return value

    @classmethod
    def from_sources(cls, section: Any, overrides: dict[str, Any]) -> ExecutorSettings:
        """The ``[executor]`` section with the non-None ``overrides`` on top."""
        from sqlfoundry.core.config import section_settings

        given = {**(section or {}), **{k: v for k, v in overrides.items() if v is not None}}
        if given.get("address") and "kind" not in given:
            given["kind"] = "ray"  # an address means a cluster
        return section_settings(cls, given, {}, "executor")


def make_executor(settings: ExecutorSettings | Executor | str | None) -> Executor:
    """An executor from its settings (or its kind); the local one by default."""
    if isinstance(settings, Executor):
        return settings
    if settings is None or settings == "local":
        settings = ExecutorSettings()
    elif isinstance(settings, str):
        settings = ExecutorSettings.from_sources({}, {"kind": settings})
    if settings.kind == "local":
        from sqlfoundry.core.executors.local import LocalExecutor

        return LocalExecutor(fuse=settings.fuse)
    from sqlfoundry.core.executors.ray import RayExecutor

    return RayExecutor(address=settings.address, actors=settings.actors,
                       num_cpus=settings.num_cpus, checkpoint_dir=settings.checkpoint_dir,
                       init=settings.init, fuse=settings.fuse)  # fmt: skip
