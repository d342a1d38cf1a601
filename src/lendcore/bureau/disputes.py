"""Disputes (异议) of a stored bureau record: opened by the customer, answered within 20 days
(:func:`lendcore.core.bureau_status.dispute_answer_due`), and, when upheld, a correction (the record
rebuilt from the replayed history) or a deletion sent in the next batch after the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.bureau_status import dispute_answer_due
from lendcore.core.errors import BusinessRuleError, ConflictError, NotFoundError, ValidationError
from lendcore.core.records import JsonRecord
from lendcore.store.models_post import DISPUTE_ACTIONS, BureauDispute, BureauRecord


@dataclass(frozen=True, slots=True)
class DisputeView(JsonRecord):
    dispute_id: int
    record_id: int
    contract_id: str
    opened_on: date
    due_on: date
    status: str
    action: str
    answered_on: date | None
    late: bool  # answered after the due date, or still open past it


def _view(row: BureauDispute, on: date | None = None) -> DisputeView:
    answered = row.answered_on
    late = answered > row.due_on if answered is not None else (on is not None and on > row.due_on)
    return DisputeView(
        row.id,
        row.record_id,
        row.contract_id,
        row.opened_on,
        row.due_on,
        row.status,
        row.action,
        answered,
        late,
    )


def open_dispute(session: Session, record_id: int, opened_on: date, claim: str) -> DisputeView:
    if not claim.strip():
        raise ValidationError("a dispute states what is wrong", code="DISPUTE_CLAIM_REQUIRED")
    record = session.get(BureauRecord, record_id)
    if record is None:
        raise NotFoundError(f"no bureau record {record_id}", code="BUREAU_RECORD_NOT_FOUND")
    if record.kind in ("correction", "deletion"):
        raise BusinessRuleError("a correction or deletion is not itself disputed", code="DISPUTE_NOT_ALLOWED")
    if opened_on < record.batch_date:
        raise ValidationError("a dispute opens after the record was sent", code="INVALID_DATE_RANGE")
    already = session.scalar(
        select(BureauDispute.id).where(BureauDispute.record_id == record_id, BureauDispute.status == "open")
    )
    if already is not None:
        raise ConflictError(
            f"record {record_id} already has open dispute {already}", code="DISPUTE_ALREADY_OPEN"
        )
    row = BureauDispute(
        record_id=record_id,
        contract_id=record.contract_id,
        opened_on=opened_on,
        due_on=dispute_answer_due(opened_on),
        claim=claim,
        status="open",
        action="none",
    )
    session.add(row)
    session.flush()
    return _view(row)


def answer_dispute(
    session: Session, dispute_id: int, answered_on: date, action: str, answer: str
) -> DisputeView:
    """Answer a dispute: ``action`` none (rejected), correction or deletion (upheld)."""
    if action not in DISPUTE_ACTIONS:
        raise ValidationError(f"action must be one of {list(DISPUTE_ACTIONS)}", code="INVALID_DISPUTE_ACTION")
    if not answer.strip():
        raise ValidationError("an answer says why", code="DISPUTE_ANSWER_REQUIRED")
    row = session.get(BureauDispute, dispute_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no dispute {dispute_id}", code="DISPUTE_NOT_FOUND")
    if row.status != "open":
        raise ConflictError(f"dispute {dispute_id} is already answered", code="DISPUTE_ALREADY_ANSWERED")
    if answered_on < row.opened_on:
        raise ValidationError("an answer cannot precede the dispute", code="INVALID_DATE_RANGE")
    row.status, row.action, row.answered_on, row.answer = "answered", action, answered_on, answer
    session.flush()
    return _view(row)


def overdue_disputes(session: Session, on: date) -> list[DisputeView]:
    """Open disputes past their 20-day answer date on ``on``."""
    rows = session.scalars(
        select(BureauDispute)
        .where(BureauDispute.status == "open", BureauDispute.due_on < on)
        .order_by(BureauDispute.due_on, BureauDispute.id)
    )
    return [_view(r, on) for r in rows]


def corrections_due(session: Session, batch_date: date) -> list[tuple[BureauDispute, BureauRecord]]:
    """Upheld disputes answered before ``batch_date`` whose correction or deletion is not yet sent."""
    rows = session.execute(
        select(BureauDispute, BureauRecord)
        .join(BureauRecord, BureauRecord.id == BureauDispute.record_id)
        .where(
            BureauDispute.status == "answered",
            BureauDispute.action != "none",
            BureauDispute.answered_on < batch_date,
            BureauDispute.reported_in.is_(None),
        )
        .order_by(BureauDispute.id)
    )
    return [(d, r) for d, r in rows]
