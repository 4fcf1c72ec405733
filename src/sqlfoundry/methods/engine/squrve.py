"""Squrve's JSON config, read into ours.

Squrve (``startup_run/*.json``) splits a run into ``llm``, ``dataset``,
``database``, the default actors (``reducer.reduce_type``, ``parser.parse_type``,
``generator.generate_type``), ``task`` (``task_meta``: one task per actor;
``cpx_task_meta``: tasks composed of others by ``task_lis``) and
``engine.exec_process``. Each maps onto our config:

- ``llm``: ``model_name`` -> ``model``, ``max_token`` -> ``max_tokens``, ``time_out``
  -> ``timeout``, ``temperature``, ``top_p``, ``base_url``; the endpoint and key
  come from the usual flags and environment (``api_key`` entries are never read);
- ``dataset.data_source`` (``bench:sub:filter``, Squrve's filter grammar, see
  :mod:`sqlfoundry.bench.registry`) -> ``[dataset] source``, or a file -> ``gold``
  with ``dataset.db_path`` -> ``db_root``; a task's own ``data_source`` and
  ``meta.dataset.random_size`` / ``filter_by`` -> that task's dataset;
- ``task_meta`` -> ``[[tasks]]`` of the task's type, the actor named by
  ``meta.task.<kind>_type`` (or the default actor) -> our method (:data:`ACTORS`);
- ``cpx_task_meta`` -> ``complex`` tasks, ``task_lis`` -> ``steps``;
- ``eval_type`` -> ``eval`` (``execute_accuracy``, ``reduce_recall``... are accepted).

An actor we do not have is an error naming it and listing the ones we map.
Keys that change nothing here (save paths, parallelism, vector stores) are
ignored with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError

log = logging.getLogger(__name__)

# Squrve actor name -> (task type, our method, method parameters).
ACTORS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ZeroReducer": ("reduce", "zero", {}),
    "LinkAlignReducer": ("reduce", "embedding", {}),
    "LinkAlignParser": ("parse", "llm", {}),
    "DINSQLCoTParser": ("parse", "din_sql", {}),
    "MACSQLCoTParser": ("reduce", "mac_sql", {}),
    "DINSQLGenerator": ("generate", "din_sql", {}),
    "MACSQLGenerator": ("generate", "mac_sql", {}),
    "CHESSGenerator": ("generate", "chess", {}),
    "DAILSQLGenerator": ("generate", "few_shot", {}),
    "DINSQLDecomposer": ("decompose", "din_sql", {}),
    "MACSQLDecomposer": ("decompose", "mac_sql", {}),
    "ChessScaler": ("scale", "sample", {"stages": [{"op": "chess_generator"}]}),
    "DINSQLScaler": ("scale", "sample", {"stages": [{"op": "din_sql_linker"},
                                                    {"op": "din_sql_classifier"},
                                                    {"op": "din_sql_generator"}]}),
    "MACSQLScaler": ("scale", "sample", {"stages": [{"op": "mac_sql_selector"},
                                                    {"op": "mac_sql_decomposer"}]}),
    "DINSQLOptimizer": ("optimize", "din_sql", {}),
    "MACSQLOptimizer": ("optimize", "refine", {"template": "mac_sql_refine"}),
    "CHESSOptimizer": ("optimize", "refine", {"template": "chess_revise", "scope": "candidates"}),
    "CHESSSelector": ("select", "llm", {"mode": "pairwise"}),
    "FastExecSelector": ("select", "exec_vote", {}),
}  # fmt: skip
# Squrve's short names (``generate_type = "DINSQL"``) and the ones its sys_config uses.
ALIASES = {
    "LinkAlign": "LinkAlignReducer",
    "DINSQL": "DINSQLGenerator",
    "DIN_SQL": "DINSQLGenerator",
    "DIN_SQLGenerator": "DINSQLGenerator",
    "MACSQL": "MACSQLGenerator",
    "CHESS": "CHESSGenerator",
    "DAILSQL": "DAILSQLGenerator",
}
TASK_TYPES = {
    "GenerateTask": "generate", "generate": "generate", "ParseTask": "parse", "parse": "parse",
    "ReduceTask": "reduce", "reduce": "reduce", "ScaleTask": "scale", "scale": "scale",
    "DecomposeTask": "decompose", "decompose": "decompose", "OptimizeTask": "optimize",
    "optimize": "optimize", "SelectTask": "select", "select": "select",
}  # fmt: skip
# The per-kind key naming the actor in meta.task, and the top-level default section.
ACTOR_KEYS = {"reduce": "reduce_type", "parse": "parse_type", "generate": "generate_type",
              "scale": "scale_type", "decompose": "decompose_type",
              "optimize": "optimize_type", "select": "select_type"}  # fmt: skip
DEFAULT_SECTIONS = {"reduce": "reducer", "parse": "parser", "generate": "generator"}
SQURVE_KEYS = frozenset({"api_key", "router", "text_embed", "database", "task", "engine",
                         "reducer", "parser", "generator", "credential", "dataloader"})  # fmt: skip
_IGNORED_TASK_KEYS = ("task_name", "task_info", "schema_source", "log_save_path",
                      "is_save_dataset", "dataset_save_path", "open_parallel", "max_workers",
                      "open_actor_parallel")  # fmt: skip


def is_squrve(data: dict[str, Any]) -> bool:
    """A Squrve config has its own sections and no ``tasks`` list of ours."""
    return "tasks" not in data and bool(SQURVE_KEYS & set(data))


def actor(name: str, where: str) -> tuple[str, str, dict[str, Any]]:
    """Our ``(type, method, params)`` for a Squrve actor name.

    Raises:
        ConfigError: an actor sqlfoundry does not have, listing those it maps.
    """
    found = ACTORS.get(ALIASES.get(name, name))
    if found is None:
        raise ConfigError(
            f"{where}: Squrve actor {name!r} has no sqlfoundry counterpart",
            hint=f"mapped Squrve actors: {', '.join(sorted(ACTORS))}",
        )
    kind, method, params = found
    return kind, method, dict(params)


def from_squrve(data: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """Our config dict for a Squrve config dict (see the module doc)."""
    where = source or "Squrve config"
    out: dict[str, Any] = {"llm": _llm(data.get("llm") or {}, where)}
    for section in ("api_key", "text_embed", "database", "credential", "router", "dataloader"):
        if data.get(section):
            log.warning("%s: Squrve's %r section is not used here", where, section)
    dataset_section = data.get("dataset") or {}
    default_source = dataset_section.get("data_source")
    if default_source:
        out["dataset"] = _dataset(default_source, dataset_section.get("db_path"), {}, where)
    task_section = data.get("task") or {}
    metas = _as_list(task_section.get("task_meta"))
    complexes = _as_list(task_section.get("cpx_task_meta"))
    tasks = []
    for i, meta in enumerate(metas):
        tasks.append(_meta_task(meta, i, data, default_source, dataset_section, where))
    for i, meta in enumerate(complexes):
        tasks.append(_complex_task(meta, i, dataset_section, default_source, where))
    out["tasks"] = tasks
    process = (data.get("engine") or {}).get("exec_process")
    if process is not None:
        out["exec_process"] = process
    return out


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(value)


def _llm(section: dict[str, Any], where: str) -> dict[str, Any]:
    names = {"model_name": "model", "max_token": "max_tokens", "time_out": "timeout",
             "temperature": "temperature", "top_p": "top_p", "base_url": "base_url"}  # fmt: skip
    out = {
        ours: section[theirs] for theirs, ours in names.items() if section.get(theirs) is not None
    }
    if section.get("use") and "base_url" not in out:
        log.warning("%s: llm.use = %r names a provider; give its OpenAI-compatible base URL with "
                    "--llm-base-url or OPENAI_BASE_URL", where, section["use"])  # fmt: skip
    return out


def _dataset(data_source: str, db_path: Any, meta: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if (
        isinstance(data_source, str)
        and data_source.count(":") >= 1
        and not Path(data_source).exists()
    ):
        bench, _, rest = data_source.partition(":")
        subset, _, filters = rest.partition(":")
        extra = meta.get("filter_by")
        if extra:
            filters = ".".join(f for f in (filters, str(extra)) if f)
        # Squrve spells spider_dk; the registry spider-dk.
        parts = [bench.replace("_", "-"), subset] + ([filters] if filters else [])
        out["source"] = ":".join(parts).rstrip(":")
    else:
        if not db_path:
            raise ConfigError(
                f"{where}: data_source {data_source!r} is a file: give dataset.db_path"
            )
        out["gold"] = data_source
        out["db_root"] = db_path
    if meta.get("random_size") is not None:
        out["sample"] = meta["random_size"]
    return out


def _eval(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v for v in value.split(".") if v]
    return list(value)


def _meta_task(meta: dict[str, Any], i: int, data: dict[str, Any], default_source: Any,
               dataset_section: dict[str, Any], where: str) -> dict[str, Any]:  # fmt: skip
    task_id = str(meta.get("task_id") or f"task_{i}")
    here = f"{where}: task {task_id}"
    kind = TASK_TYPES.get(str(meta.get("task_type")))
    if kind is None:
        raise ConfigError(f"{here}: unknown task_type {meta.get('task_type')!r}",
                          hint=f"Squrve task types: {', '.join(sorted(TASK_TYPES))}")  # fmt: skip
    options = dict((meta.get("meta") or {}).get("task") or {})
    key = ACTOR_KEYS[kind]
    name = options.pop(key, None)
    if name is None and kind in DEFAULT_SECTIONS:
        name = (data.get(DEFAULT_SECTIONS[kind]) or {}).get(key)
    if name is None:
        raise ConfigError(
            f"{here}: no {key} in meta.task (and no default {DEFAULT_SECTIONS.get(kind, kind)})"
        )
    actor_kind, method, params = actor(str(name), here)
    for ignored in ("is_save", "save_dir"):
        options.pop(ignored, None)
    params.update(options)
    task: dict[str, Any] = {"id": task_id, "type": actor_kind, "method": method}
    if params:
        task["params"] = params
    evals = _eval(meta.get("eval_type"))
    if evals:
        task["eval"] = evals
    dataset_meta = (meta.get("meta") or {}).get("dataset") or {}
    task_source = meta.get("data_source")
    if (task_source and task_source != default_source) or dataset_meta:
        task["dataset"] = _dataset(task_source or default_source, dataset_section.get("db_path"),
                                   dataset_meta, here)  # fmt: skip
    _warn_ignored(meta, here)
    return task


def _complex_task(meta: dict[str, Any], i: int, dataset_section: dict[str, Any],
                  default_source: Any, where: str) -> dict[str, Any]:  # fmt: skip
    task_id = str(meta.get("task_id") or f"complex_{i}")
    here = f"{where}: task {task_id}"
    steps = meta.get("task_lis")
    if not isinstance(steps, list) or not steps:
        raise ConfigError(f"{here}: cpx_task_meta needs task_lis = [...]")
    task: dict[str, Any] = {"id": task_id, "type": "complex", "steps": steps}
    evals = _eval(meta.get("eval_type"))
    if evals:
        task["eval"] = evals
    dataset_meta = (meta.get("meta") or {}).get("dataset") or {}
    if dataset_meta:
        if not default_source:
            raise ConfigError(f"{here}: meta.dataset needs dataset.data_source")
        task["dataset"] = _dataset(
            default_source, dataset_section.get("db_path"), dataset_meta, here
        )
    if (meta.get("meta") or {}).get("actor"):
        log.warning("%s: meta.actor (per-step save paths) is not used here", here)
    _warn_ignored(meta, here)
    return task


def _warn_ignored(meta: dict[str, Any], where: str) -> None:
    ignored = [k for k in _IGNORED_TASK_KEYS if k in meta]
    if ignored:
        log.debug("%s: Squrve keys with no effect here: %s", where, ", ".join(ignored))
