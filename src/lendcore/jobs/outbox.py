"""The transactional outbox: a job is a row written in the business change's own transaction.

    with unit_of_work(factory) as session:
        payment = create_payment(session, ...)
        enqueue(session, "payment.submit", {"payment_id": payment.id}, dedupe_key=f"submit:{payment.id}")
    # COMMIT: the payment and its job exist together, or neither does

``dedupe_key`` (unique): a second enqueue with the same key writes nothing and returns the first
job's id (``INSERT … ON CONFLICT DO NOTHING``; on PostgreSQL a concurrent insert of the same key waits
for the first transaction and then finds its row).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lendcore.core.errors import ValidationError
from lendcore.store.models_jobs import Job
from lendcore.store.types import utc_now

DEFAULT_MAX_ATTEMPTS: Final = 8
MAX_KIND_LENGTH: Final = 64
MAX_DEDUPE_KEY_LENGTH: Final = 200


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> int:
    """Write a job in ``session``'s transaction; its id (the existing job's id on a dedupe hit)."""
    if not kind or len(kind) > MAX_KIND_LENGTH:
        raise ValidationError(f"a job kind is 1-{MAX_KIND_LENGTH} characters", code="INVALID_JOB_KIND")
    if dedupe_key is not None and not 0 < len(dedupe_key) <= MAX_DEDUPE_KEY_LENGTH:
        raise ValidationError(
            f"a dedupe key is 1-{MAX_DEDUPE_KEY_LENGTH} characters", code="INVALID_DEDUPE_KEY"
        )
    if max_attempts < 1:
        raise ValidationError("max_attempts must be at least 1", code="INVALID_MAX_ATTEMPTS")
    now = utc_now()
    values = {
        "kind": kind,
        "payload": dict(payload or {}),
        "status": "queued",
        "run_at": run_at or now,
        "attempts": 0,
        "max_attempts": max_attempts,
        "dedupe_key": dedupe_key,
        "created_at": now,
        "updated_at": now,
    }
    table = cast(Table, Job.__table__)
    dialect = session.get_bind().dialect.name
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make_insert(table).values(values)
    if dedupe_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    inserted = session.execute(statement.returning(table.c.id)).scalar_one_or_none()
    if inserted is not None:
        return int(inserted)
    existing = session.scalars(select(Job.id).where(Job.dedupe_key == dedupe_key)).one()
    return int(existing)
