"""Unknown query parameters are refused like unknown body fields (``UNKNOWN_FIELD``, 422): a
misspelt ``?limt=5`` must not be silently ignored. A parameter given twice is refused too: every
query parameter of the API is a single value, and taking the last of ``?status=a&status=b`` (as the
framework would) answers a question the client did not ask. An application-wide dependency."""

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


async def reject_unknown_query_parameters(request: Request) -> None:
    declared = _declared_query_parameters(request.scope.get("route"))
    names = request.query_params
    unknown = sorted({name for name in names if name not in declared})
    repeated = sorted({name for name in names if name in declared and len(names.getlist(name)) > 1})
    errors = [
        {"loc": ("query", name), "type": "extra_forbidden", "msg": "Extra inputs are not permitted"}
        for name in unknown
    ] + [
        {
            "loc": ("query", name),
            "type": "repeated_parameter",
            "msg": "Given more than once: one value expected",
        }
        for name in repeated
    ]
    if errors:
        raise RequestValidationError(errors)
