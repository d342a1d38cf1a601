"""Payment records in the database: creating one, and applying what a source tells us about it.

:func:`apply_observation` is the one place a payment's state changes after creation. It applies
:func:`lendcore.payments.state.decide` to the stored state under a row lock, writes a
``payment_events`` row for every observation (applied or not), raises an issue for a discrepancy,
and, when a payment reaches a terminal state, enqueues a ``payment.settled`` job in the same
transaction (the transactional outbox), which the servicing integration handles to book the
repayment or the disbursement (docs/payments.md, "Integration").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lendcore.core.errors import NotFoundError
from lendcore.core.money import Fen
from lendcore.jobs.outbox import enqueue
from lendcore.payments import metrics
from lendcore.payments.deadlines import DEFAULT_POLICY, DeadlinePolicy, deadlines
from lendcore.payments.state import (
    TERMINAL,
    EventSource,
    PaymentDirection,
    PaymentState,
    Verdict,
    decide,
    path,
)
from lendcore.store.engine import for_update
from lendcore.store.models import Payment
from lendcore.store.models_payments import PaymentEvent, PaymentIssue

SETTLED_JOB: Final = "payment.settled"
SUBMIT_JOB: Final = "payment.submit"


@dataclass(frozen=True, slots=True)
class Observation:
    """What one source says about a payment. ``amount`` and ``channel_reference`` are checked against
    our record when given."""

    source: EventSource
    state: PaymentState
    channel_reference: str | None = None
    amount: Fen | None = None
    failure_code: str | None = None
    occurred_at: datetime | None = None
    channel_event_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Applied:
    verdict: Verdict
    state: PaymentState  # the payment's state afterwards
    issue: str | None = None  # the discrepancy raised, if any

    @property
    def changed(self) -> bool:
        return self.verdict is Verdict.APPLY


def lock_payment(session: Session, payment_id: str) -> Payment:
    payment = session.scalars(for_update(select(Payment).where(Payment.id == payment_id))).one_or_none()
    if payment is None:
        raise NotFoundError(f"no payment {payment_id}", code="PAYMENT_NOT_FOUND", id=payment_id)
    return payment


def lock_payments(session: Session, payment_ids: Sequence[str]) -> dict[str, Payment]:
    """Lock every payment of ``payment_ids`` in one statement (a bounded list: the caller's chunk), in
    id order (two lockers of overlapping sets cannot deadlock); by id. One that does not exist is
    ``PAYMENT_NOT_FOUND``, as for :func:`lock_payment`."""
    stmt = for_update(select(Payment).where(Payment.id.in_(payment_ids)).order_by(Payment.id))
    locked = {payment.id: payment for payment in session.scalars(stmt)}
    for payment_id in payment_ids:
        if payment_id not in locked:
            raise NotFoundError(f"no payment {payment_id}", code="PAYMENT_NOT_FOUND", id=payment_id)
    return locked


def record_event(
    session: Session,
    payment: Payment,
    *,
    source: EventSource,
    kind: str,
    now: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    occurred_at: datetime | None = None,
    channel_event_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> PaymentEvent:
    event = PaymentEvent(
        payment_id=payment.id,
        at=now,
        occurred_at=occurred_at,
        source=source.value,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        channel_event_id=channel_event_id,
        details=dict(details or {}),
    )
    session.add(event)
    session.flush()
    return event


def raise_issue(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    source: EventSource,
    now: datetime,
    payment_id: str | None = None,
    channel_reference: str | None = None,
    details: dict[str, Any] | None = None,
) -> int | None:
    """Open an issue for operations unless one with ``dedupe_key`` exists; the new issue's id, or
    ``None`` when it existed."""
    table = cast(Table, PaymentIssue.__table__)
    make_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "kind": kind,
        "dedupe_key": dedupe_key[:200],
        "payment_id": payment_id,
        "channel_reference": channel_reference,
        "source": source.value,
        "status": "open",
        "raised_at": now,
        "details": dict(details or {}),
    }
    statement = make_insert(table).values(values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    issue_id: int | None = session.execute(statement.returning(table.c.id)).scalar_one_or_none()
    if issue_id is not None:
        metrics.emit("payments.issue_raised", kind=kind, source=source.value)
    return issue_id


def create_payment(
    session: Session,
    *,
    direction: PaymentDirection,
    customer_id: str,
    amount: Fen,
    purpose: str,
    value_date: date,
    channel: str,
    account_token: str,
    now: datetime,
    contract_id: str | None = None,
    bank_card_id: str | None = None,
    idempotency_key: str | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
    submit: bool = True,
    allocation: dict[str, Any] | None = None,
) -> Payment:
    """Write a ``created`` payment with its deadlines (and ``allocation``: what a repayment will book)
    and, with ``submit``, its ``payment.submit`` job, in the caller's transaction. Commit, then let the
    worker (or the caller) submit it: a payment is never sent to a channel before its record is
    durable."""
    due = deadlines(now, policy)
    payment = Payment(
        direction=direction.value,
        customer_id=customer_id,
        contract_id=contract_id,
        bank_card_id=bank_card_id,
        purpose=purpose,
        amount=amount,
        state=PaymentState.CREATED.value,
        channel=channel,
        idempotency_key=idempotency_key,
        requested_at=now,
        value_date=value_date,
        attempts=0,
        next_query_at=due.next_query_at,
        sla_at=due.sla_at,
        query_attempts=0,
        allocation=allocation,
    )
    session.add(payment)
    session.flush()
    record_event(session, payment, source=EventSource.REQUEST, kind="created", to_state="created", now=now)
    if submit:
        enqueue(
            session,
            SUBMIT_JOB,
            {"payment_id": payment.id, "account_token": account_token},
            dedupe_key=f"submit:{payment.id}",
        )
    return payment


def _discrepancy(
    session: Session, payment: Payment, observation: Observation, kind: str, now: datetime, detail: str
) -> Applied:
    record_event(
        session,
        payment,
        source=observation.source,
        kind="discrepancy",
        now=now,
        from_state=payment.state,
        to_state=observation.state.value,
        occurred_at=observation.occurred_at,
        channel_event_id=observation.channel_event_id,
        details={"issue": kind, "detail": detail, **observation.details},
    )
    raise_issue(
        session,
        kind=kind,
        dedupe_key=f"{kind}:{payment.id}:{observation.state.value}",
        source=observation.source,
        now=now,
        payment_id=payment.id,
        channel_reference=observation.channel_reference or payment.channel_reference,
        details={"ours": payment.state, "observed": observation.state.value, "detail": detail},
    )
    metrics.emit("payments.discrepancy", kind=kind, source=observation.source.value)
    return Applied(Verdict.DISCREPANCY, PaymentState(payment.state), kind)


def apply_observation(session: Session, payment: Payment, observation: Observation, now: datetime) -> Applied:
    """Apply ``observation`` to ``payment`` (locked by the caller): see the module docstring."""
    if observation.amount is not None and observation.amount != payment.amount:
        detail = f"{observation.source} says {observation.amount} fen, ours {payment.amount} fen"
        return _discrepancy(session, payment, observation, "amount_mismatch", now, detail)
    reference = observation.channel_reference
    if reference and payment.channel_reference and reference != payment.channel_reference:
        detail = f"{observation.source} names {reference}, ours {payment.channel_reference}"
        return _discrepancy(session, payment, observation, "reference_mismatch", now, detail)
    current = PaymentState(payment.state)
    verdict, kind = decide(current, observation.state)
    if verdict is Verdict.DISCREPANCY:
        detail = f"{observation.source} says {observation.state} of a payment we hold {current}"
        return _discrepancy(session, payment, observation, kind or "discrepancy", now, detail)
    if verdict is not Verdict.APPLY:
        record_event(
            session,
            payment,
            source=observation.source,
            kind=verdict.value,
            now=now,
            from_state=current.value,
            to_state=observation.state.value,
            occurred_at=observation.occurred_at,
            channel_event_id=observation.channel_event_id,
            details=observation.details,
        )
        return Applied(verdict, current)
    if reference and payment.channel_reference is None:
        payment.channel_reference = reference
    for state in path(current, observation.state):
        _transition(session, payment, state, observation, now)
    return Applied(Verdict.APPLY, PaymentState(payment.state))


def _transition(
    session: Session, payment: Payment, target: PaymentState, observation: Observation, now: datetime
) -> None:
    before = payment.state
    payment.state = target.value
    if target is PaymentState.SUCCEEDED:
        payment.settled_at = observation.occurred_at or now
    if target is PaymentState.FAILED:
        payment.failure_code = (observation.failure_code or "UNKNOWN")[:32]
        payment.failure_reason = str(
            observation.details.get("reason") or observation.failure_code or "failed"
        )[:200]
    if target in TERMINAL:
        payment.next_query_at = None
    record_event(
        session,
        payment,
        source=observation.source,
        kind="transition",
        now=now,
        from_state=before,
        to_state=target.value,
        occurred_at=observation.occurred_at,
        channel_event_id=observation.channel_event_id,
        details=observation.details,
    )
    metrics.emit("payments.transition", to=target.value, source=observation.source.value)
    if target in TERMINAL:
        enqueue(
            session,
            SETTLED_JOB,
            {"payment_id": payment.id, "state": target.value},
            dedupe_key=f"settled:{payment.id}:{target.value}",
        )
