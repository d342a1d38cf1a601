"""The request id of the request being served (a context variable, so logs anywhere can carry it)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Final

REQUEST_ID_HEADER: Final = "X-Request-ID"
#: An X-Request-ID a client sends is kept only if it looks like an id (no spaces, no log injection).
_ACCEPTED_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")

_request_id: ContextVar[str | None] = ContextVar("lendcore_request_id", default=None)


def accept_request_id(sent: str | None) -> str:
    """The client's X-Request-ID if it is a plausible id, else a new one (``req_`` + 32 hex)."""
    if sent is not None and _ACCEPTED_REQUEST_ID.match(sent):
        return sent
    return f"req_{uuid.uuid4().hex}"


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    """Set the current request id; returns the token to :func:`reset_request_id` with."""
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]
