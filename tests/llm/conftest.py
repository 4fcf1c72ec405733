"""Fixtures for the LLM layer: a fake OpenAI-compatible server per test, and configs pointing at it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI

from sqlfoundry.llm import LLMConfig

TRANSPORTS = ("aiohttp", "openai")


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Run the test once per transport: both must behave the same."""
    return request.param


@pytest.fixture
def make_config(fake: FakeOpenAI, tmp_path: Path, transport: str) -> Callable[..., LLMConfig]:
    """An LLMConfig for the fake server with a private cache and test-speed retries."""

    def build(**overrides) -> LLMConfig:
        values = dict(
            base_url=fake.base_url,
            model="fake-model",
            cache_dir=tmp_path / "cache",
            max_concurrency=8,
            timeout=5.0,
            retry_base_delay=0.01,
            retry_max_delay=0.05,
            transport=transport,
        )
        values.update(overrides)
        return LLMConfig(**values)

    return build
