"""Fixtures for the tree search: the fake OpenAI endpoint and a small real database."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "llm"))

from fake_openai import FakeOpenAI  # noqa: E402
from search_testing import singer_db  # noqa: E402


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The ``singers`` database (singer, concert) under a folder of its own."""
    return singer_db(tmp_path / "dbs")
