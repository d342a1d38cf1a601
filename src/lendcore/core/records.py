"""Typed records with one JSON form: what use cases take and return, stored and replayed as JSON.

A record is a frozen dataclass whose fields are ``int``, ``str``, ``bool``, ``Decimal``, ``date``,
``datetime``, a ``StrEnum``, ``None``-able versions of those, ``tuple[X, ...]``, ``dict[str, X]``
or other records. :func:`to_json` writes it (dates ISO, decimals and enums as text; money stays int
fen), :func:`from_json` reads it back exactly, driven by the type hints, so a result stored with an
idempotency key replays as the same typed value: ``from_json(R, to_json(r)) == r`` (tested as a
property). Inherit :class:`JsonRecord` for the two as methods.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Final, Self, TypeVar, get_args, get_origin

_R = TypeVar("_R")


def to_json(value: Any) -> Any:
    """The JSON form of a record (or of any value a record field may hold)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(cls: type[_R], data: Any) -> _R:
    """Read a value of type ``cls`` from its JSON form (:func:`to_json`)."""
    return typing.cast(_R, _read(cls, data))


#: Scalar kinds read from their JSON text.
_SCALARS: Final[dict[Any, Callable[[Any], Any]]] = {
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
    Decimal: Decimal,
}


def _read_container(kind: Any, data: Any) -> Any:
    origin = get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        if data is None:
            return None
        return _read(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        return tuple(_read(get_args(kind)[0], v) for v in data)
    _, item = get_args(kind)  # dict / Mapping
    return {k: _read(item, v) for k, v in data.items()}


def _read(kind: Any, data: Any) -> Any:
    if get_origin(kind) in (typing.Union, types.UnionType, tuple, dict, Mapping):
        return _read_container(kind, data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        record: Any = kind
        return record(**{f.name: _read(hints[f.name], data[f.name]) for f in dataclasses.fields(kind)})
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    reader = _SCALARS.get(kind)
    return data if reader is None else reader(data)


class JsonRecord:
    """Mixin: ``record.to_json()`` and ``Record.from_json(data)``."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = to_json(self)
        return result

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return from_json(cls, data)
