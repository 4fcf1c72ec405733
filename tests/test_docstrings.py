"""Every public definition says what it is: modules, classes, functions, methods, properties.

Checked on the imported objects, so a method that overrides a documented one inherits
its docstring (as ``help()`` shows it). Every package of the product is held to it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import sqlfoundry

CHECKED = ("sqlfoundry.api", "sqlfoundry.bench", "sqlfoundry.cli", "sqlfoundry.core", "sqlfoundry.db",
           "sqlfoundry.llm", "sqlfoundry.methods", "sqlfoundry.sql", "sqlfoundry.serve",
           "sqlfoundry.synth")  # fmt: skip


def _modules() -> list[str]:
    names = ["sqlfoundry"]
    for info in pkgutil.walk_packages(sqlfoundry.__path__, "sqlfoundry."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name.startswith(CHECKED):
            names.append(info.name)
    return names


def _member_doc(cls: type, name: str, value: object) -> str | None:
    if isinstance(value, property):
        for klass in cls.__mro__:
            found = vars(klass).get(name)
            if isinstance(found, property) and found.__doc__:
                return found.__doc__
        return None
    return inspect.getdoc(getattr(cls, name))


def _undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing = [] if (module.__doc__ or "").strip() else [f"{module_name} (module)"]
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
            continue
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not inspect.getdoc(obj):
            missing.append(f"{module_name}.{name}")
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                func = (
                    value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                )
                if member.startswith("_") or not inspect.isfunction(func):
                    continue
                if not _member_doc(obj, member, value):
                    missing.append(f"{module_name}.{name}.{member}")
    return missing


@pytest.mark.parametrize("module_name", _modules())
def test_public_definitions_have_docstrings(module_name: str):
    assert _undocumented(module_name) == []
