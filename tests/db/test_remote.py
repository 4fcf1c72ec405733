"""Database folders behind an fsspec URL: copied once per machine, fetched again when changed."""

from __future__ import annotations

import logging
import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest

fsspec = pytest.importorskip("fsspec")

from sqlfoundry.api.databases import open_databases  # noqa: E402
from sqlfoundry.core.errors import ConfigError  # noqa: E402
from sqlfoundry.db.manager import DatabaseManager  # noqa: E402
from sqlfoundry.db.remote import cache_folder, local_copy, remote_url  # noqa: E402


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("s3://bucket/spider/database", "s3://bucket/spider/database"),
        (Path("s3://bucket/spider/database"), "s3://bucket/spider/database"),  # typer's Path
        ("gs://b/dbs/", "gs://b/dbs/"),
        ("file:///srv/dbs", "file:///srv/dbs"),
        (Path("file:///srv/dbs"), "file:///srv/dbs"),
        ("memory://dbs", "memory://dbs"),
        ("postgresql://me@127.0.0.1:5432", None),  # a server, not a folder
        ("mysql+pymysql://root@127.0.0.1", None),
        ("/srv/dbs", None),
        ("relative/dbs", None),
        ("C:/dbs", None),
    ],
)
def test_which_roots_are_urls(given, url):
    assert remote_url(given) == url


@pytest.fixture
def source(tmp_path: Path, tiny_sqlite) -> Path:
    """A folder in Spider's layout with BIRD descriptions, standing for a bucket."""
    root = tmp_path / "bucket" / "dbs"
    shutil.copytree(tiny_sqlite.path.parent, root / "tiny")
    other = root / "other" / "other.sqlite"
    other.parent.mkdir()
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
    conn.close()
    return root


def test_a_file_url_is_copied_once_and_opened_like_a_folder(source: Path, tmp_path, caplog):
    url = f"file://{source}"
    caplog.set_level(logging.INFO, logger="sqlfoundry.db.remote")
    manager = DatabaseManager(root=url)
    assert manager.urls == [url] and manager.roots == []
    assert manager.db_ids() == ["other", "tiny"]
    copy = cache_folder(url)
    assert manager.spec("other").path == str(copy / "other" / "other.sqlite")
    assert (copy / "tiny" / "tiny.sqlite").read_bytes() == (
        source / "tiny" / "tiny.sqlite"
    ).read_bytes()
    # BIRD's descriptions came along, so the schema has them.
    schema = manager.schema("tiny")
    assert any(c.description for t in schema.tables for c in t.columns)
    with manager.open("other") as db:
        assert db.execute("SELECT sum(x) FROM t").rows == [(3,)]
    fetched = [r.message for r in caplog.records if r.name == "sqlfoundry.db.remote"]
    assert fetched == [f"fetched 4 database file(s) from {url} into {copy}"]  # 2 CSVs too

    # Nothing changed: nothing is fetched again.
    caplog.clear()
    stamp = (copy / "other" / "other.sqlite").stat().st_mtime_ns
    assert local_copy(url) == copy and not [r for r in caplog.records if "fetched" in r.message]
    assert (copy / "other" / "other.sqlite").stat().st_mtime_ns == stamp

    # A changed file is fetched again, a removed one goes.
    with sqlite3.connect(source / "other" / "other.sqlite") as conn:
        conn.execute("INSERT INTO t VALUES (10)")
    conn.close()
    shutil.rmtree(source / "tiny")
    again = DatabaseManager(root=url)
    assert again.db_ids() == ["other"]
    with again.open("other") as db:
        assert db.execute("SELECT sum(x) FROM t").rows == [(13,)]
    assert not (copy / "tiny" / "tiny.sqlite").exists()


def test_any_fsspec_file_system_and_a_copy_per_machine(source: Path, tmp_path, monkeypatch):
    memory = fsspec.filesystem("memory")
    for path in source.rglob("*.sqlite"):
        memory.pipe(f"/bucket/{path.relative_to(source)}", path.read_bytes())
    manager = open_databases("memory://bucket")
    assert manager.db_ids() == ["other", "tiny"]
    # Sent to another machine (a Ray node), the manager makes its own copy there.
    monkeypatch.setenv("SQLFOUNDRY_CACHE_DIR", str(tmp_path / "node2"))
    on_node = pickle.loads(pickle.dumps(manager))
    path = Path(on_node.spec("other").path)
    assert path.is_relative_to(tmp_path / "node2") and path.is_file()


def test_bad_urls_are_one_line_errors(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no databases here")
    with pytest.raises(ConfigError) as caught:
        DatabaseManager(root=f"file://{empty}").db_ids()
    assert caught.value.message == f"no <db_id>.sqlite or .db file under file://{empty}"
    with pytest.raises(ConfigError) as caught:
        DatabaseManager(root="nosuchprotocol://bucket/dbs").db_ids()
    assert caught.value.message.startswith("cannot open nosuchprotocol://bucket/dbs: ")
    missing = DatabaseManager(root=f"file://{tmp_path / 'missing'}")
    with pytest.raises(ConfigError) as caught:
        missing.db_ids()
    assert caught.value.message == (
        f"cannot list the databases under file://{tmp_path / 'missing'}: no such folder"
    )


def test_synth_reads_a_url_as_it_reads_the_folder(tmp_path: Path):
    import sys

    from typer.testing import CliRunner

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from demo_builder import demo_builder
    from sqlfoundry.cli.main import app

    dbs = tmp_path / "dbs"
    demo_builder().build_all(dbs)
    runs = {}
    for name, root in (("folder", str(dbs)), ("url", f"file://{dbs}")):
        done = CliRunner().invoke(app, ["synth", "--db-root", root, "--num-per-db", "6",
                                        "--seed", "1", "--out", str(tmp_path / name), "-q"])  # fmt: skip
        assert done.exit_code == 0, done.output
        runs[name] = (tmp_path / name / "data.jsonl").read_text()
    assert runs["url"] == runs["folder"] and runs["url"].count("\n") >= 10
