"""Fixtures for the gateway tests: small databases, the fake upstream, running gateways.

The helpers themselves live in ``gateway_testing.py`` (importable by the test modules).
"""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_testing import FakeOpenAI, RunningGateway, start_gateway

TESTS = Path(__file__).resolve().parents[1]
BUILDER = TESTS.parent / "examples" / "build_demo_dbs.py"

# A small database whose prompts the tests spell out in full.
CONCERTS_SQL = """
CREATE TABLE singer (
    singer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT
);
CREATE TABLE concert (
    concert_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    year INTEGER,
    singer_id INTEGER REFERENCES singer (singer_id)
);
INSERT INTO singer VALUES (1, 'Ada', 'France'), (2, 'Bo', 'Chile'), (3, 'Cy', 'France');
INSERT INTO concert VALUES (10, 'Spring', 2019, 1), (11, 'Summer', 2020, 1), (12, 'Autumn', 2020, 2);
"""


@pytest.fixture(scope="session")
def concerts_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A db_root holding ``concerts/concerts.sqlite``."""
    root = tmp_path_factory.mktemp("concerts_root")
    (root / "concerts").mkdir()
    con = sqlite3.connect(root / "concerts" / "concerts.sqlite")
    con.executescript(CONCERTS_SQL)
    con.commit()
    con.close()
    return root


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bookshop, clinic and airline, built once per session (Spider layout)."""
    spec = importlib.util.spec_from_file_location("build_demo_dbs_for_serve", BUILDER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    root = tmp_path_factory.mktemp("demo_dbs")
    module.build_all(root)
    return root


# --------------------------------------------------------------------------- fake upstream


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> FakeOpenAI:
    """The module's fake upstream, reset for this test."""
    fake_server.reset()
    fake_server.latency = 0.0
    fake_server.api_key = None
    return fake_server


# --------------------------------------------------------------------------- running gateways


@pytest.fixture
def gateways() -> Iterator[Callable[..., RunningGateway]]:
    """Start gateways with ``gateways(config, env=..., method_factory=...)``; all stop after the test."""
    started: list[RunningGateway] = []

    def start(config: dict[str, Any], **kwargs: Any) -> RunningGateway:
        running = start_gateway(config, **kwargs)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
