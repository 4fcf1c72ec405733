"""The MySQL/MariaDB connector against the local MariaDB (database ``sqlfoundry_test``)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from server_data import DEPARTMENTS, MYSQL_PORT, TEST_DB, employees
from sqlfoundry.core.errors import DatabaseConnectionError, QueryError
from sqlfoundry.db.manager import DatabaseManager, ServerSettings
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.db.schema import ForeignKey

pytestmark = pytest.mark.server
pymysql = pytest.importorskip("pymysql")


@pytest.fixture
def my(mysql_server):
    db = DatabaseManager(server=mysql_server).open(TEST_DB)
    yield db
    db.close()


def admin_query(sql: str, params: tuple = ()) -> list[tuple]:
    conn = pymysql.connect(
        host="127.0.0.1", port=MYSQL_PORT, user="root", password="", database=TEST_DB
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())
    finally:
        conn.close()


def snapshot() -> dict[str, list[tuple]]:
    return {
        t: admin_query(f"SELECT * FROM {t} ORDER BY 1, 2")
        for t in ("department", "employee", "assignment")
    }


def test_detects_mariadb(my):
    assert my.mariadb is True
    assert my._limit_statement(0.5) == "SET SESSION max_statement_time = 0.500"


def test_introspect_structure(my):
    schema = my.introspect()
    assert schema.dialect == "mysql"
    # The sequence is not a base table.
    assert schema.table_names == ["assignment", "department", "employee"]
    assert {
        t.name: [(c.name, c.type, c.nullable, c.primary_key) for c in t.columns]
        for t in schema.tables
    } == {
        "assignment": [
            ("emp_id", "int(11)", False, True),
            ("project", "varchar(20)", False, True),
            ("hours", "int(11)", True, False),
        ],
        "department": [
            ("dept_id", "int(11)", False, True),
            ("name", "varchar(40)", False, False),
            ("budget", "decimal(12,2)", True, False),
        ],
        "employee": [
            ("emp_id", "int(11)", False, True),
            ("name", "varchar(60)", False, False),
            ("dept_id", "int(11)", True, False),
            ("hired", "date", False, False),
            ("salary", "int(11)", True, False),
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
    assert [t.description for t in schema.tables] == [None, "Company departments", None]
    assert {
        (t.name, c.name): c.description for t in schema.tables for c in t.columns if c.description
    } == {
        ("department", "budget"): "Yearly budget in euros",
        ("employee", "hired"): "Date the employee started",
    }


def test_introspect_samples(my):
    schema = my.introspect(sample_values=5)
    samples = {(t.name, c.name): c.samples for t in schema.tables for c in t.columns}
    assert sorted(samples[("department", "budget")]) == ["1500000.00", "2200000.50", "800000.00"]
    assert sorted(samples[("department", "name")]) == sorted(d[1] for d in DEPARTMENTS)
    assert sorted(samples[("assignment", "project")]) == ["apollo", "gemini", "mercury"]
    hired = samples[("employee", "hired")]
    assert len(set(hired)) == 5
    assert set(hired) <= {str(e[3]) for e in employees()}
    assert sorted(samples[("employee", "dept_id")]) == [1, 2, 3, 4, 5]


def test_execute_returns_typed_rows_and_caps(my):
    result = my.execute("SELECT dept_id, name, budget FROM department ORDER BY dept_id")
    assert result.status == "ok", result.error
    assert result.columns == ["dept_id", "name", "budget"]
    assert result.rows == [(d, n, Decimal(b) if b else None) for d, n, b in DEPARTMENTS]
    capped = my.execute("SELECT emp_id FROM employee WHERE dept_id IS NULL ORDER BY 1", max_rows=2)
    assert (capped.rows, capped.truncated) == ([(7,), (14,)], True)
    bad = my.execute("SELECT nope FROM employee")
    assert (bad.status, bad.error_type) == ("error", "QueryError")
    assert bad.error == "(1054, \"Unknown column 'nope' in 'SELECT'\")"
    assert my.execute("SELECT count(*) FROM employee").rows == [(30,)]


@pytest.mark.parametrize(
    "sql",
    [
        # SLEEP interrupted by max_statement_time raises 1969 on MariaDB 10.11
        # (MySQL's max_execution_time makes SLEEP return 1 instead).
        "SELECT SLEEP(5) AS sqlfoundry_marker_sleep",
        # A heavy cross join: real work, not a sleep.
        "SELECT count(*) AS sqlfoundry_marker_join FROM information_schema.COLUMNS a, "
        "information_schema.COLUMNS b, information_schema.COLUMNS c",
    ],
)
def test_timeout_stops_the_query_on_the_server(my, sql):
    start = time.perf_counter()
    result = my.execute(sql, timeout=0.5)
    wall = time.perf_counter() - start
    assert result.status == "timeout", result
    assert result.error == "stopped after the 0.5 s timeout"
    assert wall < 2.0
    running = admin_query(
        "SELECT count(*) FROM information_schema.PROCESSLIST "
        "WHERE INFO LIKE %s AND ID <> CONNECTION_ID()",
        ("%sqlfoundry_marker%",),
    )
    assert running == [(0,)]
    assert my.execute("SELECT SLEEP(0.7), 1", timeout=5).rows == [(0, 1)]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO department VALUES (9, 'Ops', 1)",
        "UPDATE department SET budget = 0",
        "DELETE FROM assignment",
        "REPLACE INTO department VALUES (1, 'Ops', 1)",
        "TRUNCATE TABLE assignment",
        "DROP TABLE assignment",
        "CREATE TABLE t (a int)",
        "SELECT * INTO OUTFILE '/tmp/sqlfoundry_out.txt' FROM department",
        "SELECT 1; DELETE FROM assignment",
        "SET GLOBAL max_connections = 1",
        "LOAD DATA INFILE '/etc/hosts' INTO TABLE department",
        "USE mysql",
    ],
)
def test_writes_are_rejected(my, sql):
    before = snapshot()
    result = my.execute(sql)
    assert result.status == "rejected", result
    assert snapshot() == before


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT nextval(ticket_seq)",
        "SELECT bump_budget()",
    ],
)
def test_writes_behind_a_select_are_refused_by_the_transaction(my, sql):
    before = snapshot()
    seq_before = admin_query("SELECT next_not_cached_value FROM ticket_seq")
    result = my.execute(sql)
    assert result.status == "error"
    assert result.error == "(1792, 'Cannot execute statement in a READ ONLY transaction')"
    assert snapshot() == before
    assert admin_query("SELECT next_not_cached_value FROM ticket_seq") == seq_before


def test_row_locks_are_refused_by_the_guard_and_by_the_transaction(my):
    sql = "SELECT budget FROM department FOR UPDATE"
    assert my.execute(sql).status == "rejected"
    # Past the guard, the read-only transaction refuses it too.
    with pytest.raises(QueryError, match="Cannot execute statement in a READ ONLY transaction"):
        my._run(sql, 5.0, 10)


def test_manager_lists_server_databases(mysql_server):
    assert DatabaseManager(server=mysql_server).db_ids() == [TEST_DB]
    every = DatabaseManager(server=mysql_server.replace(databases=None)).db_ids()
    assert TEST_DB in every
    assert not {"mysql", "information_schema", "performance_schema", "sys"} & set(every)
    settings = ServerSettings.from_url(f"mariadb://root@127.0.0.1:{MYSQL_PORT}/{TEST_DB}")
    assert DatabaseManager(server=settings).schema(TEST_DB).table("assignment").row_count == 15


def test_unreachable_server_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SQLFOUNDRY_TEST_MY_PW", "s3cret-my-pass")
    settings = ServerSettings(
        kind="mysql", port=1, user="root", password_env="SQLFOUNDRY_TEST_MY_PW",
        databases=[TEST_DB], connect_timeout=2,
    )  # fmt: skip
    with pytest.raises(DatabaseConnectionError) as info:
        DatabaseManager(server=settings).open(TEST_DB)
    assert str(info.value) == (
        f"db_id={TEST_DB}: cannot connect to mysql://root@127.0.0.1:1/{TEST_DB}: "
        "(2003, \"Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)\")"
    )


def test_wrong_password_is_a_clear_error_without_the_password(mysql_server, monkeypatch):
    monkeypatch.setenv("SQLFOUNDRY_TEST_MY_PW", "s3cret-my-pass")
    settings = mysql_server.replace(user="no_such_user", password_env="SQLFOUNDRY_TEST_MY_PW")
    with pytest.raises(DatabaseConnectionError) as info:
        DatabaseManager(server=settings).open(TEST_DB)
    assert "Access denied for user 'no_such_user'" in str(info.value)
    assert "s3cret-my-pass" not in str(info.value)


def test_batch_over_the_server(mysql_server):
    manager = DatabaseManager(server=mysql_server)
    jobs = [
        ("SELECT count(*) FROM employee", TEST_DB),
        ("SELECT SLEEP(5)", TEST_DB),
        ("UPDATE employee SET salary = 0", TEST_DB),
        ("SELECT bump_budget()", TEST_DB),
        ("SELECT 1", "not_listed"),
    ] + [(f"SELECT {i} + count(*) FROM department", TEST_DB) for i in range(20)]
    before = snapshot()
    with SafeExecutor(manager, workers=2, timeout=0.5) as ex:
        start = time.perf_counter()
        results = ex.run(jobs)
        wall = time.perf_counter() - start
        assert ex.killed == 0
    assert [r.index for r in results] == list(range(len(jobs)))
    assert [r.status for r in results[:5]] == ["ok", "timeout", "rejected", "error", "error"]
    assert results[0].rows == [(30,)]
    assert results[4].error == (
        "unknown db_id 'not_listed': no database on the mysql server 127.0.0.1"
    )
    assert [r.rows for r in results[5:]] == [[(i + 5,)] for i in range(20)]
    assert wall < 0.5 + 2.0
    assert snapshot() == before
