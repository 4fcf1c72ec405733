"""The two synthesis pipelines, their settings, and the context they run in.

Synthesis mode (databases in)::

    sql_generator -> sql_execution_filter -> sql_semantic_filter -> question_generator
    -> sql_consistency_filter -> prompt_generator -> cot_generator -> component_classifier
    -> execution_classifier

Refinement mode (question/SQL pairs in)::

    input_check -> sql_execution_filter -> sql_semantic_filter -> sql_consistency_filter
    -> sql_variation_generator -> sql_execution_filter -> question_generator
    -> prompt_generator -> cot_generator -> component_classifier -> execution_classifier

Both are ordinary :class:`~sqlfoundry.core.pipeline.Pipeline` objects built from
registered operator names, so a config file can change any operator's parameters
(``[synth.ops.<name>]``) or replace the whole list (``[[synth.steps]]``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.registry import build, registered

Mode = Literal["synth", "refine"]

# Both modes end the same way: a question, the training prompt, the reasoning, the grades.
_DECORATE = (
    "question_generator",
    "prompt_generator",
    "cot_generator",
    "component_classifier",
    "execution_classifier",
)
# In synthesis mode the question is written from the SQL, then checked against it.
SYNTHESIS_STEPS = (
    "sql_generator",
    "sql_execution_filter",
    "sql_semantic_filter",
    "question_generator",
    "sql_consistency_filter",
    *_DECORATE[1:],
)
REFINEMENT_STEPS = (
    "input_check",
    "sql_execution_filter",
    "sql_semantic_filter",
    "sql_consistency_filter",
    "sql_variation_generator",
    "sql_execution_filter",
    *_DECORATE,
)


def load_operators() -> None:
    """Import every synthesis operator so its name is registered."""
    from sqlfoundry.synth import (  # noqa: F401
        classifiers,
        consistency_filter,
        cot_generator,
        execution_filter,
        prompt_generator,
        question_generator,
        records,
        semantic_filter,
        sql_generator,
        variation_generator,
    )
    from sqlfoundry.synth.producers import operators  # noqa: F401


class SynthSettings(BaseModel):
    """The ``[synth]`` section of a config file; CLI flags override it.

    Attributes:
        engine: ``offline`` (no model) or ``llm`` for every operator that has both.
        num_per_db: SQL queries the generator writes per database (synthesis mode).
        seed: every random choice derives from it: same seed, same data.
        batch_size: records per batch and per checkpoint (LLM engine: 32 unless set).
        concurrent_batches: batches of a step in flight at once (LLM engine: 16 unless
            set; keeps the endpoint at its concurrency while a batch waits for its
            slowest answer).
        workers: worker processes (None: one per core). Offline, every step's batches
            run in them (each runs its own SQL); with an LLM, they run the SQL.
        timeout: seconds per query.
        ops: parameters per operator name, e.g. ``{"cot_generator": {"max_retries": 5}}``.
        steps: a whole custom step list (``[{"op": name, ...params}]``) instead of the mode's.
        embedder: what the LLM question generator embeds candidates with.
    """

    model_config = ConfigDict(extra="forbid")

    engine: Literal["offline", "llm"] = "offline"
    num_per_db: int = Field(100, ge=1)
    seed: int = 0
    batch_size: int = Field(256, ge=1)
    concurrent_batches: int | None = Field(None, ge=1)
    workers: int | None = Field(None, ge=0)
    timeout: float = Field(30.0, gt=0)
    ops: dict[str, dict[str, Any]] = Field(default_factory=dict)
    steps: list[dict[str, Any]] | None = None
    embedder: Literal["local", "endpoint"] = "local"

    @classmethod
    def from_sources(
        cls, section: dict[str, Any] | None, overrides: dict[str, Any]
    ) -> SynthSettings:
        """The settings of a config file's ``[synth]`` section with the non-None ``overrides`` on top."""
        from sqlfoundry.core.config import section_settings

        return section_settings(cls, section, overrides, "synth")


def step_list(mode: Mode, settings: SynthSettings) -> list[dict[str, Any]]:
    """The mode's steps with the settings applied, as ``[{"op": name, **params}]``."""
    from sqlfoundry.synth.base import EngineOperator
    from sqlfoundry.synth.semantic_filter import ALL_CHECKS

    load_operators()
    if settings.steps is not None:
        return [dict(step) for step in settings.steps]
    names = SYNTHESIS_STEPS if mode == "synth" else REFINEMENT_STEPS
    known = registered(needing=[*names, *settings.ops])
    unknown = set(settings.ops) - set(known)
    if unknown:
        raise ConfigError(
            f"[synth.ops] names unknown operator(s): {', '.join(sorted(unknown))}",
            hint=f"operators: {', '.join(sorted(known))}",
        )
    steps = []
    for name in names:
        params: dict[str, Any] = {}
        if issubclass(known[name], EngineOperator):
            params["engine"] = settings.engine
        if name == "sql_generator":
            params["num_per_db"] = settings.num_per_db
        if name == "sql_semantic_filter" and mode == "synth":
            # Generated SQL is also held to what a person would write; people's own pairs are not.
            params["checks"] = list(ALL_CHECKS)
        params.update(settings.ops.get(name, {}))
        steps.append({"op": name, **params})
    return steps


# With an LLM the steps run at the same time and a batch goes on to the next step when
# its slowest answer is in (see sqlfoundry.core.executors.local): small batches keep
# the records moving, and more of them at once keep the endpoint's slots full. A step
# holds 16 x 32 records at most.
LLM_BATCH_SIZE = 32
LLM_CONCURRENT_BATCHES = 16


def batching(settings: SynthSettings) -> tuple[int, int]:
    """(records per batch, batches of a step at once): the settings', or the engine's
    defaults where they leave them."""
    llm = settings.engine == "llm"
    size = LLM_BATCH_SIZE if llm and "batch_size" not in settings.model_fields_set else None
    concurrent = settings.concurrent_batches or (LLM_CONCURRENT_BATCHES if llm else 1)
    return size or settings.batch_size, concurrent


def build_pipeline(mode: Mode, settings: SynthSettings) -> Pipeline:
    """The mode's pipeline; every operator's parameters are checked here, before any work."""
    steps = step_list(mode, settings)
    batch_size, concurrent = batching(settings)
    operators = []
    for i, step in enumerate(steps, start=1):
        if not isinstance(step, dict) or "op" not in step:
            raise ConfigError(f"step {i} needs an 'op' naming a registered operator")
        operators.append(build(step["op"], {k: v for k, v in step.items() if k != "op"}))
    return Pipeline(operators, batch_size=batch_size, concurrent_batches=concurrent)


@contextlib.asynccontextmanager
async def run_context(
    settings: SynthSettings, databases: Any, llm_config: Any = None, executor: Any = None
) -> AsyncIterator[RunContext]:
    """Open what a run needs: the SQL worker pool, and for the LLM engine the client
    (checked with a preflight alongside its first requests) and an embedder.

    Args:
        executor: where the run's pipelines go (an ``Executor``, ``ExecutorSettings``,
            ``"local"`` or ``"ray"``; None: local). The context carries it, with the
            spec a Ray actor rebuilds the context from.
    """
    from sqlfoundry.core.executors import make_executor
    from sqlfoundry.db.pool import SafeExecutor
    from sqlfoundry.llm.context_spec import ContextSpec, shared_llm_config

    chosen = make_executor(executor)
    remote = chosen.kind != "local"
    # On Ray the actors run the SQL; the driver keeps no worker processes.
    sql = SafeExecutor(databases, workers=0 if remote else settings.workers,
                       timeout=settings.timeout)  # fmt: skip
    if chosen is not executor and not remote and settings.engine == "offline":
        from sqlfoundry.core.executors.local import LocalExecutor

        # Offline, every step is CPU work: its batches go to that many worker processes
        # (which run their SQL themselves), so the run has every core.
        chosen = LocalExecutor(processes=sql.workers, fuse=getattr(chosen, "fuse", True))
    llm = None
    try:
        embedder = None
        if settings.engine == "llm":
            from sqlfoundry.llm import LLMClient

            if llm_config is None or not llm_config.is_configured:
                raise ConfigError(
                    "--engine llm needs an LLM endpoint",
                    hint="set [llm] base_url and model in the config, OPENAI_BASE_URL and "
                    "SQLFOUNDRY_LLM_MODEL, or --llm-base-url and --llm-model",
                )
            llm = LLMClient(llm_config)
            # Checked alongside the first requests; a failed one raises what it found.
            llm.start_preflight()
            if settings.embedder == "local" and not remote:
                embedder = local_embedder()
        llm_spec = shared_llm_config(llm_config) if settings.engine == "llm" else None
        spec = ContextSpec(databases=databases, llm=llm_spec, seed=settings.seed,
                           workers=0, timeout=settings.timeout,
                           embedder=settings.embedder if llm is not None else "none")  # fmt: skip
        yield RunContext(databases=databases, executor=sql, llm=llm, embedder=embedder,
                         seed=settings.seed, pipeline_executor=chosen, spec=spec)  # fmt: skip
    finally:
        sql.close()
        if llm is not None:
            await llm.aclose()
        if chosen is not executor:
            chosen.close()  # one this run made (a Ray instance it started)


def local_embedder() -> Any:
    """The packaged MiniLM when the ``embed`` extra is installed; else None (the
    endpoint's /v1/embeddings is used). See :func:`sqlfoundry.llm.context_spec.local_embedder`."""
    from sqlfoundry.llm.context_spec import local_embedder as packaged

    return packaged()
