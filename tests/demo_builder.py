"""The demo database builder of examples/, loaded for tests (it is a script, not a package module)."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "build_demo_dbs.py"


@cache
def demo_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_demo_dbs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class body runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
