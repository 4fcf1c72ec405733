"""The registry of operator names, so pipelines can be written in config files.

Operators register themselves when their module is imported. So that a name in a
config works without importing anything first, modules that register operators
are also declared as entry points of the group ``sqlfoundry.operators`` (see
``pyproject.toml``); they are imported the first time a name is not found. A
package of your own can declare its operators the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.operator import Operator

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "sqlfoundry.operators"

_OPERATORS: dict[str, type[Operator]] = {}
_plugins_loaded = False


def load_plugins() -> None:
    """Import every module declared under the ``sqlfoundry.operators`` entry points (once)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
            if callable(loaded):
                loaded()
        except Exception as error:  # noqa: BLE001 - one broken plugin must not hide the rest
            log.warning("operators of %s (%s) not loaded: %s", entry.name, entry.value, error)


def register(cls: type[Operator]) -> type[Operator]:
    """Class decorator: make ``cls`` buildable by its ``name``."""
    name = cls.name
    if name in _OPERATORS and _OPERATORS[name] is not cls:
        raise ConfigError(f"two operators are registered as {name!r}")
    _OPERATORS[name] = cls
    return cls


def build(name: str, params: dict[str, Any] | None = None) -> Operator:
    """Build the operator registered as ``name``; unknown names list what exists."""
    cls = _OPERATORS.get(name)
    if cls is None:
        load_plugins()
        cls = _OPERATORS.get(name)
    if cls is None:
        known = ", ".join(sorted(_OPERATORS)) or "(none registered)"
        raise ConfigError(f"unknown operator {name!r}", hint=f"registered operators: {known}")
    return cls(**(params or {}))


def registered(needing: Iterable[str] | None = None) -> dict[str, type[Operator]]:
    """Every registered operator by name (the declared plugins loaded first).

    ``needing``: load the plugins only when one of these names is not registered yet
    (importing every plugin module costs a run's start-up a good part of a second).
    """
    if needing is None or not set(needing) <= _OPERATORS.keys():
        load_plugins()
    return dict(_OPERATORS)
