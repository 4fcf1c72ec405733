"""Fixtures for the Text-to-SQL methods: the demo databases, a prepared retrieval method,
and the fake endpoint answering the methods' prompts.

The demo databases (bookshop, clinic, airline) are built once per session by
``examples/build_demo_dbs.py``, as ``tests/synth/conftest.py`` does. ``method``
is one :class:`RetrievalMethod` over them with a private cache, its pairs
synthesized once per session (60 sampled queries per database keeps it quick).
``fake_llm`` is the fake OpenAI server with :class:`fake_methods.MethodResponder`
answering from the packaged demo questions' gold SQL.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_methods import FakeOpenAI, MethodResponder  # noqa: E402

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


# --------------------------------------------------------------------------- the engine's tests

DEMO_QUESTIONS = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "sqlfoundry"
    / "methods"
    / "demo"
    / "questions.jsonl"
)


def demo_gold(ids: tuple[str, ...] | None = None) -> list[dict]:
    """The packaged demo questions (question, db_id, SQL), all or those with ``ids``."""
    records = [json.loads(line) for line in DEMO_QUESTIONS.read_text().splitlines() if line.strip()]
    return [r for r in records if ids is None or r["id"] in ids]


@pytest.fixture
def responder() -> MethodResponder:
    return MethodResponder({r["question"]: r["SQL"] for r in demo_gold()})


@pytest.fixture
def fake_llm(responder: MethodResponder) -> Iterator[FakeOpenAI]:
    """The fake endpoint, answering every methods prompt from the demo gold."""
    server = FakeOpenAI().start()
    server.handler = responder
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_settings(fake_llm: FakeOpenAI, tmp_path: Path) -> dict:
    """An ``[llm]`` table for the fake endpoint: private cache, no retries to wait for."""
    return {"base_url": fake_llm.base_url, "model": "fake-model", "cache_dir": str(tmp_path / "llm-cache"),
            "max_retries": 0, "timeout": 10.0, "max_concurrency": 8}  # fmt: skip


@pytest.fixture
def questions_file(tmp_path: Path) -> Callable[..., Path]:
    """Write some demo questions to a JSONL file and return its path."""

    def write(ids: tuple[str, ...] | None = None, name: str = "questions.jsonl") -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in demo_gold(ids)))
        return path

    return write


@pytest.fixture(autouse=True)
def _private_caches(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The retrieval pairs and value indexes go to a session folder, never the user's cache.
    monkeypatch.setenv("SQLFOUNDRY_CACHE_DIR", str(_session_cache(tmp_path_factory)))


_CACHE: list[Path] = []


def _session_cache(factory: pytest.TempPathFactory) -> Path:
    if not _CACHE:
        _CACHE.append(factory.mktemp("methods_cache"))
    return _CACHE[0]
