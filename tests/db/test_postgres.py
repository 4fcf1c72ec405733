"""The PostgreSQL connector against the local server (database ``sqlfoundry_test``)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from server_data import DEPARTMENTS, PG_PORT, TEST_DB, assignments, employees
from sqlfoundry.core.errors import DatabaseConnectionError, QueryError
from sqlfoundry.db.manager import DatabaseManager, ServerSettings
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.db.schema import ForeignKey

pytestmark = pytest.mark.server
psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def pg(pg_server):
    db = DatabaseManager(server=pg_server).open(TEST_DB)
    yield db
    db.close()


def admin_query(sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(host="127.0.0.1", port=PG_PORT, user="postgres", dbname=TEST_DB) as conn:
        return conn.execute(sql, params).fetchall()


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, seen from a separate admin connection."""
    return {
        t: admin_query(f"SELECT * FROM {t} ORDER BY 1, 2")
        for t in ("department", "employee", "assignment")
    }


# ----------------------------------------------------------------- introspection


def test_introspect_structure(pg):
    schema = pg.introspect()
    assert schema.db_id == TEST_DB
    assert schema.dialect == "postgres"
    assert schema.table_names == ["assignment", "department", "employee"]
    assert {
        t.name: [(c.name, c.type, c.nullable, c.primary_key) for c in t.columns]
        for t in schema.tables
    } == {
        "assignment": [
            ("emp_id", "integer", False, True),
            ("project", "character varying(20)", False, True),
            ("hours", "integer", True, False),
        ],
        "department": [
            ("dept_id", "integer", False, True),
            ("name", "character varying(40)", False, False),
            ("budget", "numeric(12,2)", True, False),
        ],
        "employee": [
            ("emp_id", "integer", False, True),
            ("name", "character varying(60)", False, False),
            ("dept_id", "integer", True, False),
            ("hired", "date", False, False),
            ("salary", "integer", True, False),
        ],
    }
    assert [t.primary_key for t in schema.tables] == [
        ["emp_id", "project"],
        ["dept_id"],
        ["emp_id"],
    ]
    assert [t.foreign_keys for t in schema.tables] == [
        [ForeignKey(columns=["emp_id"], ref_table="employee", ref_columns=["emp_id"])],
        [],
        [ForeignKey(columns=["dept_id"], ref_table="department", ref_columns=["dept_id"])],
    ]
    assert [t.row_count for t in schema.tables] == [15, 5, 30]


def test_introspect_comments_become_descriptions(pg):
    schema = pg.introspect(sample_values=0)
    assert [t.description for t in schema.tables] == [None, "Company departments", None]
    described = {
        (t.name, c.name): c.description for t in schema.tables for c in t.columns if c.description
    }
    assert described == {
        ("department", "budget"): "Yearly budget in euros",
        ("employee", "hired"): "Date the employee started",
    }


def test_introspect_samples(pg):
    schema = pg.introspect(sample_values=5)
    samples = {(t.name, c.name): c.samples for t in schema.tables for c in t.columns}
    # numeric and date values are kept as exact text.
    assert sorted(samples[("department", "budget")]) == ["1500000.00", "2200000.50", "800000.00"]
    assert sorted(samples[("department", "name")]) == [
        d[1] for d in sorted(DEPARTMENTS, key=lambda d: d[1])
    ]
    assert sorted(samples[("assignment", "project")]) == ["apollo", "gemini", "mercury"]
    hired = {str(e[3]) for e in employees()}
    assert len(samples[("employee", "hired")]) == 5
    assert set(samples[("employee", "hired")]) <= hired
    salaries = {e[4] for e in employees() if e[4] is not None}
    assert len(set(samples[("employee", "salary")])) == 5
    assert set(samples[("employee", "salary")]) <= salaries
    two = pg.introspect(sample_values=2).table("department").column("dept_id").samples
    assert len(set(two)) == 2
    assert set(two) <= {1, 2, 3, 4, 5}


# ----------------------------------------------------------------- execution


def test_execute_returns_typed_rows(pg):
    result = pg.execute(
        "SELECT d.name, d.budget, count(e.emp_id) AS n, min(e.hired) AS first_hire "
        "FROM department d LEFT JOIN employee e ON e.dept_id = d.dept_id "
        "GROUP BY d.dept_id, d.name, d.budget ORDER BY d.dept_id"
    )
    assert result.status == "ok", result.error
    assert result.columns == ["name", "budget", "n", "first_hire"]
    expected = []
    for dept_id, name, budget in DEPARTMENTS:
        mine = [e for e in employees() if e[2] == dept_id]
        expected.append(
            (name, Decimal(budget) if budget else None, len(mine), min(e[3] for e in mine))
        )
    assert result.rows == expected
    assert result.to_dict()["rows"][2] == ["Support", None, expected[2][2], str(expected[2][3])]


def test_null_rows_and_row_cap(pg):
    result = pg.execute(
        "SELECT emp_id FROM employee WHERE salary IS NULL ORDER BY emp_id", max_rows=3
    )
    assert result.rows == [(6,), (12,), (18,)]
    assert result.truncated is True
    everything = pg.execute(
        "SELECT emp_id FROM employee WHERE salary IS NULL ORDER BY 1", max_rows=5
    )
    assert everything.rows == [(6,), (12,), (18,), (24,), (30,)]
    assert everything.truncated is False


def test_errors(pg):
    bad = pg.execute("SELECT nope FROM employee")
    assert (bad.status, bad.error_type) == ("error", "QueryError")
    assert bad.error.startswith('column "nope" does not exist')
    assert pg.execute("SELECT 1/0").error == "division by zero"
    # The connection is fine afterwards (the failed transaction was rolled back).
    assert pg.execute("SELECT count(*) FROM assignment").rows == [(15,)]


def test_a_query_error_is_not_reported_as_a_lost_connection(pg):
    # psycopg files some server errors (SQLSTATE class 55, 54, 53, ...) under
    # OperationalError; the connection is fine, so this is a QueryError.
    result = pg.execute("SELECT lastval()")
    assert result.status == "error"
    assert result.error == "lastval is not yet defined in this session"
    assert result.error_type == "QueryError"


def test_timeout_stops_the_query_on_the_server(pg):
    start = time.perf_counter()
    result = pg.execute("SELECT pg_sleep(5) AS sqlfoundry_marker_sleep", timeout=0.5)
    wall = time.perf_counter() - start
    assert result.status == "timeout"
    assert result.error_type == "QueryTimeoutError"
    assert result.error == "stopped after the 0.5 s timeout"
    assert wall < 2.0
    running = admin_query(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        "AND query LIKE %s AND pid <> pg_backend_pid()",
        ("%sqlfoundry_marker_sleep%",),
    )
    assert running == [(0,)]
    # The timeout was local to that query's transaction.
    assert pg.execute("SELECT pg_sleep(0.7), 1", timeout=5).rows == [("", 1)]


GUARDED_WRITES = [
    "INSERT INTO department VALUES (9, 'Ops', 1)",
    "UPDATE department SET budget = 0",
    "DELETE FROM assignment",
    "TRUNCATE employee CASCADE",
    "DROP TABLE assignment",
    "CREATE TABLE t (a int)",
    "ALTER TABLE employee ADD COLUMN z int",
    "WITH d AS (DELETE FROM assignment RETURNING *) SELECT count(*) FROM d",
    "SELECT * INTO copy_of_department FROM department",
    "SELECT 1; DELETE FROM assignment",
    "SET statement_timeout = 0",
    "COPY department TO STDOUT",
    "GRANT SELECT ON department TO PUBLIC",
]


@pytest.mark.parametrize("sql", GUARDED_WRITES)
def test_writes_are_rejected(pg, sql):
    before = snapshot()
    result = pg.execute(sql)
    assert result.status == "rejected", result
    assert snapshot() == before


# Writes the read-only guard cannot see (they look like plain SELECTs): the
# read-only transaction must refuse them.
HIDDEN_WRITES = [
    ("SELECT nextval('ticket_seq')", "cannot execute nextval() in a read-only transaction"),
    ("SELECT bump_budget()", "cannot execute UPDATE in a read-only transaction"),
]


@pytest.mark.parametrize(("sql", "message"), HIDDEN_WRITES)
def test_writes_behind_a_select_are_refused_by_the_transaction(pg, sql, message):
    before = snapshot()
    seq_before = admin_query("SELECT last_value, is_called FROM ticket_seq")
    result = pg.execute(sql)
    assert result.status == "error"
    assert result.error.startswith(message)
    assert snapshot() == before
    assert admin_query("SELECT last_value, is_called FROM ticket_seq") == seq_before == [(1, False)]


def test_row_locks_are_refused_by_the_guard_and_by_the_transaction(pg):
    sql = "SELECT budget FROM department FOR UPDATE"
    assert pg.execute(sql).status == "rejected"
    # Past the guard, the read-only transaction refuses it too.
    with pytest.raises(QueryError, match="cannot execute SELECT FOR UPDATE in a read-only"):
        pg._run(sql, 5.0, 10)


# ----------------------------------------------------------------- manager and connection errors


def test_manager_lists_server_databases(pg_server):
    manager = DatabaseManager(server=pg_server)
    assert manager.db_ids() == [TEST_DB]
    assert TEST_DB in manager
    assert "postgres" not in manager
    spec = manager.spec(TEST_DB)
    assert (spec.kind, spec.host, spec.port, spec.user, spec.database) == (
        "postgres",
        "127.0.0.1",
        PG_PORT,
        "postgres",
        TEST_DB,
    )
    every = DatabaseManager(server=pg_server.replace(databases=None)).db_ids()
    assert TEST_DB in every
    assert "postgres" in every
    assert "template0" not in every
    assert "template1" not in every


def test_manager_from_url(pg_server):
    settings = ServerSettings.from_url(f"postgresql://postgres@127.0.0.1:{PG_PORT}/{TEST_DB}")
    manager = DatabaseManager(server=settings)
    assert manager.db_ids() == [TEST_DB]
    assert manager.schema(TEST_DB).table("employee").row_count == 30


def test_unreachable_server_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SQLFOUNDRY_TEST_PG_PW", "s3cret-pg-pass")
    settings = ServerSettings(
        kind="postgres", port=1, user="postgres", password_env="SQLFOUNDRY_TEST_PG_PW",
        databases=[TEST_DB], connect_timeout=2,
    )  # fmt: skip
    start = time.perf_counter()
    with pytest.raises(DatabaseConnectionError) as info:
        DatabaseManager(server=settings).open(TEST_DB)
    assert time.perf_counter() - start < 3
    text = str(info.value)
    assert text.startswith(
        f"db_id={TEST_DB}: cannot connect to postgres://postgres@127.0.0.1:1/{TEST_DB}: "
    )
    assert "Connection refused" in text
    assert "s3cret-pg-pass" not in text
    assert "s3cret-pg-pass" not in repr(info.value.__dict__)


def test_unknown_role_is_a_clear_error(pg_server, monkeypatch):
    monkeypatch.setenv("SQLFOUNDRY_TEST_PG_PW", "s3cret-pg-pass")
    settings = pg_server.replace(user="no_such_role", password_env="SQLFOUNDRY_TEST_PG_PW")
    with pytest.raises(DatabaseConnectionError) as info:
        DatabaseManager(server=settings).open(TEST_DB)
    assert 'role "no_such_role" does not exist' in str(info.value)
    assert "s3cret-pg-pass" not in str(info.value)


# ----------------------------------------------------------------- batches


def test_batch_over_the_server_and_a_sqlite_file(pg_server, tiny_sqlite):
    manager = DatabaseManager(paths={"tiny": tiny_sqlite.path}, server=pg_server)
    assert manager.db_ids() == [TEST_DB, "tiny"]
    jobs = [
        ("SELECT count(*) FROM employee", TEST_DB),
        ("SELECT count(*) FROM employee", "tiny"),
        ("SELECT pg_sleep(5)", TEST_DB),
        ("DELETE FROM employee", TEST_DB),
        ("SELECT nextval('ticket_seq')", TEST_DB),
        ("SELECT project, count(*) FROM assignment GROUP BY 1 ORDER BY 1", TEST_DB),
        ("SELECT max(hired) FROM employee", TEST_DB),
    ] + [(f"SELECT {i} + count(*) FROM department", TEST_DB) for i in range(20)]
    before = snapshot()
    with SafeExecutor(manager, workers=2, timeout=0.5) as ex:
        start = time.perf_counter()
        results = ex.run(jobs)
        wall = time.perf_counter() - start
        assert ex.killed == 0  # the server stopped the sleep itself
    assert [r.index for r in results] == list(range(len(jobs)))
    assert [r.status for r in results[:7]] == [
        "ok",
        "ok",
        "timeout",
        "rejected",
        "error",
        "ok",
        "ok",
    ]
    assert results[0].rows == [(30,)]
    assert results[1].rows == [(7,)]
    per_project = {}
    for _, project, _ in assignments():
        per_project[project] = per_project.get(project, 0) + 1
    assert results[5].rows == sorted(per_project.items())
    assert results[6].rows == [(max(e[3] for e in employees()),)]
    assert isinstance(results[6].rows[0][0], dt.date)
    assert [r.rows for r in results[7:]] == [[(i + 5,)] for i in range(20)]
    assert wall < 0.5 + 2.0
    assert snapshot() == before
