"""The cache folder: $SQLFOUNDRY_CACHE_DIR, else where platformdirs puts a user cache."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from sqlfoundry.core.cachedir import cache_root


def test_the_variable_wins(tmp_path):
    assert cache_root({"SQLFOUNDRY_CACHE_DIR": str(tmp_path)}) == tmp_path


@pytest.mark.parametrize("xdg", [None, "/somewhere/cache", "relative/cache", "  "])
def test_the_same_folder_as_platformdirs(xdg, monkeypatch):
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    env = {} if xdg is None else {"XDG_CACHE_HOME": xdg}
    expected = Path(platformdirs.user_cache_dir("sqlfoundry"))
    assert cache_root(env) == expected, sys.platform
