"""DatabaseManager, find_sqlite_files, ServerSettings and BIRD description files."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from sqlfoundry.core.errors import ConfigError, DatabaseNotFoundError
from sqlfoundry.db.base import DatabaseSpec
from sqlfoundry.db.descriptions import apply_descriptions
from sqlfoundry.db.manager import DatabaseManager, ServerSettings, find_sqlite_files, open_database
from sqlfoundry.db.schema import Column, Schema, Table
from sqlfoundry.db.sqlite import SQLiteDatabase


def touch(path: Path, source: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, path)
    return path


@pytest.fixture
def layout(tmp_path, tiny_sqlite):
    """Several copies of the tiny database, placed to exercise the db_id tie-breaks."""
    root = tmp_path / "dbs"
    src = tiny_sqlite.path
    files = {
        "spider": touch(root / "a" / "a.sqlite", src),  # Spider layout: wins for "a"
        "a_top": touch(root / "a.sqlite", src),
        "a_db": touch(root / "x" / "a.db", src),
        "b_db": touch(root / "b.db", src),
        "b_sqlite": touch(root / "b.sqlite", src),  # .sqlite beats .db
        "c_deep": touch(root / "p" / "q" / "c.sqlite", src),
        "c_shallow": touch(root / "p" / "c.sqlite", src),  # shorter path wins
        "hidden": touch(root / ".cache" / "h.sqlite", src),  # hidden folders are skipped
        "upper": touch(root / "U.SQLITE", src),
    }
    (root / "notes.txt").write_text("not a database")
    (root / "x" / "README.db.txt").write_text("not a database either")
    return root, files


def test_find_sqlite_files_resolves_duplicates(layout):
    root, files = layout
    assert find_sqlite_files(root) == {
        "U": files["upper"],
        "a": files["spider"],
        "b": files["b_sqlite"],
        "c": files["c_shallow"],
    }


def test_manager_over_a_root(layout):
    root, files = layout
    manager = DatabaseManager(root)
    assert manager.db_ids() == ["U", "a", "b", "c"]
    assert "a" in manager
    assert "h" not in manager
    assert manager.spec("b") == DatabaseSpec(db_id="b", kind="sqlite", path=str(files["b_sqlite"]))
    with manager.open("a") as db:
        assert isinstance(db, SQLiteDatabase)
        assert db.execute("SELECT count(*) FROM department").rows == [(3,)]


def test_explicit_paths_win_over_the_root(layout, tmp_path):
    root, files = layout
    manager = DatabaseManager(root, paths={"a": files["a_db"], "extra": files["hidden"]})
    assert manager.spec("a").path == str(files["a_db"])
    assert manager.db_ids() == ["U", "a", "b", "c", "extra"]


def test_for_file_uses_the_stem(tiny_sqlite):
    manager = DatabaseManager.for_file(tiny_sqlite.path)
    assert manager.db_ids() == ["tiny"]
    assert manager.spec("tiny").path == str(tiny_sqlite.path)


def test_unknown_db_id_names_where_it_looked(layout):
    root, _ = layout
    with pytest.raises(DatabaseNotFoundError) as info:
        DatabaseManager(root).spec("nope")
    assert info.value.db_id == "nope"
    assert info.value.message == f"unknown db_id 'nope': no database under {root}"
    with pytest.raises(DatabaseNotFoundError) as info:
        DatabaseManager().spec("nope")
    assert info.value.message == (
        "unknown db_id 'nope': no database (no database root or server configured)"
    )
    server = ServerSettings(kind="postgres", databases=["only_this"])
    with pytest.raises(DatabaseNotFoundError) as info:
        DatabaseManager(root, server=server).spec("nope")
    assert info.value.message == (
        f"unknown db_id 'nope': no database under {root} or on the postgres server 127.0.0.1"
    )


def test_root_must_be_a_folder(tmp_path):
    with pytest.raises(ConfigError) as info:
        DatabaseManager(tmp_path / "missing")
    assert info.value.message == f"database root {tmp_path / 'missing'} is not a folder"


def test_schema_is_introspected_once_per_sample_count(tiny_sqlite):
    manager = DatabaseManager.for_file(tiny_sqlite.path)
    first = manager.schema("tiny")
    assert manager.schema("tiny") is first
    assert manager.schema("tiny", sample_values=0) is not first
    assert first.table("employee").row_count == 7


def test_open_database_refuses_an_unknown_kind():
    spec = DatabaseSpec(db_id="x", kind="oracle")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        open_database(spec)
    assert str(info.value) == "db_id=x: unknown database kind 'oracle'"


# ----------------------------------------------------------------- ServerSettings


@pytest.mark.parametrize(
    ("url", "kind", "host", "port", "user", "databases"),
    [
        ("postgresql://postgres@127.0.0.1:5432", "postgres", "127.0.0.1", 5432, "postgres", None),
        ("postgres://u@db.local/a,b", "postgres", "db.local", None, "u", ["a", "b"]),
        ("postgresql+psycopg://u@h:6000/x", "postgres", "h", 6000, "u", ["x"]),
        ("mysql://root@127.0.0.1:3306/shop", "mysql", "127.0.0.1", 3306, "root", ["shop"]),
        ("mariadb://some%20one@h/", "mysql", "h", None, "some one", None),
    ],
)
def test_server_url_parsing(url, kind, host, port, user, databases):
    s = ServerSettings.from_url(url, password_env="PW")
    assert (s.kind, s.host, s.port, s.user, s.databases, s.password_env) == (
        kind,
        host,
        port,
        user,
        databases,
        "PW",
    )


def test_server_url_with_a_password_is_refused():
    with pytest.raises(ConfigError) as info:
        ServerSettings.from_url("postgresql://u:hunter2@127.0.0.1/db")
    assert "hunter2" not in str(info.value)
    assert str(info.value) == (
        "put the server password in an environment variable, not the URL "
        "(set password_env / --db-password-env)"
    )


def test_unsupported_scheme_is_refused_without_echoing_a_password():
    with pytest.raises(ConfigError) as info:
        ServerSettings.from_url("mssql://sa@host/db")
    assert str(info.value) == (
        "unsupported server URL scheme 'mssql' in 'mssql://sa@host/db' "
        "(use postgresql://... or mysql://...)"
    )
    with pytest.raises(ConfigError) as info:
        ServerSettings.from_url("mssql://sa:hunter2@host/db")
    assert "hunter2" not in str(info.value)


def test_server_spec_reads_the_password_from_the_environment(monkeypatch):
    settings = ServerSettings(kind="mysql", user="app", password_env="SQLFOUNDRY_TEST_PW")
    monkeypatch.delenv("SQLFOUNDRY_TEST_PW", raising=False)
    with pytest.raises(ConfigError) as info:
        settings.spec("shop")
    assert str(info.value) == (
        "environment variable SQLFOUNDRY_TEST_PW is not set "
        "(it should hold the database server password)"
    )
    monkeypatch.setenv("SQLFOUNDRY_TEST_PW", "s3cret-value")
    spec = settings.spec("shop")
    assert spec == DatabaseSpec(
        db_id="shop",
        kind="mysql",
        host="127.0.0.1",
        port=3306,
        user="app",
        password="s3cret-value",
        database="shop",
    )
    assert "s3cret-value" not in repr(spec)
    assert spec.describe() == "mysql://app@127.0.0.1:3306/shop"


# ----------------------------------------------------------------- descriptions


def schema_with(*tables: tuple[str, list[str]]) -> Schema:
    return Schema(
        db_id="d",
        tables=[Table(name=n, columns=[Column(name=c) for c in cols]) for n, cols in tables],
    )


def test_descriptions_latin1_and_header_variants(tmp_path, caplog):
    folder = tmp_path / "database_description"
    folder.mkdir()
    # Header with odd spacing and case; a byte that is valid in neither UTF-8 nor
    # cp1252 (0x81) forces the latin-1 fallback.
    (folder / "Player.csv").write_bytes(
        b" Original_Column_Name ,Column_Name,column_description,data_format,value_description\n"
        b"pid,player id,the id \x81,integer,\n"
        b"gone,,not here,,\n"
        b'team,,,text,"H: home; A: away"\n'
    )
    schema = schema_with(("player", ["pid", "team"]), ("match", ["mid"]))
    with caplog.at_level(logging.WARNING, logger="sqlfoundry.db.descriptions"):
        filled = apply_descriptions(schema, folder)
    assert filled == 2
    pid, team = schema.table("player").columns
    assert (pid.readable_name, pid.description, pid.value_description) == (
        "player id",
        "the id \x81",
        None,
    )
    assert (team.readable_name, team.description, team.value_description) == (
        None,
        None,
        "H: home; A: away",
    )
    assert f"{folder / 'Player.csv'}:3: no column 'gone' in table player" in caplog.text


def test_descriptions_folder_absent_is_fine(tmp_path):
    schema = schema_with(("t", ["a"]))
    assert apply_descriptions(schema, tmp_path / "database_description") == 0
    assert schema.tables[0].columns[0].description is None


def _walked(manager: DatabaseManager) -> dict[str, str]:
    """What the manager resolves once it has walked its roots."""
    return {d: manager.spec(d).path for d in manager.db_ids()}


def test_a_spider_layout_db_id_resolves_without_walking_to_what_the_walk_finds(spider_root):
    root = spider_root / "database"
    quick = DatabaseManager(root=root)
    ids = [
        d for d in sorted(p.name for p in root.iterdir()) if (root / d / f"{d}.sqlite").is_file()
    ]
    resolved = {d: quick.spec(d).path for d in ids}
    assert quick._found is None  # answered without walking the root
    assert resolved == {d: p for d, p in _walked(DatabaseManager(root=root)).items() if d in ids}


def test_what_the_quick_way_leaves_to_the_walk(tmp_path):
    import sqlite3

    def make(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()

    root = tmp_path / "shop"  # a root named like a db_id, holding that db_id's file itself
    make(root / "shop.sqlite")
    make(root / "shop" / "shop.sqlite")
    make(root / "deep" / "x" / "other.db")
    make(root / ".hidden" / ".hidden.sqlite")
    make(tmp_path / "outside" / "outside.sqlite")
    manager = DatabaseManager(root=root)
    assert manager.spec("shop").path == str(root / "shop.sqlite")  # the shorter path wins
    assert manager.spec("other").path == str(root / "deep" / "x" / "other.db")
    for db_id in (".hidden", "../outside", "shop/shop"):
        assert db_id not in manager
        with pytest.raises(DatabaseNotFoundError):
            manager.spec(db_id)
    explicit = DatabaseManager(root=root, paths={"shop": tmp_path / "outside" / "outside.sqlite"})
    assert explicit.spec("shop").path == str(tmp_path / "outside" / "outside.sqlite")
