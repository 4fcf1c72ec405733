"""The ``sqlfoundry`` command line: a thin layer over the library.

One module per command group (``db``, ``evaluate``, ``llm``, ``synth``, ``serve``),
shared options in :mod:`sqlfoundry.cli.common`, the app in :mod:`sqlfoundry.cli.main`.
"""

from sqlfoundry.cli.main import app, main

__all__ = ["app", "main"]
