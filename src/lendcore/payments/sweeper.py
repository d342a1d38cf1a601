"""The stuck-payment sweeper: query every payment past its deadline, with backoff; raise to
operations every payment past its SLA. A function, independent of the scheduler (the
``payments.sweep`` job calls it every minute; an operator or a test can call it directly).

Per due payment (``created`` or ``processing``, ``next_query_at <= now``, oldest first):

1. ``channel.query(payment id)`` with no transaction open;
2. one unit of work: the payment is locked and the answer applied (source ``query``); a final answer
   resolves it, ``processing`` records an observation; a channel error is recorded as such. Unless
   resolved, ``query_attempts`` goes up and ``next_query_at`` moves out by the backoff
   (:func:`lendcore.payments.deadlines.next_query_at`).

Then every unresolved payment past ``sla_at`` that was not yet raised gets a ``sla_breached`` issue,
an ``escalated`` event, ``escalated_at`` and the ``payments.escalated`` metric. It stays queried: being
raised is not being given up on. An id unknown to the channel is never taken as a failure (it may
still arrive); it is queried on and raised at its SLA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments import metrics
from lendcore.payments.adapter import (
    ChannelAdapter,
    ChannelError,
    ChannelStatus,
    PaymentUnknownToChannelError,
)
from lendcore.payments.deadlines import DEFAULT_POLICY, DeadlinePolicy, next_query_at
from lendcore.payments.records import Observation, apply_observation, lock_payment, raise_issue, record_event
from lendcore.payments.state import TERMINAL, EventSource, PaymentState
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment

OPEN_STATES = (PaymentState.CREATED.value, PaymentState.PROCESSING.value)


@dataclass
class SweepReport:
    queried: int = 0
    resolved: int = 0
    still_open: int = 0
    channel_errors: int = 0
    escalated: list[str] = field(default_factory=list)


def due_for_query(session: Session, now: datetime, limit: int) -> list[str]:
    statement = (
        select(Payment.id)
        .where(Payment.state.in_(OPEN_STATES), Payment.next_query_at <= now)
        .order_by(Payment.next_query_at, Payment.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def sweep_stuck_payments(
    session_factory: sessionmaker[Session],
    channel: ChannelAdapter | None,
    *,
    now: datetime,
    policy: DeadlinePolicy = DEFAULT_POLICY,
    limit: int = 500,
) -> SweepReport:
    """Query due payments (when a channel is given) and raise those past their SLA."""
    report = SweepReport()
    if channel is not None:
        with unit_of_work(session_factory, read_only=True) as session:
            due = due_for_query(session, now, limit)
        for payment_id in due:
            _query_one(session_factory, channel, payment_id, now, policy, report)
    report.escalated = escalate_past_sla(session_factory, now=now, limit=limit)
    return report


def _query_one(
    session_factory: sessionmaker[Session],
    channel: ChannelAdapter,
    payment_id: str,
    now: datetime,
    policy: DeadlinePolicy,
    report: SweepReport,
) -> None:
    answer: ChannelStatus | ChannelError
    try:
        answer = channel.query(payment_id)
    except ChannelError as error:
        answer = error
    report.queried += 1
    with unit_of_work(session_factory) as session:
        payment = lock_payment(session, payment_id)
        if payment.state not in OPEN_STATES:
            return  # resolved meanwhile (a callback won the race)
        if isinstance(answer, ChannelStatus):
            observation = Observation(
                EventSource.QUERY,
                answer.state,
                channel_reference=answer.channel_reference,
                amount=answer.amount,
                failure_code=answer.failure_code,
                occurred_at=answer.settled_at,
            )
            applied = apply_observation(session, payment, observation, now)
            if applied.state in TERMINAL:
                report.resolved += 1
                return
        else:
            report.channel_errors += 0 if isinstance(answer, PaymentUnknownToChannelError) else 1
            details = {"code": answer.code, "message": answer.message[:300]}
            kind = "observation" if isinstance(answer, PaymentUnknownToChannelError) else "channel_error"
            record_event(session, payment, source=EventSource.QUERY, kind=kind, now=now, details=details)
        report.still_open += 1
        payment.query_attempts += 1
        payment.last_queried_at = now
        payment.next_query_at = next_query_at(payment.query_attempts, now, policy)


def escalate_past_sla(
    session_factory: sessionmaker[Session], *, now: datetime, limit: int = 500
) -> list[str]:
    """Raise every open payment past its SLA that was not raised yet; their ids."""
    raised: list[str] = []
    with unit_of_work(session_factory) as session:
        statement = (
            select(Payment)
            .where(Payment.state.in_(OPEN_STATES), Payment.sla_at <= now, Payment.escalated_at.is_(None))
            .order_by(Payment.sla_at, Payment.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for payment in session.scalars(statement):
            payment.escalated_at = now
            record_event(
                session,
                payment,
                source=EventSource.QUERY,
                kind="escalated",
                now=now,
                details={"sla_at": payment.sla_at.isoformat() if payment.sla_at else None},
            )
            raise_issue(
                session,
                kind="sla_breached",
                dedupe_key=f"sla_breached:{payment.id}",
                source=EventSource.QUERY,
                now=now,
                payment_id=payment.id,
                channel_reference=payment.channel_reference,
                details={
                    "state": payment.state,
                    "amount": payment.amount,
                    "query_attempts": payment.query_attempts,
                },
            )
            metrics.emit("payments.escalated", direction=payment.direction, purpose=payment.purpose or "")
            raised.append(payment.id)
    return raised
