"""Fixtures for the evaluation tests: the public benchmarks folder and small databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from evalkit import BENCHMARKS, missing

from sqlfoundry.db.manager import DatabaseManager


@pytest.fixture(scope="session")
def bench_root() -> Path:
    """The shared benchmarks folder (``spider/``, ``bird_minidev/``, ...)."""
    if not (BENCHMARKS / "spider" / "database").is_dir():
        missing(f"the public benchmarks are not at {BENCHMARKS}")
    return BENCHMARKS


@pytest.fixture(scope="session")
def spider_dir(bench_root: Path) -> Path:
    return bench_root / "spider"


@pytest.fixture(scope="session")
def spider_manager(spider_dir: Path) -> DatabaseManager:
    return DatabaseManager(root=spider_dir / "database")


SHOP = """
CREATE TABLE shop (id INTEGER PRIMARY KEY, name TEXT, city TEXT, staff INTEGER);
INSERT INTO shop VALUES (1, 'Alpha', 'Oslo', 5), (2, 'Beta', 'Oslo', 3),
                        (3, 'Gamma', 'Rome', 8), (4, 'Delta', 'Lima', 3);
CREATE TABLE sale (shop_id INTEGER REFERENCES shop (id), amount REAL);
INSERT INTO sale VALUES (1, 10.0), (1, 5.5), (3, 7.25), (4, 1.0);
"""


@pytest.fixture
def shop_root(tmp_path: Path) -> Path:
    """``dbs/shop/shop.sqlite``: 4 shops, 4 sales; the folder is a --db-root."""
    root = tmp_path / "dbs"
    (root / "shop").mkdir(parents=True)
    conn = sqlite3.connect(root / "shop" / "shop.sqlite")
    conn.executescript(SHOP)
    conn.commit()
    conn.close()
    return root


@pytest.fixture
def shop(shop_root: Path) -> DatabaseManager:
    return DatabaseManager(root=shop_root)
