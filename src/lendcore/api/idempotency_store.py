"""Storage of idempotent requests (``api_idempotency``): claim a key, store the first response.

:func:`claim` runs in a transaction of its own and commits at once, so a concurrent retry sees the
key claimed (in progress) while the first request is still running:

* no row: insert one (``in_progress``), one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` statement;
  the unique constraint on (principal, route, key) makes two concurrent claims race-safe: on
  PostgreSQL the second insert waits for the first to commit, then inserts nothing and reads the
  row; on SQLite ``BEGIN IMMEDIATE`` serialises them;
* a row with another request fingerprint: ``IDEMPOTENCY_KEY_REUSED`` (422);
* a completed row: its stored response;
* an in-progress row: ``IDEMPOTENCY_KEY_IN_PROGRESS`` (409), unless it is older than ``stale_after``
  (its process died): then a retry takes it over (a conditional update, so only one does).

:func:`complete` stores status, the headers that matter and the body, verbatim.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import ConflictError, ValidationError
from lendcore.store.engine import unit_of_work
from lendcore.store.models_api import ApiIdempotencyRecord

_TABLE: Final = cast(Table, ApiIdempotencyRecord.__table__)

#: Response headers stored with the response and replayed (the rest are per-response: length,
#: date, request id, cookies).
STORED_HEADERS: Final = frozenset(
    {
        "content-type",
        "content-language",
        "content-location",
        "location",
        "etag",
        "last-modified",
        "link",
        "retry-after",
    }
)


@dataclass(frozen=True, slots=True)
class Claim:
    record_id: int


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def request_fingerprint(method: str, path: str, query: str, body: bytes, *, key: bytes | None = None) -> str:
    """SHA-256 (HMAC-SHA256 under ``key``, as the API stores it: a body may carry personal data) of the
    method, the path, the query and the body (JSON canonicalised: key order and whitespace do not
    make a different request)."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _find(session: Session, principal: str, route: str, key: str) -> ApiIdempotencyRecord | None:
    return session.scalars(
        select(ApiIdempotencyRecord)
        .where(
            ApiIdempotencyRecord.principal == principal,
            ApiIdempotencyRecord.route == route,
            ApiIdempotencyRecord.key == key,
        )
        .execution_options(populate_existing=True)
    ).one_or_none()


def _decide(
    session: Session, row: ApiIdempotencyRecord, request_hash: str, now: datetime, stale_after: timedelta
) -> Claim | StoredResponse:
    if row.request_hash != request_hash:
        raise ValidationError(
            "this Idempotency-Key was already used for a different request", code="IDEMPOTENCY_KEY_REUSED"
        )
    if row.state == "completed" and row.status_code is not None and row.body is not None:
        headers = tuple((str(name), str(value)) for name, value in row.headers or ())
        return StoredResponse(row.status_code, headers, bytes(row.body))
    if row.created_at > now - stale_after:
        raise ConflictError(
            "a request with this Idempotency-Key is still being processed; retry later",
            code="IDEMPOTENCY_KEY_IN_PROGRESS",
        )
    taken = session.execute(
        update(ApiIdempotencyRecord)
        .where(
            ApiIdempotencyRecord.id == row.id,
            ApiIdempotencyRecord.state == "in_progress",
            ApiIdempotencyRecord.created_at == row.created_at,
        )
        .values(created_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            "a request with this Idempotency-Key is still being processed; retry later",
            code="IDEMPOTENCY_KEY_IN_PROGRESS",
        )
    return Claim(row.id)


def claim(
    factory: sessionmaker[Session],
    *,
    principal: str,
    route: str,
    key: str,
    request_hash: str,
    now: datetime,
    stale_after: timedelta,
) -> Claim | StoredResponse:
    """Claim ``key`` for this request, or return the response stored for it (see module docstring)."""
    with unit_of_work(factory) as session:
        make_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        claimed = session.scalar(
            make_insert(_TABLE)
            .values(
                principal=principal,
                route=route,
                key=key,
                request_hash=request_hash,
                state="in_progress",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["principal", "route", "key"])
            .returning(_TABLE.c.id)
        )
        if claimed is not None:
            return Claim(claimed)
        row = _find(session, principal, route, key)  # claimed before, or by a concurrent request
        if row is None:  # pragma: no cover - the conflict means a committed row exists
            raise ConflictError(
                "the Idempotency-Key could not be claimed; retry", code="IDEMPOTENCY_KEY_IN_PROGRESS"
            )
        return _decide(session, row, request_hash, now, stale_after)


def complete(
    factory: sessionmaker[Session],
    claimed: Claim,
    *,
    status: int,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    now: datetime,
) -> None:
    """Store the response of a claimed request."""
    kept = [[name.lower(), value] for name, value in headers if name.lower() in STORED_HEADERS]
    with unit_of_work(factory) as session:
        session.execute(
            update(ApiIdempotencyRecord)
            .where(ApiIdempotencyRecord.id == claimed.record_id, ApiIdempotencyRecord.state == "in_progress")
            .values(state="completed", status_code=status, headers=kept, body=body, completed_at=now)
        )
