"""Fixtures for the Python API: the demo databases, a private retrieval cache, the fake LLM."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "llm"))
sys.path.insert(0, str(TESTS / "synth"))  # synth_testing.answer_with scripts the fake's answers


from demo_builder import demo_builder  # noqa: E402


@pytest.fixture(scope="session")
def demo_dbs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bookshop, clinic and airline (Spider layout), built once for the API tests."""
    folder = tmp_path_factory.mktemp("api_demo_dbs")
    demo_builder().build_all(folder)
    return folder


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The retrieval pairs and LLM responses are cached under the test's own folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SQLFOUNDRY_CACHE_DIR", str(cache))
    return cache
