"""The ``sqlfoundry`` command line: a thin layer over the library.

One module per command group (``db``, ``evaluate``, ``llm``, ``synth``, ``serve``),
shared options in :mod:`sqlfoundry.cli.common`, the app in :mod:`sqlfoundry.cli.main`,
the console entry point (with the fast path of ``exec`` and ``eval``) in
:mod:`sqlfoundry.cli.entry`. The typer app is imported on first use of ``app``.
"""

from typing import Any

from sqlfoundry.cli.entry import main

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from sqlfoundry.cli.main import app

        return app
    raise AttributeError(f"module 'sqlfoundry.cli' has no attribute {name!r}")
