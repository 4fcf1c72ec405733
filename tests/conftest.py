"""Shared fixtures: the Spider data, a tiny SQLite database, and the local servers.

Spider and the servers are real dependencies of the suite. Where one is
missing, its tests are skipped with a loud reason on a developer machine, but
fail under ``CI=true`` so a broken CI setup cannot pass by skipping.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "llm"))

from fake_openai import FakeOpenAI  # noqa: E402

from demo_builder import demo_builder  # noqa: E402
from server_data import (  # noqa: E402
    DEPARTMENTS,
    MYSQL_PORT,
    PG_PORT,
    SPIDER,
    TEST_DB,
    assignments,
    employees,
    missing,
)
from sqlfoundry.db.manager import ServerSettings  # noqa: E402


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bookshop, clinic and airline (Spider layout), built once per session; only read."""
    root = tmp_path_factory.mktemp("demo_dbs")
    demo_builder().build_all(root)
    return root


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server on 127.0.0.1 for this test."""
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _private_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every cache the suite and its subprocesses write goes under a session tmp dir,
    never the user's ``~/.cache``; a subprocess given its own env must carry these on."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as env:  # a session fixture gets no monkeypatch
        env.setenv("XDG_CACHE_HOME", str(cache / "xdg"))
        env.setenv("SQLFOUNDRY_CACHE_DIR", str(cache / "sqlfoundry"))
        yield


@pytest.fixture(scope="session")
def spider_root() -> Path:
    """The Spider benchmark folder (``dev_without_wta_1_gold.sql``, ``tables.json``, ``database/``)."""
    if not (SPIDER / "database").is_dir() or not (SPIDER / "tables.json").is_file():
        missing(f"the Spider benchmark is not at {SPIDER}")
    return SPIDER


# --------------------------------------------------------------------------- SQLite


@dataclass
class TinyDB:
    path: Path
    root: Path  # the folder holding the file and database_description/


TINY_SCHEMA = """
CREATE TABLE department (
    dept_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    budget REAL
);
CREATE TABLE employee (
    emp_id INTEGER,
    name VARCHAR(40) NOT NULL,
    dept_id INTEGER REFERENCES department,
    manager_id INTEGER,
    hired DATE,
    PRIMARY KEY (emp_id),
    FOREIGN KEY (manager_id) REFERENCES employee (emp_id)
);
CREATE TABLE "order items" (
    "order id" INTEGER,
    "line" INTEGER,
    "emp_id" INTEGER,
    "note" TEXT,
    PRIMARY KEY ("order id", "line"),
    FOREIGN KEY ("emp_id") REFERENCES employee ("emp_id")
);
INSERT INTO department VALUES (1, 'Engineering', 1500.5), (2, 'Sales', NULL), (3, 'Support', 300);
INSERT INTO employee VALUES
    (1, 'Ada', 1, NULL, '2015-03-01'),
    (2, 'Bob', 1, 1, '2016-07-15'),
    (3, 'Cy', 2, 1, NULL),
    (4, 'Di', NULL, 2, '2019-11-30'),
    (5, 'Ed', 3, 2, '2020-01-02'),
    (6, 'Flo', 3, 2, '2020-01-02'),
    (7, 'Gus', 1, 1, '2021-05-05');
INSERT INTO "order items" VALUES (10, 1, 1, 'first'), (10, 2, 2, NULL), (11, 1, 2, 'it''s');
"""

DESCRIPTION_HEADER = [
    "original_column_name",
    "column_name",
    "column_description",
    "data_format",
    "value_description",
]


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(DESCRIPTION_HEADER)
    writer.writerows(rows)
    return buf.getvalue()


@pytest.fixture
def tiny_sqlite(tmp_path: Path) -> TinyDB:
    """``tiny/tiny.sqlite`` with PK/FK (one FK without a column list), NULLs, a table
    named ``order items``, and BIRD descriptions: ``department.csv`` in UTF-8 with a
    BOM and ``employee.csv`` in cp1252."""
    root = tmp_path / "tiny"
    root.mkdir()
    path = root / "tiny.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(TINY_SCHEMA)
    conn.commit()
    conn.close()
    desc = root / "database_description"
    desc.mkdir()
    (desc / "department.csv").write_bytes(
        _csv_text(
            [
                ["dept_id", "department id", "unique id of the department", "integer", ""],
                ["budget", "", "yearly budget   in\n kEUR", "real", "NULL means not set yet."],
            ]
        ).encode("utf-8-sig")
    )
    (desc / "employee.csv").write_bytes(
        _csv_text(
            [
                ["hired", "hire date", "date the employee started \u2013 ISO", "date", ""],
                ["Name", "employee name", "full name, e.g. Ren\u00e9e", "text", ""],
                ["no_such_column", "x", "ignored", "text", ""],
            ]
        ).encode("cp1252")
    )
    return TinyDB(path=path, root=root)


# --------------------------------------------------------------------------- servers

PG_DDL = [
    "CREATE TABLE department (dept_id integer PRIMARY KEY, name varchar(40) NOT NULL, "
    "budget numeric(12,2))",
    "CREATE TABLE employee (emp_id integer PRIMARY KEY, name varchar(60) NOT NULL, "
    "dept_id integer REFERENCES department (dept_id), hired date NOT NULL, salary integer)",
    "CREATE TABLE assignment (emp_id integer REFERENCES employee (emp_id), "
    "project varchar(20), hours integer, PRIMARY KEY (emp_id, project))",
    "COMMENT ON TABLE department IS 'Company departments'",
    "COMMENT ON COLUMN department.budget IS 'Yearly budget in euros'",
    "COMMENT ON COLUMN employee.hired IS 'Date the employee started'",
    "CREATE SEQUENCE ticket_seq",
    # A write hidden behind a function call: the read-only guard sees a plain SELECT.
    "CREATE FUNCTION bump_budget() RETURNS integer LANGUAGE sql AS "
    "$$ UPDATE department SET budget = budget + 1 RETURNING 1 $$",
]

MYSQL_DDL = [
    "CREATE TABLE department (dept_id int PRIMARY KEY, name varchar(40) NOT NULL, "
    "budget decimal(12,2) COMMENT 'Yearly budget in euros') "
    "ENGINE=InnoDB COMMENT='Company departments'",
    "CREATE TABLE employee (emp_id int PRIMARY KEY, name varchar(60) NOT NULL, "
    "dept_id int, hired date NOT NULL COMMENT 'Date the employee started', salary int, "
    "FOREIGN KEY (dept_id) REFERENCES department (dept_id)) ENGINE=InnoDB",
    "CREATE TABLE assignment (emp_id int, project varchar(20), hours int, "
    "PRIMARY KEY (emp_id, project), FOREIGN KEY (emp_id) REFERENCES employee (emp_id)) "
    "ENGINE=InnoDB",
    "CREATE SEQUENCE ticket_seq",
    "CREATE FUNCTION bump_budget() RETURNS int MODIFIES SQL DATA "
    "BEGIN UPDATE department SET budget = budget + 1; RETURN 1; END",
]


def _fill(cur) -> None:
    # psycopg and PyMySQL both take %s placeholders.
    cur.executemany("INSERT INTO department VALUES (%s, %s, %s)", DEPARTMENTS)
    cur.executemany("INSERT INTO employee VALUES (%s, %s, %s, %s, %s)", employees())
    cur.executemany("INSERT INTO assignment VALUES (%s, %s, %s)", assignments())


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ServerSettings]:
    """``sqlfoundry_test`` freshly built on the local PostgreSQL (user postgres, trust auth)."""
    try:
        import psycopg
    except ImportError:
        missing("psycopg is not installed (pip install 'sqlfoundry[postgres]')")
    try:
        admin = psycopg.connect(
            host="127.0.0.1", port=PG_PORT, user="postgres", dbname="postgres",
            connect_timeout=3, autocommit=True,
        )  # fmt: skip
    except psycopg.OperationalError as err:
        missing(
            f"PostgreSQL at 127.0.0.1:{PG_PORT} is unreachable ({str(err).strip()}); run `make services`"
        )
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {TEST_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {TEST_DB}")
    with psycopg.connect(host="127.0.0.1", port=PG_PORT, user="postgres", dbname=TEST_DB) as conn:
        with conn.cursor() as cur:
            for stmt in PG_DDL:
                cur.execute(stmt)
            _fill(cur)
        conn.commit()
    yield ServerSettings(
        kind="postgres", host="127.0.0.1", port=PG_PORT, user="postgres", databases=[TEST_DB]
    )
    with psycopg.connect(
        host="127.0.0.1", port=PG_PORT, user="postgres", dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {TEST_DB} WITH (FORCE)")


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[ServerSettings]:
    """``sqlfoundry_test`` freshly built on the local MariaDB (root, empty password)."""
    try:
        import pymysql
    except ImportError:
        missing("PyMySQL is not installed (pip install 'sqlfoundry[mysql]')")
    try:
        conn = pymysql.connect(
            host="127.0.0.1", port=MYSQL_PORT, user="root", password="", connect_timeout=3,
            autocommit=True,
        )  # fmt: skip
    except pymysql.Error as err:
        missing(f"MariaDB at 127.0.0.1:{MYSQL_PORT} is unreachable ({err}); run `make services`")
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {TEST_DB}")
        cur.execute(f"CREATE DATABASE {TEST_DB} CHARACTER SET utf8mb4")
        cur.execute(f"USE {TEST_DB}")
        for stmt in MYSQL_DDL:
            cur.execute(stmt)
        _fill(cur)
    yield ServerSettings(
        kind="mysql", host="127.0.0.1", port=MYSQL_PORT, user="root", databases=[TEST_DB]
    )
    with (
        pymysql.connect(
            host="127.0.0.1", port=MYSQL_PORT, user="root", password="", autocommit=True
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(f"DROP DATABASE IF EXISTS {TEST_DB}")
