"""Optional dependencies (install extras): one message, with the install hint, everywhere.

A feature that needs an extra imports it through :func:`require` (or raises
:func:`missing_extra`) when it is used, so ``import sqlfoundry`` and the commands
that do not need it work without it, and every missing extra reads the same::

    error: the gateway needs the fastapi package, from the [serve] extra
    (pip install 'sqlfoundry[serve]')
"""

from __future__ import annotations

import importlib
from types import ModuleType

from sqlfoundry.core.errors import MissingDependencyError


def missing_extra(feature: str, extra: str, module: str) -> MissingDependencyError:
    """The error for ``feature`` when ``module`` (from the ``extra`` extra) is not installed."""
    package = module.split(".")[0].replace("_", "-")
    return MissingDependencyError(
        f"{feature} needs the {package} package, from the [{extra}] extra",
        hint=f"pip install 'sqlfoundry[{extra}]'",
    )


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or raise :func:`missing_extra` naming ``feature`` and ``extra``.

    Raises:
        MissingDependencyError: the module (or one it needs) is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise missing_extra(feature, extra, error.name or module) from None
