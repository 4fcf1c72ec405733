"""Where sqlfoundry keeps what it can compute again: ``$SQLFOUNDRY_CACHE_DIR``, else the
user's cache folder (``~/.cache/sqlfoundry`` on Linux)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """``$SQLFOUNDRY_CACHE_DIR`` when set, else the user cache dir's ``sqlfoundry``."""
    env = os.environ if env is None else env
    base = env.get("SQLFOUNDRY_CACHE_DIR")
    if base:
        return Path(base).expanduser()
    if sys.platform == "linux":
        # What platformdirs answers on Linux, without importing it on a command's start.
        xdg = env.get("XDG_CACHE_HOME", "").strip()
        return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "sqlfoundry"
    import platformdirs

    return Path(platformdirs.user_cache_dir("sqlfoundry"))
