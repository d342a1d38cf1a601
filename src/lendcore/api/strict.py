"""Unknown query parameters are refused like unknown body fields (``UNKNOWN_FIELD``, 422): a
misspelt ``?limt=5`` must not be silently ignored. An application-wide dependency."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

_allowed: dict[int, frozenset[str]] = {}


def _declared_query_parameters(route: Any) -> frozenset[str]:
    key = id(route)
    names = _allowed.get(key)
    if names is None:
        names = _allowed[key] = frozenset(_query_aliases(getattr(route, "dependant", None)))
    return names


def _query_aliases(dependant: Any) -> set[str]:
    """Query parameter names of a route's dependency tree (its own and every dependency's)."""
    if dependant is None:
        return set()
    names = {param.alias for param in getattr(dependant, "query_params", ())}
    for sub in getattr(dependant, "dependencies", ()):
        names |= _query_aliases(sub)
    return names


def reject_unknown_query_parameters(request: Request) -> None:
    declared = _declared_query_parameters(request.scope.get("route"))
    unknown = sorted({name for name in request.query_params if name not in declared})
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "type": "extra_forbidden", "msg": "Extra inputs are not permitted"}
                for name in unknown
            ]
        )
