"""Sample: a deep copy shares nothing mutable with its original and equals it."""

from __future__ import annotations

import copy

from sqlfoundry.core.sample import Sample, copy_data


def test_a_deep_copy_is_equal_and_independent():
    original = Sample(id="a", db_id="shop", sql="SELECT 1", candidates=["SELECT 2"],
                      schema_subset={"t": ["c"]},
                      meta={"provenance": [{"operator": "x", "n": 2}], "score": 0.5,
                            "pair": ("kept", 1)})  # fmt: skip
    clone = original.model_copy(deep=True)
    assert clone == original and clone.model_fields_set == original.model_fields_set
    clone.meta["provenance"][0]["n"] = 3
    clone.candidates.append("SELECT 3")
    clone.schema_subset["t"].append("d")
    assert original.meta["provenance"] == [{"operator": "x", "n": 2}]
    assert original.candidates == ["SELECT 2"] and original.schema_subset == {"t": ["c"]}
    updated = original.model_copy(update={"question": "Q?"}, deep=True)
    assert updated.question == "Q?" and original.question is None
    assert copy.deepcopy(original) == original


def test_a_deep_copy_with_an_update_is_what_pydantic_gives(monkeypatch):
    from pydantic import BaseModel

    original = Sample(id="a", db_id="shop", candidates=["SELECT 2"], meta={"p": [{"n": 1}]})
    given = {"k": [1]}
    ours = original.model_copy(update={"meta": given, "question": "Q?"}, deep=True)
    theirs = BaseModel.model_copy(original, update={"meta": given, "question": "Q?"}, deep=True)
    assert ours == theirs and ours.model_fields_set == theirs.model_fields_set
    assert ours.meta is given  # an update is used as given, as pydantic does
    assert ours.candidates is not original.candidates  # the rest is copied
    # ...through Sample.__deepcopy__, not copy.deepcopy field by field.
    import pydantic.main

    def refused(*args, **kwargs):
        raise AssertionError("copy.deepcopy called")

    monkeypatch.setattr(copy, "deepcopy", refused)
    monkeypatch.setattr(pydantic.main, "deepcopy", refused)
    original.model_copy(update={"question": "Q?"}, deep=True)


def test_copy_data_copies_containers_and_hands_other_values_to_deepcopy():
    data = {"a": [1, {"b": None}], "c": {1, 2}}
    copied = copy_data(data)
    assert copied == data and copied["a"] is not data["a"] and copied["c"] is not data["c"]


def test_a_json_line_is_the_compact_dict_encoded():
    from dataclasses import dataclass

    from pydantic import BaseModel

    from sqlfoundry.core.io import checkpoint_line

    class Usage(BaseModel):
        tokens: int = 0
        model: str | None = None

    @dataclass
    class Span:
        start: int

    records = [
        Sample(id="a", db_id="shop"),
        Sample(id="a", db_id="shop", sql="", candidates=[], meta={}, schema_subset={}),
        Sample(id="b", db_id="shop", question="Qué?", sql="SELECT 1", candidates=["SELECT 2"],
               meta={"pair": ("kept", 1), "score": 0.5, "n": [{"k": None}]}),
        # What JSON cannot hold as it is takes pydantic's dump (a model loses its defaults).
        Sample(id="c", db_id="shop", meta={"usage": Usage(tokens=3)}),
        Sample(id="d", db_id="shop", meta={"span": Span(1)}),
    ]  # fmt: skip
    lines = [s.to_json_line() for s in records]
    assert lines == [checkpoint_line(s.to_json_dict()) for s in records]
    assert lines[:2] == ['{"id":"a","db_id":"shop"}',
                         '{"id":"a","db_id":"shop","sql":"","schema_subset":{}}']  # fmt: skip
    assert lines[3] == '{"id":"c","db_id":"shop","meta":{"usage":{"tokens":3}}}'
    assert lines[4] == '{"id":"d","db_id":"shop","meta":{"span":{"start":1}}}'
