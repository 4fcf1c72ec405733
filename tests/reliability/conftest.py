"""Fixtures for the reliability suite: demo and Unicode databases, a fake endpoint.

Every case runs under a timeout (pytest-timeout, and each subprocess its own), so
a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "llm"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from unicode_db import build  # noqa: E402


@pytest.fixture(scope="session")
def unicode_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``unicode_db``: tables 顧客, заказы, élèves and Ölçüm."""
    root = tmp_path_factory.mktemp("unicode_dbs")
    build(root)
    return root
