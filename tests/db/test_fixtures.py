"""The shared fixtures' policy for missing data and servers: skip locally, fail in CI."""

from __future__ import annotations

import pytest

from server_data import missing


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [("true", pytest.fail.Exception), ("TRUE", pytest.fail.Exception), ("", pytest.skip.Exception)],
)
def test_missing_dependency_skips_locally_and_fails_in_ci(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome) as info:
        missing("the thing is not there")
    assert "the thing is not there" in str(info.value)


def test_tiny_sqlite_has_its_description_files(tiny_sqlite):
    files = sorted(p.name for p in (tiny_sqlite.root / "database_description").iterdir())
    assert files == ["department.csv", "employee.csv"]
    # One UTF-8 file with a BOM, one cp1252 file that is not valid UTF-8.
    assert (tiny_sqlite.root / "database_description" / "department.csv").read_bytes()[:3] == (
        b"\xef\xbb\xbf"
    )
    raw = (tiny_sqlite.root / "database_description" / "employee.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
