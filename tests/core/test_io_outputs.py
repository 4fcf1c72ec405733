"""Output paths: a regular file is replaced atomically, a symlink keeps being a link, a FIFO
or a device is written through, ``-`` is standard output / input, and a path that cannot be
written is refused up front with its name. Everything stays inside tmp_path."""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path

import pytest

from sqlfoundry.core import io as sio
from sqlfoundry.core.errors import OutputError
from sqlfoundry.core.io import (
    atomic_path,
    atomic_write_jsonl,
    atomic_write_text,
    check_output,
    read_records,
)


def test_a_symlink_stays_a_link_and_its_target_gets_the_text(tmp_path):
    target = tmp_path / "real" / "report.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    # Nothing left over beside the target or the link.
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "out.jsonl"
    link.symlink_to(tmp_path / "made.jsonl")
    assert atomic_write_jsonl(link, [{"a": 1}]) == 1
    assert link.is_symlink() and (tmp_path / "made.jsonl").read_text() == '{"a": 1}\n'


def _drain(fifo: Path, got: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_a_fifo_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _drain(fifo, got)
    assert atomic_write_jsonl(fifo, [{"q": "café"}, {"q": 2}]) == 2
    reader.join(timeout=30)
    assert got == ['{"q": "café"}\n{"q": 2}\n'.encode()]
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_symlink_to_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "stdout-like"
    link.symlink_to(fifo)  # what /dev/stdout is when the output is piped
    got: list[bytes] = []
    reader = _drain(fifo, got)
    atomic_write_text(link, "through")
    reader.join(timeout=30)
    assert got == [b"through"]
    assert link.is_symlink() and fifo.is_fifo()


def test_a_link_to_a_pipe_like_dev_stdout_is_written_through(tmp_path):
    # /dev/stdout on a pipe is /proc/self/fd/1 -> "pipe:[N]", a name that is no file.
    read_end, write_end = os.pipe()
    link = tmp_path / "stdout"
    link.symlink_to(f"/proc/self/fd/{write_end}")
    try:
        check_output(link)
        atomic_write_jsonl(link, [{"a": 1}])
        with atomic_path(link) as tmp:
            tmp.write_bytes(b"bytes\n")
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert pipe.read() == b'{"a": 1}\nbytes\n'
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["stdout"]


def test_dev_stdout_redirected_to_a_file_writes_through_the_open_file(tmp_path):
    # `sqlfoundry ... --out /dev/stdout > report.json`: the shell holds report.json open;
    # a rename would leave it writing to a deleted file.
    redirected = tmp_path / "report.json"
    fd = os.open(redirected, os.O_RDWR | os.O_CREAT, 0o644)
    link = tmp_path / "stdout"
    link.symlink_to(f"/proc/self/fd/{fd}")
    try:
        atomic_write_text(link, "through")
        assert os.fstat(fd).st_ino == redirected.stat().st_ino
        assert os.pread(fd, 100, 0) == b"through"
    finally:
        os.close(fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "stdout"]


def test_a_file_name_writer_reaches_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _drain(fifo, got)
    with atomic_path(fifo) as tmp:
        assert tmp != fifo
        tmp.write_bytes(b"PAR1...")
    reader.join(timeout=30)
    assert got == [b"PAR1..."] and fifo.is_fifo()


def test_dash_is_standard_output(tmp_path, capsysbinary, monkeypatch):
    monkeypatch.chdir(tmp_path)
    atomic_write_jsonl("-", [{"a": 1}])
    atomic_write_text(Path("-"), "text\n")
    with atomic_path("-") as tmp:
        tmp.write_bytes(b"bytes\n")
    assert capsysbinary.readouterr().out == b'{"a": 1}\ntext\nbytes\n'
    assert list(tmp_path.iterdir()) == []  # no file named '-'


def test_dash_is_standard_input_read_once(monkeypatch):
    monkeypatch.setattr(sio, "_stdin", [])
    stdin = io.TextIOWrapper(io.BytesIO(b'{"SQL": "SELECT 1", "db_id": "d"}\n{bad\n'))
    monkeypatch.setattr(sys, "stdin", stdin)
    lines = list(read_records("-"))
    assert lines[0].data == {"SQL": "SELECT 1", "db_id": "d"}
    assert str(lines[1].error).startswith("<stdin>:2: invalid JSON")
    assert len(list(read_records("-"))) == 2  # the same text when read again


def test_gold_lines_on_standard_input(monkeypatch):
    monkeypatch.setattr(sio, "_stdin", [])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"SELECT 1\tdb\n")))
    assert [ln.data for ln in read_records("-")] == [{"SQL": "SELECT 1", "db_id": "db"}]


def test_replacing_keeps_the_old_files_mode(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text("old")
    path.chmod(0o600)
    atomic_write_text(path, "new")
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text() == "new"


def test_checks_name_the_path(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(OutputError) as info:
        check_output(a_file, folder=True)
    assert str(info.value) == f"{a_file}: exists and is not a folder"
    with pytest.raises(OutputError) as info:
        check_output(a_file / "deeper" / "report.json")
    assert (
        str(info.value) == f"{a_file / 'deeper' / 'report.json'}: {a_file} is a file, not a folder"
    )
    with pytest.raises(OutputError) as info:
        check_output(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a folder; a file name is needed here"
    with pytest.raises(OutputError) as info:
        check_output("-", folder=True)
    assert "folder is needed" in str(info.value)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for fine in ("-", a_file, tmp_path / "new" / "x.json", fifo):
        check_output(fine)
    check_output(tmp_path / "new" / "run", folder=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "pipe"]  # checks create nothing


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError) as info:
            check_output(folder / "run", folder=True)
        assert str(info.value) == f"{folder / 'run'}: no permission to write in {folder}"
        with pytest.raises(OutputError):
            atomic_write_text(folder / "x.json", "{}")
    finally:
        folder.chmod(0o755)


def test_no_permission_is_refused_whoever_runs_the_test(tmp_path, monkeypatch):
    # Root may write anywhere, so the permission answer is what the check reads.
    folder = tmp_path / "ro"
    folder.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != folder)
    with pytest.raises(OutputError) as info:
        check_output(folder / "report.json")
    assert str(info.value) == f"{folder / 'report.json'}: no permission to write in {folder}"
    with pytest.raises(OutputError) as info:
        check_output(folder, folder=True)
    assert str(info.value) == f"{folder}: no permission to write in this folder"
    protected = tmp_path / "protected.json"
    protected.write_text("{}")
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != protected)
    with pytest.raises(OutputError) as info:
        check_output(protected)
    assert str(info.value) == f"{protected}: no permission to write to it"


def test_a_failed_write_is_an_output_error_naming_the_path(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    with pytest.raises(OutputError) as info:
        atomic_write_text(blocker / "x.json", "{}")
    assert str(info.value).startswith(f"{blocker / 'x.json'}: cannot write: ")
    # Still an OSError: code that tolerates a failed write (a cache) goes on catching it.
    assert isinstance(info.value, OSError)
