"""``sqlfoundry schema`` and ``sqlfoundry exec`` end to end on real databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server_data import PG_PORT, TEST_DB
from sqlfoundry.cli import app
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.db.render import FORMATS, render
from sqlfoundry.db.spider_tables import schema_to_spider

runner = CliRunner()

FIELDS = [
    "index",
    "db_id",
    "status",
    "row_count",
    "truncated",
    "columns",
    "rows",
    "elapsed_ms",
    "error",
]
FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env)


# ----------------------------------------------------------------- schema


@pytest.mark.parametrize("fmt", FORMATS)
def test_schema_of_a_file_in_every_format(tiny_sqlite, fmt):
    result = invoke("schema", str(tiny_sqlite.path), "--format", fmt)
    assert result.exit_code == 0, result.output
    expected = render(DatabaseManager.for_file(tiny_sqlite.path).schema("tiny"), fmt)
    assert result.stdout == expected + "\n"


def test_schema_ddl_text(tiny_sqlite):
    result = invoke("schema", str(tiny_sqlite.path), "--samples", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.split("\n\n")[2] == (
        'CREATE TABLE "order items" (\n'
        '    "order id" INTEGER,\n'
        "    line INTEGER,\n"
        "    emp_id INTEGER,\n"
        "    note TEXT,\n"
        '    PRIMARY KEY ("order id", line),\n'
        "    CONSTRAINT fk_order_items_emp_id FOREIGN KEY (emp_id) REFERENCES employee (emp_id)\n"
        ");\n"
    )
    # Descriptions from database_description/ show in the comments.
    assert "    hired DATE, -- date the employee started \u2013 ISO\n" in result.stdout


@pytest.mark.parametrize("fmt", ["ddl", "compact", "codex", "json"])
def test_schema_of_a_db_id_under_a_root(tiny_sqlite, fmt):
    by_id = invoke("schema", "tiny", "--db-root", str(tiny_sqlite.root.parent), "-f", fmt)
    by_file = invoke("schema", str(tiny_sqlite.path), "-f", fmt)
    assert by_id.exit_code == 0, by_id.output
    assert by_id.stdout == by_file.stdout
    assert by_id.stdout.strip()


def test_schema_compact_of_a_db_id_from_the_environment(tiny_sqlite):
    result = invoke(
        "schema", "tiny", "-f", "compact", env={"SQLFOUNDRY_DB_ROOT": str(tiny_sqlite.root)}
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Tables: department: dept_id , name , budget ; "
        "employee: emp_id , name , dept_id , manager_id , hired ; "
        "order items: order id , line , emp_id , note ; "
        "primary keys: department.dept_id , employee.emp_id , order items.order id , "
        "order items.line ; "
        "foreign keys: employee.dept_id = department.dept_id , "
        "employee.manager_id = employee.emp_id , order items.emp_id = employee.emp_id\n"
    )


def test_schema_spider_json(tiny_sqlite):
    result = invoke("schema", str(tiny_sqlite.path), "--spider-json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    assert entry == schema_to_spider(DatabaseManager.for_file(tiny_sqlite.path).schema("tiny"))
    assert entry["table_names_original"] == ["department", "employee", "order items"]
    assert entry["primary_keys"] == [1, 4, [9, 10]]


def test_schema_unknown_format_fails_clearly(tiny_sqlite):
    result = invoke("schema", str(tiny_sqlite.path), "--format", "yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    # typer refuses it with the choices (the option is an enum).
    assert "Invalid value for '--format' / '-f'" in result.stderr
    assert "'yaml' is not one of" in result.stderr
    assert "'ddl', 'compact', 'codex', 'json', 'central', 'parallel'" in " ".join(
        line.strip("│ ") for line in result.stderr.splitlines()
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.sqlite"], "error: nope.sqlite: no such database file\n"),
        (["some_db"], "error: give --db-root DIR (or set SQLFOUNDRY_DB_ROOT) or --server URL\n"),
    ],
)
def test_schema_missing_database_fails_clearly(monkeypatch, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SQLFOUNDRY_DB_ROOT", raising=False)
    monkeypatch.delenv("SQLFOUNDRY_DB_SERVER", raising=False)
    result = invoke("schema", *args)
    assert result.exit_code == 2
    assert result.stderr == message


def test_schema_unknown_db_id_under_a_root(tiny_sqlite):
    root = tiny_sqlite.root.parent
    result = invoke("schema", "ghost", "--db-root", str(root))
    assert result.exit_code == 2
    assert result.stderr == f"error: db_id=ghost: unknown db_id 'ghost': no database under {root}\n"


def test_schema_corrupt_file_fails_clearly(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"garbage " * 100)
    result = invoke("schema", str(junk))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: db_id=junk: {junk} is not a readable SQLite database: file is not a database\n"
    )


# ----------------------------------------------------------------- exec


def read_results(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_exec_gold_file_one_result_per_record_in_order(tiny_sqlite, tmp_path):
    gold = tmp_path / "gold.sql"
    gold.write_text(
        "SELECT name FROM department ORDER BY dept_id\ttiny\n"
        "this line has no tab\n"
        "DELETE FROM employee\ttiny\n"
        "SELECT 1\tno_such_db\n"
        "\n"
        "SELECT emp_id FROM employee ORDER BY emp_id\ttiny\n"
        f"{FOREVER}\ttiny\n"
        'SELECT "order id", note FROM "order items" WHERE line = 2\ttiny\n'
    )
    out = tmp_path / "res.jsonl"
    before = tiny_sqlite.path.read_bytes()
    result = invoke(
        "exec", str(gold), str(out), "--db-root", str(tiny_sqlite.root),
        "--workers", "2", "--timeout", "0.5", "--max-rows", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = read_results(out)
    assert [list(r) for r in rows] == [FIELDS] * 7
    assert [(r["index"], r["db_id"], r["status"]) for r in rows] == [
        (0, "tiny", "ok"),
        (1, None, "error"),
        (2, "tiny", "rejected"),
        (3, "no_such_db", "error"),
        # The blank line is skipped, as the official scorers do.
        (4, "tiny", "ok"),
        (5, "tiny", "timeout"),
        (6, "tiny", "ok"),
    ]
    assert rows[0] == {
        "index": 0,
        "db_id": "tiny",
        "status": "ok",
        "row_count": 3,
        "truncated": False,
        "columns": ["name"],
        "rows": [["Engineering"], ["Sales"], ["Support"]],
        "elapsed_ms": rows[0]["elapsed_ms"],
        "error": None,
    }
    assert isinstance(rows[0]["elapsed_ms"], float)
    assert rows[1]["error"] == f"{gold}:2: expected 'SQL<TAB>db_id'"
    assert rows[2]["error"] == "not a query: DELETE statements are refused"
    assert rows[3]["error"] == (f"unknown db_id 'no_such_db': no database under {tiny_sqlite.root}")
    # --max-rows keeps 3 rows in the output; row_count says how many there were.
    assert (rows[4]["row_count"], rows[4]["rows"]) == (7, [[1], [2], [3]])
    assert rows[5]["error"] == "stopped after the 0.5 s timeout"
    assert rows[6]["rows"] == [[10, None]]
    for r in rows:
        assert (r["error"] is None) == (r["status"] == "ok")
    assert tiny_sqlite.path.read_bytes() == before
    assert "7 queries in" in result.stderr
    assert "ok 3 · error 2 · timeout 1 · rejected 1" in result.stderr


def test_exec_jsonl_input_in_process(tiny_sqlite, tmp_path):
    src = tmp_path / "pairs.jsonl"
    src.write_text(
        json.dumps(
            {"question": "how many", "query": "SELECT count(*) FROM employee", "db_id": "tiny"}
        )
        + "\n{broken\n"
        + json.dumps({"SQL": "SELECT 1"})
        + "\n"
        + json.dumps({"sql": "SELECT x'ff' AS b", "db_id": "tiny"})
        + "\n"
    )
    out = tmp_path / "res.jsonl"
    result = invoke(
        "exec", str(src), str(out), "--db-root", str(tiny_sqlite.root), "--workers", "0"
    )
    assert result.exit_code == 0, result.output
    rows = read_results(out)
    assert [(r["index"], r["status"], r["rows"], r["error"]) for r in rows] == [
        (0, "ok", [[7]], None),
        (
            1,
            "error",
            [],
            f"{src}:2: invalid JSON: Expecting property name enclosed in double quotes",
        ),
        (2, "error", [], f"{src}:3: record needs 'SQL' (or 'query') and 'db_id'"),
        (3, "ok", [["ff"]], None),
    ]


def test_exec_missing_input_fails_without_writing(tiny_sqlite, tmp_path):
    out = tmp_path / "res.jsonl"
    result = invoke(
        "exec", str(tmp_path / "nope.sql"), str(out), "--db-root", str(tiny_sqlite.root)
    )
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.sql'}: no such file\n"
    assert not out.exists()


def test_exec_needs_a_database_source(tmp_path, monkeypatch):
    monkeypatch.delenv("SQLFOUNDRY_DB_ROOT", raising=False)
    monkeypatch.delenv("SQLFOUNDRY_DB_SERVER", raising=False)
    gold = tmp_path / "gold.sql"
    gold.write_text("SELECT 1\tx\n")
    result = invoke("exec", str(gold), str(tmp_path / "o.jsonl"))
    assert result.exit_code == 2
    assert (
        result.stderr == "error: give --db-root DIR (or set SQLFOUNDRY_DB_ROOT) or --server URL\n"
    )


# ----------------------------------------------------------------- a server


@pytest.mark.server
def test_schema_and_exec_against_postgres(pg_server, tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{PG_PORT}/{TEST_DB}"
    result = invoke("schema", TEST_DB, "--server", url, "-f", "compact")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Tables: assignment: emp_id , project , hours ; department: dept_id , name , budget ; "
        "employee: emp_id , name , dept_id , hired , salary ; "
        "primary keys: assignment.emp_id , assignment.project , department.dept_id , "
        "employee.emp_id ; "
        "foreign keys: assignment.emp_id = employee.emp_id , employee.dept_id = department.dept_id\n"
    )
    gold = tmp_path / "gold.sql"
    gold.write_text(
        f"SELECT name, budget FROM department WHERE dept_id = 4\t{TEST_DB}\n"
        f"SELECT count(*) FROM employee\t{TEST_DB}\n"
        f"UPDATE department SET budget = 0\t{TEST_DB}\n"
        f"SELECT hired FROM employee WHERE emp_id = 1\t{TEST_DB}\n"
        "SELECT 1\tother_db\n"
    )
    out = tmp_path / "res.jsonl"
    result = invoke("exec", str(gold), str(out), "--server", url, "--workers", "2")
    assert result.exit_code == 0, result.output
    rows = read_results(out)
    assert [(r["status"], r["rows"]) for r in rows] == [
        ("ok", [["Research", "2200000.50"]]),  # numeric as exact text
        ("ok", [[30]]),
        ("rejected", []),
        ("ok", [["2015-02-07"]]),
        ("error", []),
    ]
    assert (
        rows[4]["error"] == "unknown db_id 'other_db': no database on the postgres server 127.0.0.1"
    )


SQLFOUNDRY = Path(sys.executable).parent / "sqlfoundry"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--server", "postgresql://u:hunter2@h/x"],
            "error: put the server password in an environment variable, not the URL "
            "(set password_env / --db-password-env)\n",
        ),
        (
            ["--db-root", "/no/such/folder"],
            "error: database root /no/such/folder is not a folder\n",
        ),
    ],
)
def test_exec_bad_database_source_through_the_installed_script(tmp_path, args, message):
    # Run the real entry point: errors raised while setting up the manager are
    # reported by main(), not by the exec command itself.
    gold = tmp_path / "gold.sql"
    gold.write_text("SELECT 1\tx\n")
    proc = subprocess.run(
        [str(SQLFOUNDRY), "exec", str(gold), str(tmp_path / "o.jsonl"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == message
    assert not (tmp_path / "o.jsonl").exists()


def test_messages_with_square_brackets_are_printed_verbatim(tiny_sqlite, tmp_path):
    # Error text is data, not rich markup: "[red]" must show, "[/x]" must not crash.
    root = str(tiny_sqlite.root)
    shown = invoke("schema", "x[red]y", "--db-root", root)
    assert shown.exit_code == 2
    assert (
        shown.stderr == f"error: db_id=x[red]y: unknown db_id 'x[red]y': no database under {root}\n"
    )
    gold = tmp_path / "gold.sql"
    gold.write_text("SELECT 1\tdb[/x]\n")
    out = tmp_path / "res.jsonl"
    result = invoke("exec", str(gold), str(out), "--db-root", root, "--workers", "0")
    assert result.exit_code == 0, result.output
    assert f"#0 db[/x]: error: unknown db_id 'db[/x]': no database under {root}" in result.stderr
    assert read_results(out)[0]["db_id"] == "db[/x]"
