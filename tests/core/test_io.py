"""Record readers (bad lines become errors naming file:line) and atomic writers."""

from __future__ import annotations

import json
import os

import pytest

from sqlfoundry.core.errors import InputError
from sqlfoundry.core.io import (
    atomic_write_jsonl,
    atomic_write_text,
    checkpoint_line,
    read_gold,
    read_jsonl,
    read_records,
    sql_of,
)


def summary(lines) -> list[tuple]:
    return [(ln.line, ln.data, str(ln.error) if ln.error else None) for ln in lines]


def test_read_jsonl_keeps_going_past_bad_lines(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        '{"question": "q1", "SQL": "SELECT 1"}\n'
        "\n"
        "{not json\n"
        "[1, 2]\n"
        '  {"question": "q\u00e9", "db_id": "d"}  \n'
        '"just a string"\n',
        encoding="utf-8",
    )
    assert summary(read_jsonl(path)) == [
        (1, {"question": "q1", "SQL": "SELECT 1"}, None),
        (3, None, f"{path}:3: invalid JSON: Expecting property name enclosed in double quotes"),
        (4, None, f"{path}:4: line is not a JSON object"),
        (5, {"question": "q\u00e9", "db_id": "d"}, None),
        (6, None, f"{path}:6: line is not a JSON object"),
    ]
    bad = list(read_jsonl(path))[1].error
    assert isinstance(bad, InputError)
    assert (bad.file, bad.line) == (str(path), 3)


def test_read_json_list_file(tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps([{"query": "SELECT 1", "db_id": "a"}, 7, {"query": "SELECT 2"}]))
    assert summary(read_jsonl(path)) == [
        (1, {"query": "SELECT 1", "db_id": "a"}, None),
        (2, None, f"{path}:2: item is not a JSON object"),
        (3, {"query": "SELECT 2"}, None),
    ]


def test_broken_json_list_file_is_one_error_at_its_line(tmp_path):
    path = tmp_path / "dev.json"
    path.write_text('[\n  {"query": "SELECT 1"},\n  {"query": oops}\n]\n')
    assert summary(read_jsonl(path)) == [
        (3, None, f"{path}:3: invalid JSON: Expecting value"),
    ]


def test_json_suffix_with_one_object_per_line_is_read_as_jsonl(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text('{"a": 1}\n{"a": 2}\n')
    assert [ln.data for ln in read_jsonl(path)] == [{"a": 1}, {"a": 2}]


def test_read_gold(tmp_path):
    path = tmp_path / "gold.sql"
    path.write_text(
        "SELECT count(*) FROM singer\tconcert_singer\n"
        "\n"
        "   \n"
        "no tab on this line\n"
        "SELECT 'a\tb' FROM t\t  pets_1  \n"
        "\tno_sql\n"
        "SELECT 1\t\n"
        "SELECT name FROM t ORDER BY x\r\n"
    )
    assert summary(read_gold(path)) == [
        (1, {"SQL": "SELECT count(*) FROM singer", "db_id": "concert_singer"}, None),
        (4, None, f"{path}:4: expected 'SQL<TAB>db_id'"),
        # The db_id is after the last tab; a tab inside the SQL stays.
        (5, {"SQL": "SELECT 'a\tb' FROM t", "db_id": "pets_1"}, None),
        (6, None, f"{path}:6: expected 'SQL<TAB>db_id'"),
        (7, None, f"{path}:7: expected 'SQL<TAB>db_id'"),
        (8, None, f"{path}:8: expected 'SQL<TAB>db_id'"),
    ]


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("x.jsonl", "jsonl"),
        ("x.JSON", "jsonl"),
        ("x.ndjson", "jsonl"),
        ("x.sql", "gold"),
        ("x.txt", "gold"),
        ("gold", "gold"),
    ],
)
def test_read_records_picks_the_reader_by_suffix(tmp_path, name, reader):
    path = tmp_path / name
    path.write_text('{"SQL": "SELECT 1", "db_id": "d"}\n' if reader == "jsonl" else "SELECT 1\td\n")
    assert [ln.data for ln in read_records(path)] == [{"SQL": "SELECT 1", "db_id": "d"}]


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(InputError) as info:
        list(read_records(tmp_path / "nope.sql"))
    assert str(info.value) == f"{tmp_path / 'nope.sql'}: no such file"
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"q": "caf\xe9"}\n')
    with pytest.raises(InputError) as info:
        list(read_jsonl(latin))
    assert info.value.file == str(latin)
    assert info.value.message.startswith("cannot read file: 'utf-8' codec can't decode byte 0xe9")


@pytest.mark.parametrize(
    ("record", "sql"),
    [
        ({"SQL": "A", "sql": "B", "query": "C"}, "A"),
        ({"sql": "B", "query": "C"}, "B"),
        ({"query": "C"}, "C"),
        ({"SQL": None, "query": "C"}, "C"),
        ({"SQL": 5}, None),
        ({}, None),
    ],
)
def test_sql_of(record, sql):
    assert sql_of(record) == sql


def test_a_checkpoint_line_is_compact_and_what_orjson_cannot_hold_goes_through_json():
    from sqlfoundry.core.io import decode_line

    assert (
        checkpoint_line({"q": "caf\u00e9", 1: [1.5, None, True]})
        == '{"q":"caf\u00e9","1":[1.5,null,true]}'
    )
    big = {"n": 2**70, "m": [-(2**65)]}  # past 64 bits: json's encoder, in the same layout
    assert checkpoint_line(big) == '{"n":1180591620717411303424,"m":[-36893488147419103232]}'
    assert decode_line(checkpoint_line(big)) == big
    assert decode_line('{"x": NaN}')["x"] != decode_line('{"x": NaN}')["x"]  # json reads NaN
    assert decode_line(b'{"a":[1,2]}') == {"a": [1, 2]}
    with pytest.raises(ValueError, match="Expecting value: line 1 column 7"):
        decode_line('{"a": }')
    with pytest.raises(TypeError):
        checkpoint_line({"s": {1, 2}})


def test_atomic_write_jsonl(tmp_path):
    path = tmp_path / "out" / "deep" / "res.jsonl"
    records = [{"a": 1, "q": "caf\u00e9"}, {"b": [1, None]}]
    assert atomic_write_jsonl(path, records) == 2
    assert path.read_text(encoding="utf-8") == '{"a": 1, "q": "caf\u00e9"}\n{"b": [1, null]}\n'
    assert [ln.data for ln in read_jsonl(path)] == records
    # Overwrite in place, nothing left beside it.
    assert atomic_write_jsonl(path, iter([{"c": 3}])) == 1
    assert path.read_text(encoding="utf-8") == '{"c": 3}\n'
    assert sorted(p.name for p in path.parent.iterdir()) == ["res.jsonl"]
    assert atomic_write_jsonl(path, [{"c": 3}], encode=checkpoint_line) == 1
    assert path.read_text(encoding="utf-8") == '{"c":3}\n'
    assert atomic_write_jsonl(path, []) == 0
    assert path.read_text() == ""


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "res.jsonl"
    path.write_text("old\n")
    # A lone surrogate cannot be encoded as UTF-8: the write fails half way.
    with pytest.raises(UnicodeEncodeError):
        atomic_write_jsonl(path, [{"ok": 1}, {"bad": "\ud800"}])
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.jsonl"]
    with pytest.raises(TypeError):
        atomic_write_jsonl(path, [{"not serialisable": object()}])
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.jsonl"]


def test_atomic_write_text(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "x\ny")
    assert path.read_text() == "x\ny"


def test_error_string_puts_the_location_first():
    err = InputError("bad record", file="gold.sql", line=12, db_id="pets_1", hint="fix it")
    assert str(err) == "gold.sql:12 db_id=pets_1: bad record (fix it)"
    assert err.to_dict() == {
        "type": "InputError",
        "message": "bad record",
        "file": "gold.sql",
        "line": 12,
        "db_id": "pets_1",
        "sql": None,
    }
    assert str(InputError("plain")) == "plain"


def test_atomic_write_gives_the_mode_of_a_plain_open(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "report.html", "<html></html>")
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(old)
    mode = (tmp_path / "report.html").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain.txt").stat().st_mode & 0o777 == 0o644
