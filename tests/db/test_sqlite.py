"""The SQLite connector on a real file: introspection, execution, refusal, timeouts, bad files."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest

from sqlfoundry.core.errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseNotFoundError,
    QueryError,
    QueryTimeoutError,
    WriteRejectedError,
)
from sqlfoundry.db.base import DatabaseSpec
from sqlfoundry.db.schema import ForeignKey
from sqlfoundry.db.sqlite import SQLiteDatabase

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"


def open_db(path: Path, db_id: str = "tiny") -> SQLiteDatabase:
    return SQLiteDatabase(DatabaseSpec(db_id=db_id, path=str(path)))


@pytest.fixture
def db(tiny_sqlite):
    database = open_db(tiny_sqlite.path)
    yield database
    database.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------- introspection


def test_introspect_tables_columns_and_keys(db):
    schema = db.introspect()
    assert schema.db_id == "tiny"
    assert schema.dialect == "sqlite"
    assert schema.table_names == ["department", "employee", "order items"]
    cols = {
        t.name: [(c.name, c.type, c.primary_key, c.nullable) for c in t.columns]
        for t in schema.tables
    }
    assert cols == {
        "department": [
            # SQLite reports notnull=0 for an INTEGER PRIMARY KEY (a rowid alias).
            ("dept_id", "INTEGER", True, True),
            ("name", "TEXT", False, False),
            ("budget", "REAL", False, True),
        ],
        "employee": [
            ("emp_id", "INTEGER", True, True),
            ("name", "VARCHAR(40)", False, False),
            ("dept_id", "INTEGER", False, True),
            ("manager_id", "INTEGER", False, True),
            ("hired", "DATE", False, True),
        ],
        "order items": [
            ("order id", "INTEGER", True, True),
            ("line", "INTEGER", True, True),
            ("emp_id", "INTEGER", False, True),
            ("note", "TEXT", False, True),
        ],
    }
    assert [t.primary_key for t in schema.tables] == [["dept_id"], ["emp_id"], ["order id", "line"]]
    assert [t.row_count for t in schema.tables] == [3, 7, 3]


def test_introspect_foreign_keys_including_one_without_a_column_list(db):
    schema = db.introspect()
    fks = {t.name: sorted(t.foreign_keys, key=lambda f: f.columns) for t in schema.tables}
    assert fks == {
        "department": [],
        "employee": [
            # "dept_id INTEGER REFERENCES department" names no column: the target's PK.
            ForeignKey(columns=["dept_id"], ref_table="department", ref_columns=["dept_id"]),
            ForeignKey(columns=["manager_id"], ref_table="employee", ref_columns=["emp_id"]),
        ],
        "order items": [
            ForeignKey(columns=["emp_id"], ref_table="employee", ref_columns=["emp_id"]),
        ],
    }
    assert sorted(schema.foreign_key_pairs()) == [
        ("employee", "dept_id", "department", "dept_id"),
        ("employee", "manager_id", "employee", "emp_id"),
        ("order items", "emp_id", "employee", "emp_id"),
    ]


def test_introspect_samples_are_distinct_non_null_and_capped(db):
    schema = db.introspect(sample_values=5)
    samples = {(t.name, c.name): c.samples for t in schema.tables for c in t.columns}
    # Columns with at most five distinct non-NULL values show exactly those.
    assert sorted(samples[("department", "name")]) == ["Engineering", "Sales", "Support"]
    assert sorted(samples[("department", "budget")]) == [300.0, 1500.5]
    assert sorted(samples[("employee", "dept_id")]) == [1, 2, 3]
    assert sorted(samples[("employee", "manager_id")]) == [1, 2]
    assert sorted(samples[("employee", "hired")]) == [
        "2015-03-01",
        "2016-07-15",
        "2019-11-30",
        "2020-01-02",
        "2021-05-05",
    ]
    assert sorted(samples[("order items", "note")]) == ["first", "it's"]
    # Seven distinct ids: five of them, no repeats.
    ids = samples[("employee", "emp_id")]
    assert len(ids) == 5
    assert len(set(ids)) == 5
    assert set(ids) <= set(range(1, 8))
    few = db.introspect(sample_values=2)
    assert all(len(c.samples) <= 2 for t in few.tables for c in t.columns)
    assert len(few.table("employee").column("name").samples) == 2
    none = db.introspect(sample_values=0)
    assert all(c.samples == [] for t in none.tables for c in t.columns)


def test_introspect_reads_bird_descriptions_in_utf8_bom_and_cp1252(db):
    schema = db.introspect()
    dept = schema.table("department")
    emp = schema.table("employee")
    got = {
        (t.name, c.name): (c.readable_name, c.description, c.value_description)
        for t in (dept, emp)
        for c in t.columns
    }
    assert got == {
        ("department", "dept_id"): ("department id", "unique id of the department", None),
        ("department", "name"): (None, None, None),
        # Whitespace (a newline inside the quoted field too) is collapsed.
        ("department", "budget"): (None, "yearly budget in kEUR", "NULL means not set yet."),
        ("employee", "emp_id"): (None, None, None),
        # employee.csv is cp1252 and names the column "Name": matched ignoring case.
        ("employee", "name"): ("employee name", "full name, e.g. Ren\u00e9e", None),
        ("employee", "dept_id"): (None, None, None),
        ("employee", "manager_id"): (None, None, None),
        ("employee", "hired"): ("hire date", "date the employee started \u2013 ISO", None),
    }
    # No CSV for this table.
    assert all(c.description is None for c in schema.table("order items").columns)


def test_schema_lookup_ignores_case(db):
    schema = db.introspect(sample_values=0)
    assert schema.table("EMPLOYEE").name == "employee"
    assert schema.table("Order Items").column("ORDER ID").name == "order id"
    assert schema.table("nope") is None
    assert schema.column_map()["order items"] == ["order id", "line", "emp_id", "note"]


# ----------------------------------------------------------------- execution


def test_execute_returns_columns_rows_and_nulls(db):
    result = db.execute(
        'SELECT e.name, d.name AS dept, "order id" FROM employee e '
        "LEFT JOIN department d ON d.dept_id = e.dept_id "
        'LEFT JOIN "order items" o ON o.emp_id = e.emp_id AND o.line = 1 '
        "WHERE e.emp_id IN (1, 4) ORDER BY e.emp_id"
    )
    assert result.status == "ok"
    assert result.error is None
    assert result.db_id == "tiny"
    assert result.columns == ["name", "dept", "order id"]
    assert result.rows == [("Ada", "Engineering", 10), ("Di", None, None)]
    assert result.truncated is False
    assert result.elapsed_ms > 0


@pytest.mark.parametrize(
    ("max_rows", "rows", "truncated"),
    [
        (3, [(1,), (2,), (3,)], True),
        (6, [(1,), (2,), (3,), (4,), (5,), (6,)], True),
        # Exactly as many rows as the cap: nothing was cut.
        (7, [(i,) for i in range(1, 8)], False),
        (None, [(i,) for i in range(1, 8)], False),
        (0, [], True),
    ],
)
def test_row_cap_sets_truncated(db, max_rows, rows, truncated):
    result = db.execute("SELECT emp_id FROM employee ORDER BY emp_id", max_rows=max_rows)
    assert result.status == "ok"
    assert result.rows == rows
    assert result.truncated is truncated


def test_to_dict_shape(db):
    result = db.execute("SELECT name, x'00ff' AS raw FROM department WHERE dept_id = 2")
    assert result.to_dict() == {
        "index": None,
        "db_id": "tiny",
        "status": "ok",
        "row_count": 1,
        "truncated": False,
        "columns": ["name", "raw"],
        "rows": [["Sales", "00ff"]],  # bytes become hex text
        "elapsed_ms": round(result.elapsed_ms, 3),
        "error": None,
    }


def test_raw_rows_encode_to_the_same_json_text(db):
    import datetime
    import decimal
    import json

    from sqlfoundry.db.base import ExecResult, json_value

    result = db.execute("SELECT name, x'00ff' AS raw, 1.5, NULL FROM department ORDER BY 1")
    odd = ExecResult("ok", ["a"], [(decimal.Decimal("1.50"), datetime.date(2020, 1, 2),
                                    memoryview(b"ab"), bytearray(b"c"), "é", True)])  # fmt: skip
    for r in (result, odd):
        plain = json.JSONEncoder(ensure_ascii=False).encode(r.to_dict(max_rows=2))
        raw = r.to_dict(max_rows=2, raw_rows=True)
        assert isinstance(raw["rows"][0], tuple)  # as the database gave them
        assert json.JSONEncoder(ensure_ascii=False, default=json_value).encode(raw) == plain
    assert json.loads(plain)["rows"] == [["1.50", "2020-01-02", "6162", "63", "é", True]]


WRITES = [
    "INSERT INTO department VALUES (9, 'Ops', 1)",
    "INSERT OR REPLACE INTO department VALUES (1, 'Ops', 1)",
    "REPLACE INTO department VALUES (1, 'Ops', 1)",
    "UPDATE employee SET name = 'X'",
    "DELETE FROM employee",
    "DROP TABLE employee",
    "CREATE TABLE t (a)",
    "CREATE INDEX i ON employee (name)",
    "ALTER TABLE employee ADD COLUMN z",
    "PRAGMA journal_mode = WAL",
    "PRAGMA table_info(employee)",
    "ATTACH DATABASE 'other.sqlite' AS other",
    "DETACH other",
    "VACUUM",
    "BEGIN",
    "SELECT 1; SELECT 2",
    "SELECT 1; DELETE FROM employee",
    "WITH d AS (DELETE FROM employee RETURNING *) SELECT * FROM d",
    "SELECT * INTO backup FROM employee",
]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_are_rejected_and_the_file_is_untouched(tiny_sqlite, sql):
    before = digest(tiny_sqlite.path)
    files_before = sorted(p.name for p in tiny_sqlite.root.iterdir())
    with open_db(tiny_sqlite.path) as database:
        result = database.execute(sql)
        assert result.status == "rejected", result
        assert result.error_type == "WriteRejectedError"
        assert result.error
        assert result.rows == []
        # The connection is still fine for reads.
        assert database.execute("SELECT count(*) FROM employee").rows == [(7,)]
    assert digest(tiny_sqlite.path) == before
    # No journal, WAL or attached file was created beside it.
    assert sorted(p.name for p in tiny_sqlite.root.iterdir()) == files_before


def test_rejection_messages_say_why(db):
    assert db.execute("DELETE FROM employee").error == "not a query: DELETE statements are refused"
    assert (
        db.execute("SELECT 1; SELECT 2").error == "2 statements given; only a single query is run"
    )
    assert db.execute("WITH d AS (DELETE FROM employee RETURNING *) SELECT * FROM d").error == (
        "query contains DELETE; only read-only queries run"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO department VALUES (9, 'Ops', 1)",
        "DELETE FROM employee",
        "CREATE TABLE t (a)",
        "PRAGMA user_version = 7",
    ],
)
def test_the_connection_itself_refuses_writes_that_skip_the_guard(tiny_sqlite, sql):
    # _run is what execute() calls after the guard; here we call it directly to
    # check the second line of defence (mode=ro + query_only).
    before = digest(tiny_sqlite.path)
    with open_db(tiny_sqlite.path) as database, pytest.raises(QueryError) as info:
        database._run(sql, 5.0, None)
    assert "readonly" in info.value.message or "read-only" in info.value.message
    assert digest(tiny_sqlite.path) == before


def test_trailing_semicolon_and_whitespace_are_fine(db):
    assert db.execute("  SELECT count(*) FROM department ;  ").rows == [(3,)]


@pytest.mark.parametrize(
    ("sql", "error_type", "message"),
    [
        (
            "SELEC name FROM employee",
            "SQLSyntaxError",
            "not SQL a database can run: starts with 'SELEC'",
        ),
        ("", "SQLSyntaxError", "empty SQL"),
        ("   ", "SQLSyntaxError", "empty SQL"),
        ("SELECT nope FROM employee", "QueryError", "no such column: nope"),
        ("SELECT * FROM missing_table", "QueryError", "no such table: missing_table"),
    ],
)
def test_bad_sql_is_an_error(db, sql, error_type, message):
    result = db.execute(sql)
    assert result.status == "error"
    assert result.error_type == error_type
    assert result.error == message


def test_timeout_stops_an_endless_query(db):
    start = time.perf_counter()
    result = db.execute(FOREVER, timeout=0.5)
    wall = time.perf_counter() - start
    assert result.status == "timeout"
    assert result.error_type == "QueryTimeoutError"
    assert result.error == "stopped after the 0.5 s timeout"
    assert 0.5 <= wall < 1.0
    # The progress handler is gone: a normal query afterwards runs to the end.
    assert db.execute("SELECT count(*) FROM employee", timeout=0.5).rows == [(7,)]


def test_query_raises_the_matching_error(db):
    assert db.query("SELECT dept_id FROM department ORDER BY 1") == [(1,), (2,), (3,)]
    with pytest.raises(WriteRejectedError):
        db.query("DELETE FROM department")
    with pytest.raises(QueryTimeoutError) as info:
        db.query(FOREVER, timeout=0.2)
    assert info.value.db_id == "tiny"
    assert info.value.sql == FOREVER
    # Other failures come back as the base DatabaseError (the subclass is not kept).
    with pytest.raises(DatabaseError) as info:
        db.query("SELECT nope FROM department")
    assert str(info.value) == "db_id=tiny: no such column: nope"


def test_invalid_utf8_text_does_not_fail_the_query(tmp_path):
    path = tmp_path / "latin.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE city (id INTEGER PRIMARY KEY, name TEXT)")
    # b"Z\xfcrich" is Latin-1, not UTF-8.
    conn.execute("INSERT INTO city VALUES (1, CAST(x'5afc72696368' AS TEXT)), (2, 'Bern')")
    conn.commit()
    conn.close()
    with open_db(path, "latin") as database:
        result = database.execute("SELECT name FROM city ORDER BY id")
        assert result.status == "ok"
        assert result.rows == [("Z\ufffdrich",), ("Bern",)]
        assert sorted(database.introspect().table("city").column("name").samples) == [
            "Bern",
            "Z\ufffdrich",
        ]


def test_missing_file_is_a_clear_error(tmp_path):
    path = tmp_path / "nowhere" / "gone.sqlite"
    with pytest.raises(DatabaseNotFoundError) as info:
        open_db(path, "gone")
    assert info.value.db_id == "gone"
    assert str(info.value) == f"db_id=gone: no SQLite file at {path}"


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"\x00\x01 definitely not SQLite " * 200)
    with pytest.raises(DatabaseConnectionError) as info:
        open_db(path, "junk")
    assert info.value.db_id == "junk"
    assert str(info.value) == (
        f"db_id=junk: {path} is not a readable SQLite database: file is not a database"
    )


def test_path_with_uri_special_characters(tmp_path, tiny_sqlite):
    # The file is opened through a file: URI; ?, # and % in the path must not cut it short.
    folder = tmp_path / "we?ird #dir %20"
    folder.mkdir()
    path = folder / "odd.sqlite"
    path.write_bytes(tiny_sqlite.path.read_bytes())
    with open_db(path, "odd") as database:
        assert database.execute("SELECT count(*) FROM employee").rows == [(7,)]
