"""Idempotent requests: a retried request gets the stored response and changes nothing again.

Every money-moving request carries a key. :func:`run_idempotent` runs the request's work at most once
per ``(scope, key)`` and stores its JSON response *in the same transaction* as the work, so the work and
the record of it commit or vanish together.

Races. A request claims its key first, in one statement (``INSERT … ON CONFLICT (scope, key) DO
NOTHING RETURNING id``), before doing any work. On PostgreSQL a concurrent INSERT of the same key waits
on the unique index until the first transaction ends: if the first commits, the second inserts nothing,
reads the winner's committed row (READ COMMITTED sees it) and returns the winner's response without
running the work; if the first rolls back, the second's claim goes through. On SQLite the unit of
work's ``BEGIN IMMEDIATE`` serialises the two transactions completely, so the second finds the key
taken at once.

If the work raises, the claim is deleted and the exception propagates: a rejected request is not
remembered, and retrying it runs it again. The work's own writes are undone by the caller's unit of
work, which rolls back on the exception (every use case runs in its own; there is no savepoint: two
round trips less per request, issue 12's hot path).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Concatenate, Final, ParamSpec, Protocol, TypeVar, cast

from sqlalchemy import Executable, Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from lendcore.core.errors import ConflictError, ValidationError
from lendcore.core.records import JsonRecord, to_json
from lendcore.store.models import IdempotencyKey
from lendcore.store.types import utc_now

JsonObject = dict[str, Any]

MAX_KEY_LENGTH = 128
MAX_SCOPE_LENGTH = 64


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def fingerprint(request: object) -> str:
    """SHA-256 (hex) of the canonical JSON of ``request`` (keys sorted; dates, decimals, enums as text)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _find(session: Session, scope: str, key: str) -> IdempotencyKey | None:
    return session.scalars(
        select(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    ).one_or_none()


def _replay(record: IdempotencyKey, request_fingerprint: str) -> JsonObject:
    if record.request_hash != request_fingerprint:
        raise ConflictError(
            "this idempotency key was already used for a different request",
            code="IDEMPOTENCY_KEY_REUSED",
            scope=record.scope,
            key=record.key,
        )
    if record.response is None:  # only possible if someone stored a key without a response
        raise ConflictError(
            "a request with this idempotency key is still in progress",
            code="IDEMPOTENCY_KEY_IN_PROGRESS",
            scope=record.scope,
            key=record.key,
        )
    return record.response


def _check_key(scope: str, key: str) -> None:
    if not scope or len(scope) > MAX_SCOPE_LENGTH:
        raise ValidationError("idempotency scope must be 1-64 characters", code="INVALID_IDEMPOTENCY_KEY")
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            f"idempotency key must be 1-{MAX_KEY_LENGTH} characters",
            code="INVALID_IDEMPOTENCY_KEY",
            key=key,
        )


def run_idempotent(
    session: Session,
    scope: str,
    key: str,
    request_fingerprint: str,
    fn: Callable[[], JsonObject],
) -> JsonObject:
    """Run ``fn`` once per ``(scope, key)`` and return its JSON response; replay it on retries.

    * first call: runs ``fn`` and stores its response with the key (same transaction as ``fn``'s work);
    * same key, same fingerprint: returns the stored response, ``fn`` is not called;
    * same key, different fingerprint: ``ConflictError`` ``IDEMPOTENCY_KEY_REUSED``;
    * concurrent duplicate: the loser returns the winner's stored response (see the module docstring).

    The response goes through JSON and back, so the first call returns exactly what a replay returns.
    Must be called inside a unit of work; nothing is committed here.
    """
    _check_key(scope, key)
    claimed = _claim(session, scope, key, request_fingerprint)
    if claimed is None:
        existing = _find(session, scope, key)
        if existing is None:  # pragma: no cover - the conflict means a committed row exists
            raise ConflictError(
                "a request with this idempotency key is still in progress",
                code="IDEMPOTENCY_KEY_IN_PROGRESS",
                scope=scope,
                key=key,
            )
        return _replay(existing, request_fingerprint)
    try:
        response = json.loads(json.dumps(fn(), default=_json_default))
        if not isinstance(response, dict):
            raise TypeError("an idempotent request must return a JSON object")
    except BaseException:
        _release(session, claimed)
        raise
    session.execute(_STORE_RESPONSE, {"claimed": claimed, "response": response})
    return response


_TABLE = cast(Table, IdempotencyKey.__table__)


def _claim(session: Session, scope: str, key: str, request_fingerprint: str) -> int | None:
    """Insert the key (no response yet) unless it exists: its id, or None if it was already taken."""
    values = {"scope": scope, "key": key, "request_hash": request_fingerprint, "created_at": utc_now()}
    claimed = session.execute(_claim_statement(session.get_bind().dialect.name), values).scalar_one_or_none()
    return None if claimed is None else int(claimed)


_CLAIM_COLUMNS: Final = ("scope", "key", "request_hash", "created_at")


@functools.cache
def _claim_statement(dialect: str) -> Executable:
    """``INSERT … ON CONFLICT (scope, key) DO NOTHING RETURNING id``, built once per dialect (a request
    pays for executing it, not for building it: the hot path, issue 12)."""
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        make_insert(_TABLE)
        .values(
            {c: bindparam(c, type_=_TABLE.c[c].type) for c in ("scope", "key", "request_hash", "created_at")}
        )
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(_TABLE.c.id)
    )


_STORE_RESPONSE: Final = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("claimed"))
    .values(response=bindparam("response", type_=_TABLE.c.response.type))
)


def _release(session: Session, claimed: int) -> None:
    """Forget the claim of a request whose work raised. If the transaction is already broken (a
    database error) the caller's rollback removes the claim anyway: that error is the one to report."""
    with contextlib.suppress(SQLAlchemyError):
        session.execute(delete(_TABLE).where(_TABLE.c.id == claimed))


class KeyedRequest(Protocol):
    """A use case's request: a frozen record carrying its idempotency key."""

    @property
    def idempotency_key(self) -> str: ...


_Req = TypeVar("_Req", bound=KeyedRequest)
_Res = TypeVar("_Res", bound=JsonRecord)
_P = ParamSpec("_P")


def idempotent(
    scope: str, result: type[_Res]
) -> Callable[
    [Callable[Concatenate[Session, _Req, _P], _Res]], Callable[Concatenate[Session, _Req, _P], _Res]
]:
    """Make a use case ``fn(session, request, …) -> Result`` idempotent by ``request.idempotency_key``
    in ``scope``: the request's other fields are its fingerprint (extra arguments, such as the payment
    channel, are collaborators, not part of the request); the result is stored as JSON with the key
    and a retry returns it as the same typed value (:func:`run_idempotent`)."""

    def wrap(
        fn: Callable[Concatenate[Session, _Req, _P], _Res],
    ) -> Callable[Concatenate[Session, _Req, _P], _Res]:
        @functools.wraps(fn)
        def run(session: Session, request: _Req, /, *args: _P.args, **kwargs: _P.kwargs) -> _Res:
            body = to_json(request)
            key = body.pop("idempotency_key")
            stored = run_idempotent(
                session,
                scope,
                key,
                fingerprint(body),
                lambda: fn(session, request, *args, **kwargs).to_json(),
            )
            return result.from_json(stored)

        return run

    return wrap
