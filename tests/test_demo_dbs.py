"""The demo database builder in examples/: deterministic, well-formed, realistic enough to query."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from demo_builder import SCRIPT, demo_builder

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


builder = demo_builder()
DB_IDS = [db.db_id for db in builder.DEMO_DATABASES]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_dbs")
    builder.build_all(out)
    return out


def _db_path(out: Path, db_id: str) -> Path:
    return out / db_id / f"{db_id}.sqlite"


def _dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def _tables(con: sqlite3.Connection) -> list[str]:
    rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [name for (name,) in rows]


def _columns(con: sqlite3.Connection, table: str) -> list[tuple]:
    # (cid, name, type, notnull, default, pk)
    return con.execute(f'PRAGMA table_info("{table}")').fetchall()


def _column_values(con: sqlite3.Connection, table: str, column: str) -> list:
    return [v for (v,) in con.execute(f'SELECT "{column}" FROM "{table}"')]


def test_builds_are_identical_across_processes(built, tmp_path):
    # Separate processes with different hash seeds: set or dict-of-str ordering
    # leaking into the data would show up here, not in one process.
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"hashseed{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, str(SCRIPT), "--out", str(out)],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        outs.append(out)
    for db_id in DB_IDS:
        reference = _dump(_db_path(built, db_id))
        assert len(reference) > 1000
        for out in outs:
            assert _dump(_db_path(out, db_id)) == reference, db_id
    reference_docs = sorted((built / "clinic" / "database_description").glob("*.csv"))
    for out in outs:
        docs = sorted((out / "clinic" / "database_description").glob("*.csv"))
        assert [p.name for p in docs] == [p.name for p in reference_docs]
        assert [p.read_bytes() for p in docs] == [p.read_bytes() for p in reference_docs]


@pytest.mark.parametrize("db_id", DB_IDS)
def test_schema_keys_and_integrity(built, db_id):
    con = sqlite3.connect(_db_path(built, db_id))
    tables = _tables(con)
    assert 4 <= len(tables) <= 8

    foreign_keys = 0
    for table in tables:
        columns = _columns(con, table)
        assert any(pk for *_, pk in columns), f"{table} has no PRIMARY KEY"
        names = {c[1] for c in columns}
        for fk in con.execute(f'PRAGMA foreign_key_list("{table}")'):
            _, _, parent, child_col, parent_col, *_ = fk
            assert child_col in names
            assert parent in tables
            assert parent_col in {c[1] for c in _columns(con, parent)}
            foreign_keys += 1
    assert foreign_keys >= 4
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    indexes = con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    assert len(indexes) >= 3

    counts = {t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    assert all(counts.values()), counts
    assert 2000 <= sum(counts.values()) <= 6000, counts
    con.close()


@pytest.mark.parametrize("db_id", DB_IDS)
def test_value_shapes(built, db_id):
    con = sqlite3.connect(_db_path(built, db_id))
    declared_types: set[str] = set()
    has_null = has_date = has_timestamp = False
    for table in _tables(con):
        for _, column, col_type, *_ in _columns(con, table):
            declared_types.add(col_type)
            values = _column_values(con, table, column)
            present = [v for v in values if v is not None]
            has_null |= len(present) < len(values)
            if present and all(isinstance(v, str) for v in present):
                has_date |= all(DATE.fullmatch(v) for v in present)
                has_timestamp |= all(TIMESTAMP.fullmatch(v) for v in present)
    assert has_null
    assert has_date
    assert has_timestamp
    assert {"INTEGER", "REAL", "TEXT"} <= declared_types
    con.close()


# One natural question per database that needs GROUP BY / HAVING over skewed data.
SKEW_QUERIES = {
    "bookshop": "SELECT author_id FROM books GROUP BY author_id HAVING COUNT(*) >= 10",
    "clinic": "SELECT doctor_id FROM appointments GROUP BY doctor_id HAVING COUNT(*) >= 100",
    "airline": "SELECT passenger_id FROM bookings GROUP BY passenger_id HAVING COUNT(*) >= 8",
}


@pytest.mark.parametrize("db_id", DB_IDS)
def test_group_by_having_is_interesting(built, db_id):
    con = sqlite3.connect(_db_path(built, db_id))
    rows = con.execute(SKEW_QUERIES[db_id]).fetchall()
    con.close()
    assert 1 < len(rows) < 100


def test_descriptions_cover_every_column(built):
    described = [db_id for db_id in DB_IDS if (built / db_id / "database_description").is_dir()]
    assert described == ["clinic"]
    folder = built / "clinic" / "database_description"
    con = sqlite3.connect(_db_path(built, "clinic"))
    tables = _tables(con)
    assert sorted(p.stem for p in folder.glob("*.csv")) == tables
    for table in tables:
        with (folder / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            assert tuple(reader.fieldnames) == builder.DESCRIPTION_HEADER
            rows = list(reader)
        assert [r["original_column_name"] for r in rows] == [c[1] for c in _columns(con, table)]
        for row in rows:
            assert row["column_name"] and "_" not in row["column_name"]
            assert row["column_description"]
            assert row["data_format"] in {"integer", "real", "text", "date", "datetime"}
    con.close()
    assert not list(built.rglob("*.tmp"))


def test_existing_database_is_skipped_unless_forced(built, tmp_path, capsys):
    out = tmp_path / "dbs"
    assert builder.main(["--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(DB_IDS)
    assert all("tables" in line and "rows" in line for line in lines)

    target = _db_path(out, "bookshop")
    target.write_bytes(b"not rebuilt")
    assert builder.main(["--out", str(out)]) == 0
    assert capsys.readouterr().out.count("skipped") == len(DB_IDS)
    assert target.read_bytes() == b"not rebuilt"

    assert builder.main(["--out", str(out), "--force"]) == 0
    assert "skipped" not in capsys.readouterr().out
    assert _dump(target) == _dump(_db_path(built, "bookshop"))
    assert not list(out.rglob("*.tmp"))
