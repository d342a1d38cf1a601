"""Cursor pagination for every list: ``?limit=1..200&cursor=…``, stable order by id.

A list endpoint takes ``page: PageRequest = Depends(page_request)`` and returns
``paginate(session, select(Model), key=Model.id, page=page, to_item=View.of)``: a :class:`Page` of at
most ``limit`` items in ascending id order and a ``next_cursor`` (``null`` on the last page). The
cursor is opaque to clients (URL-safe base64 of the last id seen and the list it belongs to); keyset
pagination, so a page never repeats or skips a row that existed when the first page was read, however
rows are added meanwhile (new ids sort after the old ones only roughly, so a row created during the
walk may or may not appear, never twice). A cursor that is not one, or is one of another list, is
refused (``INVALID_CURSOR``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from lendcore.core.errors import ValidationError

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
MAX_CURSOR_LENGTH: Final = 400

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a client asked for: at most ``limit`` items after the row the ``cursor`` names."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


async def page_request(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"items per page, 1 to {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page"),
    ] = None,
) -> PageRequest:
    """The FastAPI dependency of every list endpoint."""
    return PageRequest(limit, cursor)


class Page(BaseModel, Generic[T]):
    """One page of a list: items in ascending id order; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(list_name: str, last_key: str | int) -> str:
    raw = json.dumps({"l": list_name, "k": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(list_name: str, cursor: str) -> str | int:
    """The key a cursor of ``list_name`` names; ``INVALID_CURSOR`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    key = data.get("k") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("l") != list_name or isinstance(key, bool):
        key = None
    if not isinstance(key, str | int):
        raise ValidationError("not a cursor of this list", code="INVALID_CURSOR")
    return key


def paginate(
    session: Session,
    statement: Select[Any],
    *,
    key: InstrumentedAttribute[Any],
    page: PageRequest,
    to_item: Callable[[Any], T],
    list_name: str | None = None,
) -> Page[T]:
    """Run ``statement`` (a ``select`` of rows, with any filters) one page at a time, ordered by ``key``
    (a unique column, normally the id). ``list_name`` (default: the key's table) ties cursors to the list."""
    name = list_name or f"{key.class_.__tablename__}.{key.key}"
    query = statement
    if page.cursor is not None:
        query = query.where(key > decode_cursor(name, page.cursor))
    rows: Sequence[Any] = session.scalars(query.order_by(key).limit(page.limit + 1)).all()
    more = len(rows) > page.limit
    shown = rows[: page.limit]
    next_cursor = encode_cursor(name, getattr(shown[-1], key.key)) if more and shown else None
    return Page[T](items=[to_item(row) for row in shown], next_cursor=next_cursor)
