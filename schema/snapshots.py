"""Snapshots: a tree of strawberry data types as JSON, and back.

What was provided is stored with its record (``provision_records.payload``), so a retried request
gets the answer that was sent, not one rebuilt from records that may have changed since. Only plain
data types (dataclass fields; no resolvers reading the database) can be stored; enums are stored as
their values (the codes), dates as ISO strings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["decode", "from_json", "to_json"]

T = TypeVar("T")


def to_json(value: object) -> Any:
    """``value`` (a data type, list, enum, date or scalar) as JSON-compatible Python values."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in _data_fields(type(value))}
    raise TypeError(f"cannot snapshot a {type(value).__name__}")


_HINTS: dict[type, dict[str, Any]] = {}


def _data_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The stored fields: those set when constructed (resolver fields like ``periodFrom`` are not)."""
    return [f for f in dataclasses.fields(cls) if f.init]


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def decode(hint: Any, value: Any) -> Any:
    """A JSON value back as the type ``hint`` names (enum, date, data type, a list or optional of them)."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return decode(inner, value)
    if origin is list:
        (inner,) = typing.get_args(hint)
        return [decode(inner, v) for v in value]
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return hint(value)
        if hint is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if hint is dt.date:
            return dt.date.fromisoformat(value)
        if dataclasses.is_dataclass(hint):
            return from_json(hint, value)
    return value


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of the data type ``cls`` from what :func:`to_json` made of one."""
    hints = _hints(cls)
    values = {f.name: decode(hints[f.name], data.get(f.name)) for f in _data_fields(cls)}
    return cls(**values)
