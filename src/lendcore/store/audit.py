"""The append-only audit log: who did what to which record, when, and why.

Every staff action (waiver, write-off, limit override, decision review) appends one record in the same
transaction as the action itself, so an action without its audit record cannot exist. The table refuses
UPDATE and DELETE (database triggers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.store.models import AuditRecord
from lendcore.store.types import utc_now


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    details: Mapping[str, Any] | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Append an audit record (flushed, so it gets its id; committed with the unit of work).

    ``details`` must be JSON-serialisable and must never contain clear-text PII (mask it first).
    """
    if not actor or not action or not target_type or not target_id:
        raise ValueError("an audit record needs an actor, an action and a target")
    record = AuditRecord(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=dict(details or {}),
        reason=reason,
        at=at or utc_now(),
    )
    session.add(record)
    session.flush()
    return record


def audit_trail(session: Session, target_type: str, target_id: str) -> Sequence[AuditRecord]:
    """Every audit record of one target, oldest first."""
    return session.scalars(
        select(AuditRecord)
        .where(AuditRecord.target_type == target_type, AuditRecord.target_id == target_id)
        .order_by(AuditRecord.id)
    ).all()
