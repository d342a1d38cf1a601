"""Record a collection contact attempt: judged by the contact rules at the moment it is made, and
logged whatever the judgement (a refused attempt is logged with its reason and never made)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.collection_rules import Channel, ContactAttempt, judge, local_time
from lendcore.core.errors import NotFoundError, ValidationError
from lendcore.core.records import JsonRecord
from lendcore.store.models import Contract, Customer
from lendcore.store.models_post import CollectionContact


@dataclass(frozen=True, slots=True)
class ContactRequest:
    debtor_id: str
    channel: Channel
    at: datetime  # when the attempt is made (timezone-aware)
    agent: str
    to_debtor: bool = True
    quiet_hours_agreed: bool = False
    connected: bool = True  # a call that was answered (counts against the daily limit)
    contract_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ContactResult(JsonRecord):
    contact_id: int
    debtor_id: str
    channel: str
    shanghai_day: date
    outcome: str  # allowed | refused
    refusal: str | None
    connected_calls_today: int  # after this attempt


def connected_calls_on(session: Session, debtor_id: str, day: date) -> int:
    """Connected calls already made (allowed) to the debtor on the Shanghai day ``day``."""
    count = session.scalar(
        select(func.count())
        .select_from(CollectionContact)
        .where(
            CollectionContact.debtor_id == debtor_id,
            CollectionContact.shanghai_day == day,
            CollectionContact.channel == Channel.CALL.value,
            CollectionContact.outcome == "allowed",
            CollectionContact.connected.is_(True),
        )
    )
    return int(count or 0)


def record_contact(session: Session, request: ContactRequest) -> ContactResult:
    """Judge and log one attempt. The caller's transaction commits the log even when refused."""
    if not request.agent.strip():
        raise ValidationError("a contact attempt needs the agent who makes it", code="ACTOR_REQUIRED")
    if session.get(Customer, request.debtor_id) is None:
        raise NotFoundError(f"no customer {request.debtor_id}", code="CUSTOMER_NOT_FOUND")
    if request.contract_id is not None:
        contract = session.get(Contract, request.contract_id)
        if contract is None or contract.customer_id != request.debtor_id:
            raise NotFoundError(
                f"no contract {request.contract_id} of {request.debtor_id}", code="CONTRACT_NOT_FOUND"
            )
    day = local_time(request.at).date()
    session.execute(select(Customer.id).where(Customer.id == request.debtor_id).with_for_update())
    before = connected_calls_on(session, request.debtor_id, day)
    attempt = ContactAttempt(
        request.debtor_id, request.channel, request.at, request.to_debtor, request.quiet_hours_agreed
    )
    refusal = judge(attempt, before)
    counted = refusal is None and request.channel is Channel.CALL and request.connected
    row = CollectionContact(
        debtor_id=request.debtor_id,
        contract_id=request.contract_id,
        channel=request.channel.value,
        attempted_at=request.at,
        shanghai_day=day,
        to_debtor=request.to_debtor,
        quiet_hours_agreed=request.quiet_hours_agreed,
        connected=request.connected and refusal is None,
        outcome="allowed" if refusal is None else "refused",
        refusal=None if refusal is None else refusal.value,
        agent=request.agent,
        note=request.note,
    )
    session.add(row)
    session.flush()
    return ContactResult(
        row.id,
        request.debtor_id,
        request.channel.value,
        day,
        row.outcome,
        row.refusal,
        before + (1 if counted else 0),
    )
