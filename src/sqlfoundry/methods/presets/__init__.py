"""Method presets: published Text-to-SQL methods as lists of stages.

A preset is one module of this package defining ``PRESET``, a :class:`Preset`:
its name (what a config's ``method`` says), the task kind it serves, its
parameters (a pydantic model, checked before any work) and the function that
turns them into stage specs (``{"op": NAME, ...params}``), which the engine
builds into core pipelines. Adding a method is adding a module here (with its
prompt templates and a test); nothing else needs to know about it.

Shipped: ``zero_shot``, ``few_shot``, ``din_sql``, ``mac_sql``, ``chess``,
``self_consistency``, ``retrieval``, ``sql_o1``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sqlfoundry.core.errors import ConfigError, validation_problems

StageSpec = dict[str, Any]


class PresetParams(BaseModel):
    """Base of every preset's parameters: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Preset:
    """A method as stages (see the module doc)."""

    name: str
    kind: str
    description: str
    Params: type[PresetParams]
    build: Callable[[Any], list[StageSpec]]

    def stages(self, params: dict[str, Any] | None = None) -> list[StageSpec]:
        """The stage specs for ``params``; ConfigError names what is wrong with them."""
        try:
            checked = self.Params(**(params or {}))
        except ValidationError as err:
            problems = validation_problems(err).replace("unknown key", "unknown parameter")
            raise ConfigError(f"bad parameters for method {self.name}: {problems}") from None
        return self.build(checked)


@cache
def presets() -> dict[str, Preset]:
    """Every preset of this package, by name."""
    found: dict[str, Preset] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        preset = getattr(module, "PRESET", None)
        if isinstance(preset, Preset):
            if preset.name in found:
                raise ConfigError(f"two presets are named {preset.name!r}")
            found[preset.name] = preset
    return found


def get_preset(name: str) -> Preset | None:
    """The preset called ``name``, or None."""
    return presets().get(name)
