"""Generic conversion of frozen dataclasses to JSON-able values and back, driven by the type hints.

Decision records (:mod:`lendcore.risk.decision`) and stored applications are frozen dataclasses of
scalars, enums, decimals, dates, tuples, frozensets and mappings. Decimals and dates travel as strings
(exact, never floats); enums as their values; a NamedTuple as an object; a frozenset as a sorted list.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

#: Scalars that are not JSON types, and how each is written (checked in order: an enum first).
_SCALARS_OUT: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (Enum, lambda v: v.value),
    (Decimal, str),
    (date, lambda v: v.isoformat()),
)

#: Scalar classes a value is read into, by exact class.
_SCALARS_IN: dict[type, Callable[[Any], Any]] = {
    Decimal: Decimal,
    date: date.fromisoformat,
    float: float,
    int: lambda v: v,
    str: lambda v: v,
    bool: lambda v: v,
}


def to_jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, bool | int | float | str) and not isinstance(value, Enum)):
        return value
    for kind, write in _SCALARS_OUT:
        if isinstance(value, kind):
            return write(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple reads as an object
        return {name: to_jsonable(v) for name, v in zip(value._fields, value, strict=True)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    raise TypeError(f"cannot serialise {type(value).__name__}")


_HINTS: dict[type, dict[str, Any]] = {}


def from_jsonable(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _from_union(tp, data)
    if tp is Any:
        return data
    if origin is tuple:
        (item, *_rest) = typing.get_args(tp)
        return tuple(from_jsonable(item, v) for v in data)
    if origin is frozenset:
        (item,) = typing.get_args(tp)
        return frozenset(from_jsonable(item, v) for v in data)
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        _k, v_tp = typing.get_args(tp) or (str, Any)
        return {k: from_jsonable(v_tp, v) for k, v in data.items()}
    if isinstance(tp, type):
        return _from_class(tp, data)
    raise TypeError(f"cannot deserialise into {tp!r}")


def _from_union(tp: Any, data: Any) -> Any:
    args = typing.get_args(tp)
    if data is None and type(None) in args:
        return None
    non_none = [a for a in args if a is not type(None)]
    if len(non_none) == 1:
        return from_jsonable(non_none[0], data)
    # FeatureValue = float | int | str | None: keep JSON's own type
    return data


def _from_class(tp: type, data: Any) -> Any:
    if is_dataclass(tp):
        hints = _HINTS.get(tp)
        if hints is None:
            hints = _HINTS[tp] = typing.get_type_hints(tp)
        return tp(
            **{f.name: from_jsonable(hints[f.name], data[f.name]) for f in fields(tp) if f.name in data}
        )
    if issubclass(tp, Enum):
        return tp(data)
    read = _SCALARS_IN.get(tp)
    if read is None:
        raise TypeError(f"cannot deserialise into {tp!r}")
    return read(data)
