"""The ``sqlfoundry run`` config: tasks over a dataset, and the order they run in.

TOML (or YAML, or JSON)::

    exec_process = ["pipeline", ["gen", "zero", "~p"]]   # top-level keys before any table

    [llm]                      # as for every command
    base_url = "http://127.0.0.1:8000/v1"
    model = "qwen2.5-coder"

    [dataset]
    source = "spider:dev:difficulty-hard"   # or: gold = "questions.jsonl", db_root = "dbs"
    limit = 200                             # the first N (after sampling)
    sample = 0.1                            # a count or a fraction, drawn with `seed`

    [[tasks]]
    id = "link"
    type = "parse"
    method = "llm"

    [[tasks]]
    id = "gen"
    type = "generate"
    method = "din_sql"
    eval = ["ex", "em"]

    [[tasks]]
    id = "pipeline"
    type = "complex"
    steps = ["link", ["gen", "zero"], "select"]   # a nested list is a tree

A task's parameters are the keys of its table besides the ones above (or a
``params`` table). ``from = "TASK"`` makes a task read another task's output
records instead of the dataset (the other task must run before it).
``exec_process`` takes both of Squrve's forms: a list (``~p`` or ``*p`` inside
a list makes that list parallel; a sequence otherwise) or a dict
``{type = "sequence" | "parallel", tasks = [...]}``; unlike Squrve, a dict with
no ``type`` is an error. Without ``exec_process`` every task that is not a step
of a complex task runs, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sqlfoundry.core.errors import ConfigError, validation_problems

TaskType = Literal["reduce", "parse", "generate", "decompose", "scale", "optimize", "select",
                   "complex"]  # fmt: skip
PARALLEL_MARKS = ("~p", "*p")
SEQUENCE_MARKS = ("~s", "*s")
# Names a metric may be asked for by, Squrve's included, and what we compute for it.
METRIC_NAMES = {
    "ex": "ex",
    "execute_accuracy": "ex",
    "em": "em",
    "ex_squrve": "ex_squrve",
    "reduce": "reduce",
    "reduce_recall": "reduce",
    "reduce_precision": "reduce",
    "reduce_rate": "reduce",
    "parse": "parse",
    "parse_recall": "parse",
    "parse_precision": "parse",
    "parse_exact_matching": "parse",
    "linking": "parse",
    "oracle": "oracle",
    "pass@k": "oracle",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetConfig(_Strict):
    """Where the questions come from (exactly one of ``source`` and ``gold``)."""

    source: str | None = None
    gold: Path | None = None
    db_root: Path | None = None
    tables: Path | None = None
    mode: Literal["spider", "bird", "strict"] | None = None
    limit: int | None = Field(None, ge=1)
    sample: float | None = Field(None, gt=0)
    seed: int = 0
    # Teachings per database (``sqlfoundry pairs teachings``), given to every method
    # as external knowledge beside the question's own evidence.
    teachings: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if (self.source is None) == (self.gold is None):
            raise ValueError("give exactly one of source (a benchmark) and gold (a file)")
        if self.gold is not None and self.db_root is None:
            raise ValueError("gold needs db_root, the folder of the databases")
        if self.sample is not None and self.sample >= 1 and self.sample != int(self.sample):
            raise ValueError("sample is a count (a whole number) or a fraction below 1")
        return self

    def key(self) -> str:
        """A key that is equal for equal dataset settings (their JSON)."""
        return self.model_dump_json()


class TaskConfig(BaseModel):
    """One ``[[tasks]]`` table; keys other than these are the method's parameters."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    type: TaskType
    method: str | None = None
    steps: list[str | list[str]] | None = None
    eval: list[str] | None = None
    source: str | None = Field(None, alias="from")
    params: dict[str, Any] = Field(default_factory=dict)
    dataset: DatasetConfig | None = None
    description: str = ""

    @model_validator(mode="after")
    def _shape(self) -> TaskConfig:
        if self.type == "complex":
            if not self.steps:
                raise ValueError(
                    "a complex task needs steps = [...] (task ids; a nested list is a tree)"
                )
            if self.method is not None:
                raise ValueError("a complex task has steps, not a method")
        else:
            if self.method is None:
                raise ValueError(f"a {self.type} task needs a method")
            if self.steps is not None:
                raise ValueError("only a complex task has steps")
        for step in self.steps or ():
            if isinstance(step, list) and (not step or not all(isinstance(s, str) for s in step)):
                raise ValueError("a tree step is a non-empty list of task ids")
        return self

    @field_validator("eval")
    @classmethod
    def _metrics(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [m for m in value if m not in METRIC_NAMES]
        if unknown:
            raise ValueError(f"unknown metric(s) {', '.join(unknown)}; "
                             f"choose from {', '.join(sorted(METRIC_NAMES))}")  # fmt: skip
        return list(dict.fromkeys(METRIC_NAMES[m] for m in value))

    def method_params(self) -> dict[str, Any]:
        """The method's parameters: the ``params`` table plus the table's extra keys."""
        return {**self.params, **(self.model_extra or {})}


class RunSettings(_Strict):
    """``[run]``: how the engine runs (every key optional).

    ``embedder``: what stages that embed use: ``local`` (the packaged MiniLM),
    ``endpoint`` (the LLM endpoint's ``/v1/embeddings``), or ``auto`` (local when
    the ``embed`` extra is installed).
    """

    seed: int = 0
    batch_size: int = Field(32, ge=1)
    concurrent_batches: int = Field(4, ge=1)
    workers: int | None = Field(None, ge=0)
    timeout: float = Field(30.0, gt=0)
    embedder: Literal["auto", "local", "endpoint"] = "auto"


class RunConfig(_Strict):
    """A whole config file (see the module doc)."""

    llm: dict[str, Any] = Field(default_factory=dict)
    dataset: DatasetConfig | None = None
    tasks: list[TaskConfig] = Field(min_length=1)
    exec_process: list[Any] | dict[str, Any] | None = None
    run: RunSettings = Field(default_factory=RunSettings)
    bench: dict[str, Any] = Field(default_factory=dict)
    # where the tasks' pipelines run: sqlfoundry.core.executors.ExecutorSettings
    executor: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _tasks(self) -> RunConfig:
        ids = [t.id for t in self.tasks]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"task id(s) used twice: {', '.join(repeated)}")
        known = set(ids)
        for task in self.tasks:
            if task.dataset is None and task.source is None and self.dataset is None:
                raise ValueError(f"task {task.id}: no [dataset] (and no per-task dataset or from)")
            if task.source is not None and task.source not in known:
                raise ValueError(f"task {task.id}: from names no task ({task.source!r})")
            for step in _flat(task.steps or ()):
                if step not in known:
                    raise ValueError(f"task {task.id}: step {step!r} is not a task id")
                if step == task.id:
                    raise ValueError(f"task {task.id} lists itself as a step")
        return self


def _flat(steps: Any) -> list[str]:
    out: list[str] = []
    for step in steps:
        out.extend(_flat(step) if isinstance(step, list) else [step])
    return out


# --------------------------------------------------------------------------- exec_process


@dataclass
class Plan:
    """How tasks run: ``sequence`` or ``parallel`` of task ids and nested plans."""

    kind: Literal["sequence", "parallel"]
    items: list[str | Plan] = field(default_factory=list)

    def task_ids(self) -> list[str]:
        """The task ids of the plan in order, nested plans flattened."""
        out: list[str] = []
        for item in self.items:
            out.extend(item.task_ids() if isinstance(item, Plan) else [item])
        return out


def parse_exec_process(value: list[Any] | dict[str, Any] | None, config: RunConfig) -> Plan:
    """The plan of ``exec_process`` (module doc), every id checked.

    Raises:
        ConfigError: an unknown task id, a dict without ``type``, an empty list, a task
            listed twice, or a task run before (or beside) the task it reads ``from``.
    """
    if value is None:
        nested = {s for t in config.tasks for s in _flat(t.steps or ())}
        needed = {t.source for t in config.tasks if t.source}
        plan = Plan(
            "sequence", [t.id for t in config.tasks if t.id not in nested or t.id in needed]
        )
    elif isinstance(value, list):
        plan = _from_list(value)
    elif isinstance(value, dict):
        plan = _from_dict(value)
    else:
        raise ConfigError("exec_process is a list or a {type, tasks} table")
    known = {t.id for t in config.tasks}
    ids = plan.task_ids()
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ConfigError(f"exec_process names unknown task(s): {', '.join(unknown)}",
                          hint=f"tasks: {', '.join(sorted(known))}")  # fmt: skip
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ConfigError(f"exec_process runs task(s) twice: {', '.join(twice)}")
    _check_order(plan, config)
    return plan


def _from_list(items: list[Any]) -> Plan:
    if not items:
        raise ConfigError("exec_process has an empty list")
    parallel = any(i in PARALLEL_MARKS for i in items if isinstance(i, str))
    plan = Plan("parallel" if parallel else "sequence")
    for item in items:
        if isinstance(item, str):
            if item in PARALLEL_MARKS or item in SEQUENCE_MARKS:
                continue
            plan.items.append(item)
        elif isinstance(item, list):
            plan.items.append(_from_list(item))
        else:
            raise ConfigError(f"exec_process item {item!r} is neither a task id nor a list")
    if not plan.items:
        raise ConfigError("exec_process has a list with no task")
    return plan


def _from_dict(value: dict[str, Any]) -> Plan:
    kind = value.get("type")
    if kind is None:
        raise ConfigError("an exec_process table needs type = \"sequence\" or \"parallel\"",
                          hint="Squrve reads a table without type as parallel; here it is an error")  # fmt: skip
    kinds = {"sequence": "sequence", "seq": "sequence", "parallel": "parallel", "para": "parallel"}
    if kind not in kinds:
        raise ConfigError(f"exec_process type {kind!r} is not sequence (seq) or parallel (para)")
    extra = set(value) - {"type", "tasks"}
    if extra:
        raise ConfigError(f"exec_process table has unknown key(s): {', '.join(sorted(extra))}")
    tasks = value.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError("an exec_process table needs a non-empty tasks = [...]")
    plan = Plan(kinds[kind])  # type: ignore[arg-type]
    for item in tasks:
        if isinstance(item, str):
            plan.items.append(item)
        elif isinstance(item, dict):
            plan.items.append(_from_dict(item))
        else:
            raise ConfigError(f"exec_process item {item!r} is neither a task id nor a table")
    return plan


def _check_order(plan: Plan, config: RunConfig) -> None:
    """Each task reading ``from`` another must come after it, not beside it."""
    position: dict[str, tuple] = {}

    def walk(node: Plan, path: tuple) -> None:
        for i, item in enumerate(node.items):
            here = (*path, (node.kind, i))
            if isinstance(item, Plan):
                walk(item, here)
            else:
                position[item] = here

    walk(plan, ())
    for task in config.tasks:
        if task.source is None or task.id not in position:
            continue
        if task.source not in position:
            raise ConfigError(
                f"task {task.id} reads from {task.source}, which exec_process does not run"
            )
        if not _before(position[task.source], position[task.id]):
            raise ConfigError(f"task {task.id} reads from {task.source}, so it must run after it "
                              "(in a sequence), not before or beside it")  # fmt: skip


def _before(a: tuple, b: tuple) -> bool:
    for (kind_a, i), (_, j) in zip(a, b, strict=False):
        if i != j:
            return kind_a == "sequence" and i < j
    return False


def read_config(
    data: dict[str, Any], source: str | None = None, base_dir: Path | None = None
) -> RunConfig:
    """Validate a parsed config (ours, or Squrve's JSON, recognised by its keys).

    Relative dataset paths are taken from ``base_dir`` (the config file's folder).
    """
    from sqlfoundry.methods.engine.squrve import from_squrve, is_squrve

    if not isinstance(data, dict):
        raise ConfigError("a run config is a table of sections", file=source)
    if is_squrve(data):
        data = from_squrve(data, source)
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError("invalid run config: " + validation_problems(err), file=source) from None
    if base_dir is not None:
        config.dataset = _resolved(config.dataset, base_dir)
        for task in config.tasks:
            task.dataset = _resolved(task.dataset, base_dir)
    return config


def _resolved(dataset: DatasetConfig | None, base: Path) -> DatasetConfig | None:
    if dataset is None:
        return None
    update = {}
    for name in ("gold", "db_root", "tables"):
        path = getattr(dataset, name)
        if path is not None and not path.is_absolute():
            update[name] = base / path
    return dataset.model_copy(update=update)


def demo_config(db_root: Path) -> RunConfig:
    """The demo run: the packaged ``methods/demo/demo.toml`` over the demo databases at ``db_root``.

    Raises:
        ConfigError: ``db_root`` does not hold the demo databases.
    """
    import tomllib
    from importlib import resources

    folder = resources.files("sqlfoundry.methods").joinpath("demo")
    data = tomllib.loads(folder.joinpath("demo.toml").read_text(encoding="utf-8"))
    if not (db_root / "bookshop").is_dir():
        raise ConfigError(
            f"the demo databases are not under {db_root}",
            hint="run `make demo` (or python examples/build_demo_dbs.py --out examples/demo_dbs), "
            "or give --db-root DIR",
        )
    data["dataset"]["gold"] = str(folder.joinpath("questions.jsonl"))
    data["dataset"]["db_root"] = str(db_root)
    return read_config(data, source="sqlfoundry/methods/demo/demo.toml")


def read_config_file(path: Path) -> RunConfig:
    """A run config file (TOML, YAML or JSON by suffix), paths taken from its folder.

    Raises:
        ConfigError: the file cannot be read or parsed, or the config is invalid.
    """
    from sqlfoundry.core.config import read_config as read_file

    return read_config(read_file(path), source=str(path), base_dir=path.parent)
