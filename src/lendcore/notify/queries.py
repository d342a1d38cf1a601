"""Read models over the notifications: the undelivered list (back office, ``lendcore reminders
undelivered``). The text is shown (it holds no full PII), the address only masked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.store.models_notify import Notification


def _row(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id, "customer_id": n.customer_id, "channel": n.channel, "template": n.template,
        "state": n.state, "failure_code": n.failure_code, "recipient": n.recipient_masked,
        "contract_id": n.contract_id, "due_date": n.due_date.isoformat() if n.due_date else None,
        "queued_at": n.queued_at.isoformat(),
        "flagged_at": n.flagged_at.isoformat() if n.flagged_at else None,
        "fault_id": n.fault_id, "text": n.text,
    }  # fmt: skip


def undelivered(session: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    """Messages flagged as not delivered, newest flag first."""
    stmt = select(Notification).where(Notification.flagged_at.is_not(None))
    rows = session.scalars(stmt.order_by(Notification.flagged_at.desc(), Notification.id).limit(limit))
    return [_row(n) for n in rows]
