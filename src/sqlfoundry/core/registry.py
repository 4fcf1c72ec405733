"""The registry of operator names, so pipelines can be written in config files."""

from __future__ import annotations

from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.operator import Operator

_OPERATORS: dict[str, type[Operator]] = {}


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
        known = ", ".join(sorted(_OPERATORS)) or "(none registered)"
        raise ConfigError(f"unknown operator {name!r}", hint=f"registered operators: {known}")
    return cls(**(params or {}))


def registered() -> dict[str, type[Operator]]:
    return dict(_OPERATORS)
