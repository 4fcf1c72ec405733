"""Fixtures for synthesis: the demo databases, a run context, and a scriptable fake LLM.

``llm_ctx`` points an ``LLMClient`` at the fake OpenAI-compatible server on
127.0.0.1. A test decides the model's answers with ``fake.handler = answer_with(fn)``
(from ``synth_testing``), where ``fn(messages, n, index)`` returns the text of choice
``index``. The client is bound to the first event loop that uses it: call ``run()``
once per test with a fresh ``llm_ctx``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "llm"))

from fake_openai import FakeOpenAI  # noqa: E402

from sqlfoundry.core.context import RunContext  # noqa: E402
from sqlfoundry.db.manager import DatabaseManager  # noqa: E402
from sqlfoundry.db.pool import SafeExecutor  # noqa: E402


@pytest.fixture
def demo_ctx(demo_root: Path) -> Iterator[RunContext]:
    """Offline context over the demo databases; SQL runs in this process."""
    manager = DatabaseManager(root=demo_root)
    with SafeExecutor(manager, workers=0, timeout=10) as executor:
        yield RunContext(databases=manager, executor=executor, seed=7)


@pytest.fixture
def llm_ctx(demo_root: Path, fake: FakeOpenAI, tmp_path: Path) -> Iterator[RunContext]:
    """A context whose LLM is the fake server (private cache, fast retries)."""
    from sqlfoundry.llm import LLMClient, LLMConfig

    config = LLMConfig(base_url=fake.base_url, model="fake-model", cache_dir=tmp_path / "cache",
                       max_concurrency=4, timeout=5.0, retry_base_delay=0.01,
                       retry_max_delay=0.05)  # fmt: skip
    manager = DatabaseManager(root=demo_root)
    loop = asyncio.new_event_loop()
    client = LLMClient(config, env={})
    with SafeExecutor(manager, workers=0, timeout=10) as executor:
        yield RunContext(databases=manager, executor=executor, llm=client, seed=7)
    loop.run_until_complete(client.aclose())
    loop.close()
