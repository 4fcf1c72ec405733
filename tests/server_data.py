"""Constants and helpers shared by the server-backed tests and their fixtures.

They live here, not in conftest.py, so test modules can import them by a name
no other conftest.py shadows.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPIDER = REPO.parent / "shared" / "benchmarks" / "spider"
# One database per test run, so two runs on one machine never drop each other's data.
TEST_DB = f"sqlfoundry_test_{os.getpid()}"
# The local servers; the ports can be moved (e.g. to check the skip / CI-failure path).
PG_PORT = int(os.environ.get("SQLFOUNDRY_TEST_PG_PORT", "5432"))
MYSQL_PORT = int(os.environ.get("SQLFOUNDRY_TEST_MYSQL_PORT", "3306"))


def missing(reason: str) -> None:
    """Skip, or fail when running in CI where every dependency must be present."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(f"!!! SKIPPED: {reason} !!!")


N_EMPLOYEES = 30
N_ASSIGNMENTS = 15
DEPARTMENTS = [
    (1, "Engineering", "1500000.00"),
    (2, "Sales", "800000.00"),
    (3, "Support", None),
    (4, "Research", "2200000.50"),
    (5, "Legal", None),
]
PROJECTS = ["apollo", "gemini", "mercury"]


def employees() -> list[tuple]:
    """30 rows: (emp_id, name, dept_id, hired, salary) with some NULL dept_id / salary."""
    rows = []
    for i in range(1, N_EMPLOYEES + 1):
        dept = None if i % 7 == 0 else i % 5 + 1
        hired = dt.date(2015, 1, 1) + dt.timedelta(days=37 * i)
        salary = None if i % 6 == 0 else 40000 + 1000 * i
        rows.append((i, f"Employee {i:02d}", dept, hired, salary))
    return rows


def assignments() -> list[tuple]:
    """15 rows: (emp_id, project, hours) with some NULL hours."""
    return [
        (i, PROJECTS[i % 3], None if i % 5 == 0 else 10 * i) for i in range(1, N_ASSIGNMENTS + 1)
    ]
