"""Tasks into core pipelines: each task's stages built, checked and wired.

A task of a stage type resolves its ``method`` through the catalog (a preset's
stages, or one stage). A ``complex`` task's ``steps`` are task ids: a plain id
contributes that task's stages in order, a nested list becomes a ``tree``
whose children are those tasks (a task of several stages as a ``sequence``).
The stages of a task are the steps of one :class:`~sqlfoundry.core.pipeline.Pipeline`,
so each has its own checkpoint.

Before any work, every stage's required fields are checked against what the
dataset (or the ``from`` task) and the stages before it write: a selector with
nothing to choose from is a config error, not a thousand record errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.operator import Operator
from sqlfoundry.methods.catalog import resolve
from sqlfoundry.methods.compose import build_spec, inputs_of, outputs_of, requirements
from sqlfoundry.methods.engine.config import RunConfig, TaskConfig
from sqlfoundry.methods.stage import DATASET_FIELDS

StageSpec = dict[str, Any]


@dataclass
class TaskBuild:
    """One task, ready to run."""

    task: TaskConfig
    specs: list[StageSpec]
    operators: list[Operator]
    written: set[str] = field(default_factory=set)
    needs: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        """The task's id."""
        return self.task.id


def task_specs(task: TaskConfig, tasks: dict[str, TaskConfig],
               trail: tuple[str, ...] = ()) -> list[StageSpec]:  # fmt: skip
    """The stage specs of ``task`` (complex steps expanded)."""
    if task.id in trail:
        raise ConfigError(f"task {task.id} is a step of itself: {' -> '.join((*trail, task.id))}")
    if task.type != "complex":
        assert task.method is not None
        try:
            return resolve(task.type, task.method, task.method_params())
        except ConfigError as err:
            raise ConfigError(f"task {task.id}: {err.message}", hint=err.hint) from None
    if task.method_params():
        raise ConfigError(f"task {task.id}: a complex task takes no method parameters "
                          f"({', '.join(task.method_params())}); give them to its steps")  # fmt: skip
    specs: list[StageSpec] = []
    for step in task.steps or ():
        if isinstance(step, str):
            specs.extend(task_specs(tasks[step], tasks, (*trail, task.id)))
        else:
            children = []
            for child in step:
                inner = task_specs(tasks[child], tasks, (*trail, task.id))
                children.append(
                    inner[0] if len(inner) == 1 else {"op": "sequence", "stages": inner}
                )
            specs.append({"op": "tree", "stages": children})
    return specs


def build_task(task: TaskConfig, config: RunConfig, available: set[str]) -> TaskBuild:
    """Build ``task``'s operators and check each one's inputs against ``available`` fields."""
    tasks = {t.id: t for t in config.tasks}
    specs = task_specs(task, tasks)
    try:
        operators = [build_spec(s) for s in specs]
    except ConfigError as err:
        raise ConfigError(f"task {task.id}: {err.message}", hint=err.hint) from None
    have = set(available)
    needs: frozenset[str] = frozenset()
    for op in operators:
        missing = sorted(inputs_of(op) - have)
        if missing:
            raise ConfigError(
                f"task {task.id}: stage {op.name} needs {', '.join(missing)}, which neither the "
                "dataset nor an earlier stage writes",
                hint='add a stage that writes it, or read from a task that does (from = "TASK")',
            )
        have |= outputs_of(op)
        needs |= requirements(op)
    return TaskBuild(task, specs, operators, have - set(available), needs)


def build_all(config: RunConfig, order: list[str]) -> dict[str, TaskBuild]:
    """Every task ``order`` runs, each checked against what it reads."""
    tasks = {t.id: t for t in config.tasks}
    built: dict[str, TaskBuild] = {}
    written: dict[str, set[str]] = {}
    for task_id in order:
        task = tasks[task_id]
        available = set(DATASET_FIELDS)
        if task.source is not None:
            available |= written.get(task.source, set())
        built[task_id] = build_task(task, config, available)
        written[task_id] = available | built[task_id].written
    return built
