"""Typed field access for decoded JSON model artefacts, with one error code per kind of fault.

Request path: standard library only. Each artefact family names itself (``what``) and its
invalid-field code, so a fault reads ``ebm terms[3].scores: must be a list`` with a stable code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lendcore.core.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class FieldReader:
    what: str  # "ebm", "scorecard", …: the first word of every message
    invalid_code: str  # code of a missing or mistyped field
    bad_bins_code: str  # code of an inconsistent binning (edges out of order, shapes that disagree)

    def invalid(self, path: str, message: str, code: str | None = None) -> ConfigurationError:
        return ConfigurationError(
            f"{self.what} {path}: {message}", code=code or self.invalid_code, field=path
        )

    def get(self, obj: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in obj:
            raise self.invalid(_join(path, key), "is required")
        return obj[key]

    def text(self, obj: Mapping[str, Any], key: str, path: str) -> str:
        value = self.get(obj, key, path)
        if not isinstance(value, str) or not value:
            raise self.invalid(_join(path, key), "must be a non-empty string")
        return value

    def integer(self, obj: Mapping[str, Any], key: str, path: str) -> int:
        value = self.get(obj, key, path)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.invalid(_join(path, key), "must be an integer")
        return value

    def number(self, obj: Mapping[str, Any], key: str, path: str, *, positive: bool = False) -> float:
        return self.as_number(self.get(obj, key, path), _join(path, key), positive=positive)

    def as_number(self, value: Any, path: str, *, positive: bool = False) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise self.invalid(path, "must be a finite number")
        if positive and value <= 0:
            raise self.invalid(path, "must be positive")
        return float(value)

    def items(self, obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
        value = self.get(obj, key, path)
        if not isinstance(value, list):
            raise self.invalid(_join(path, key), "must be a list")
        return value

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.invalid(path, "must be an object")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
