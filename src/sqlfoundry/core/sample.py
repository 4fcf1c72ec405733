"""Sample: the one record type every operator, loader and metric works on."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_SCALARS = frozenset((str, int, float, bool, type(None)))


def copy_data(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars); anything else through
    ``copy.deepcopy``. Several times faster than ``copy.deepcopy`` on records."""
    kind = type(value)
    # Scalars are most of a record's leaves: taken as they are, without a call each.
    if kind is dict:
        return {k: v if type(v) in _SCALARS else copy_data(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else copy_data(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


class Sample(BaseModel):
    """One Text-to-SQL record, serialisable to one JSON line.

    ``hardness`` is the Spider hardness computed from ``sql``; ``difficulty``
    is a label the data came with (BIRD's simple / moderate / challenging);
    ``component_difficulty`` and ``execution_difficulty`` are the synthesis
    classifiers' labels (from SQL components, and from the pass rate of model
    generations).
    ``meta`` holds provenance: the operator, seed, engine, source file:line and
    LLM usage.
    """

    model_config = ConfigDict(validate_assignment=False)

    id: str
    db_id: str
    question: str | None = None
    sql: str | None = None
    evidence: str | None = None
    prompt: str | None = None
    cot: str | None = None
    hardness: str | None = None
    difficulty: str | None = None
    component_difficulty: str | None = None
    execution_difficulty: str | None = None
    pred_sql: str | None = None
    candidates: list[str] = Field(default_factory=list)
    schema_subset: dict[str, list[str]] | None = None
    schema_links: dict[str, Any] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Sample:
        # model_copy(deep=True) comes here. Every operator copies the records it
        # changes, and copy.deepcopy of their meta was a fifth of an LLM run's CPU.
        clone = type(self).__new__(type(self))
        object.__setattr__(clone, "__dict__", copy_data(self.__dict__))
        object.__setattr__(clone, "__pydantic_extra__", None)
        object.__setattr__(clone, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))
        object.__setattr__(clone, "__pydantic_private__", None)
        return clone

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Sample:
        """A copy, with ``update`` applied as given (not validated, not copied).

        With ``deep`` and ``update`` pydantic deep-copies field by field through
        ``copy.deepcopy``; the copy here takes :meth:`__deepcopy__`'s path instead."""
        if not deep:
            return super().model_copy(update=update)
        clone = self.__deepcopy__()
        if update:
            clone.__dict__.update(update)
            clone.__pydantic_fields_set__.update(update.keys())
        return clone

    def to_json_dict(self) -> dict[str, Any]:
        """A compact dict: fields left at their empty defaults are dropped."""
        return self.model_dump(exclude_defaults=True)

    def to_json_line(self) -> str:
        """:meth:`to_json_dict` as one JSON line (no newline), the way a checkpoint holds it.

        The fields are encoded as they are, with no dump copying every nested value first
        (a tenth of a record's cost in a long pipeline); a value JSON cannot hold as it is
        (a pydantic model in ``meta``) takes the dump's path."""
        from sqlfoundry.core.io import checkpoint_line

        fields = self.__dict__
        compact = {name: fields[name] for name, default in _json_defaults(type(self))
                   if fields[name] != default}  # fmt: skip
        try:
            return checkpoint_line(compact)
        except (TypeError, ValueError):
            return checkpoint_line(self.to_json_dict())


@functools.cache
def _json_defaults(model: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    """(field, default) of each of ``model``'s fields, in order, as ``exclude_defaults``
    compares them (a default factory's value)."""
    return tuple(
        (name, field.default_factory() if field.default_factory else field.default)  # type: ignore[call-arg]
        for name, field in model.model_fields.items()
    )
