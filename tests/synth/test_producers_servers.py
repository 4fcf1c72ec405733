"""Pair producers on the local PostgreSQL and MariaDB servers: their dialects, read-only runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from synth_testing import run

from server_data import TEST_DB
from sqlfoundry.core.context import RunContext
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.synth.producers import (
    DepthEvolver,
    PairDatabase,
    SchemaSynthesizer,
    SqlExtractor,
    ValidatedProducer,
)

pytestmark = pytest.mark.server

LOG = [
    "SELECT name FROM department WHERE budget > 1000000",
    "SELECT d.name, count(*) FROM employee AS e JOIN department AS d ON e.dept_id = d.dept_id "
    "GROUP BY d.name",
    "UPDATE department SET budget = 0",
    "SELECT bump_budget()",
]


@pytest.fixture(params=["pg_server", "mysql_server"])
def server_db(request) -> Iterator[PairDatabase]:
    settings = request.getfixturevalue(request.param)
    manager = DatabaseManager(server=settings)
    with SafeExecutor(manager, workers=0, timeout=10) as executor:
        yield PairDatabase(RunContext(databases=manager, executor=executor, seed=3), TEST_DB)


def test_sql_extractor_and_depth_on_a_server(server_db):
    extractor = SqlExtractor(LOG, server_db)
    pairs = run(extractor.to_pairs())
    assert [p.sql for p in pairs] == LOG[:2] and all(p.success for p in pairs)
    write, hidden = extractor.rejects
    assert (write["source"], write["reason"]) == (
        "entry 2",
        "not a read-only query: not a query: UPDATE statements are refused",
    )
    # A write hidden in a function: the read-only transaction refuses it, and nothing is kept.
    assert hidden["source"] == "entry 3" and hidden["reason"].startswith("execution failed: ")
    assert "read-only transaction" in hidden["reason"].lower().replace("read only", "read-only")
    evolved = run(DepthEvolver(pairs[:2], count=1, db=server_db).to_pairs())
    assert evolved and all(p.success for p in evolved)
    checked = run(ValidatedProducer(evolved, server_db, execute=True).to_pairs())
    assert all(p.success and p.meta["rows"] > 0 for p in checked)


def test_schema_synthesizer_on_a_server(server_db):
    pairs = run(SchemaSynthesizer(server_db, count=2, complexity=["simple", "moderate"]).to_pairs())
    assert len(pairs) == 4 and all(p.success for p in pairs)
    results = run(server_db.execute([(p.sql, TEST_DB) for p in pairs]))
    assert all(r.ok and r.rows for r in results)
