"""Fixtures for the Text-to-SQL methods: the demo databases and a prepared retrieval method.

The demo databases (bookshop, clinic, airline) are built once per session by
``examples/build_demo_dbs.py``, as ``tests/synth/conftest.py`` does. ``method``
is one :class:`RetrievalMethod` over them with a private cache, its pairs
synthesized once per session (60 sampled queries per database keeps it quick).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from demo_builder import demo_builder  # noqa: E402
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.methods.retrieval import RetrievalMethod

DEMO_DBS = ("bookshop", "clinic", "airline")
NUM_PER_DB = 60


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo_dbs_methods")
    demo_builder().build_all(root)
    return root


@pytest.fixture(scope="session")
def demo_manager(demo_root: Path) -> DatabaseManager:
    return DatabaseManager(root=demo_root)


@pytest.fixture(scope="session")
def method_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("retrieval_cache")


@pytest.fixture(scope="session")
def method(demo_manager: DatabaseManager, method_cache: Path) -> RetrievalMethod:
    """A retrieval method over the demo databases, every database prepared."""
    built = RetrievalMethod(demo_manager, cache_dir=method_cache, num_per_db=NUM_PER_DB, seed=0)
    for db_id in DEMO_DBS:
        built.prepare(db_id)
    return built
