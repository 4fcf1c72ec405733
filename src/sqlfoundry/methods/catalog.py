"""What methods exist: every stage operator and preset, by kind, and resolving a config's ``method``.

:func:`load_operators` imports every module under ``sqlfoundry.methods`` once,
so each stage is registered (a package added later, such as ``search/``, is
found the same way). :func:`resolve` turns a task's ``(type, method, params)``
into stage specs: a preset name gives its stages; a stage's short name within
the kind (``exec_vote`` for a ``select`` task) or a registered operator name
gives that operator.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from functools import cache
from typing import Any

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.core.operator import Operator
from sqlfoundry.core.registry import registered
from sqlfoundry.methods.presets import get_preset, presets
from sqlfoundry.methods.stage import KINDS

log = logging.getLogger(__name__)

StageSpec = dict[str, Any]


@cache
def load_operators() -> None:
    """Import every methods module, registering its operators."""
    import sqlfoundry.methods as package

    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        if ".engine" in info.name:
            continue
        try:
            importlib.import_module(info.name)
        except ImportError as err:  # an optional extra's module: its stages stay unavailable
            log.debug("methods module %s not loaded: %s", info.name, err)


def stage_classes() -> dict[str, type[Operator]]:
    """Registered operators that declare a ``kind`` (the Text-to-SQL stages), by name."""
    load_operators()
    return {name: cls for name, cls in registered().items() if getattr(cls, "kind", None) in KINDS}


def methods_by_kind() -> dict[str, list[str]]:
    """For each kind, the names a config may give as ``method``: presets and stage methods."""
    out: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for preset in presets().values():
        out[preset.kind].append(preset.name)
    for cls in stage_classes().values():
        method = getattr(cls, "method", None)
        if method and method not in out[cls.kind]:
            out[cls.kind].append(method)
    return {k: sorted(v) for k, v in out.items()}


def resolve(kind: str, method: str, params: dict[str, Any] | None = None) -> list[StageSpec]:
    """The stage specs of ``method`` for a task of ``kind``.

    Raises:
        ConfigError: no such method for this kind, listing those there are.
    """
    load_operators()
    params = dict(params or {})
    preset = get_preset(method)
    if preset is not None and preset.kind == kind:
        return preset.stages(params)
    classes = stage_classes()
    # A preset's name may also be a stage's short name in another kind: parse `din_sql`
    # is DIN-SQL's linker, generate `din_sql` the whole preset.
    by_method = [
        n for n, c in classes.items() if c.kind == kind and getattr(c, "method", None) == method
    ]
    if by_method:
        return [{"op": by_method[0], **params}]
    if preset is not None:
        raise ConfigError(f"method {method!r} is a {preset.kind} method, not a {kind} one",
                          hint=f"use type = \"{preset.kind}\"")  # fmt: skip
    if method in classes:
        if classes[method].kind != kind:
            raise ConfigError(f"stage {method!r} is a {classes[method].kind} stage, not a {kind} one",
                              hint=f"use type = \"{classes[method].kind}\"")  # fmt: skip
        return [{"op": method, **params}]
    if method in registered():
        return [{"op": method, **params}]
    known = methods_by_kind().get(kind, [])
    raise ConfigError(f"no {kind} method {method!r}",
                      hint=f"{kind} methods: {', '.join(known) or '(none)'}")  # fmt: skip
