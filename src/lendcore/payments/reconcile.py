"""Reconciling a channel's daily statement with our payments (source ``statement``).

Rows that tell the fate of a payment we still hold open resolve it (through the same state machine
as callbacks and queries); every discrepancy (a finished payment of ours the statement lacks, a row
we do not know, another amount, a contradicting state) is raised to operations, once per payment and
day. Idempotent: a second run applies nothing new and raises nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.records import Observation, apply_observation, lock_payment, raise_issue
from lendcore.payments.state import EventSource, PaymentState
from lendcore.payments.statement import OurPayment, Statement, compare
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    matched: int
    resolved: int
    discrepancies: int


def _ours(session: Session, statement: Statement) -> tuple[dict[str, OurPayment], list[str]]:
    start = datetime.combine(statement.statement_date, time(0), BUSINESS_TZ)
    end = start + timedelta(days=1)
    named = [row.payment_id for row in statement.rows]
    finished_that_day = (
        (Payment.channel == statement.channel)
        & Payment.state.in_((PaymentState.SUCCEEDED.value, PaymentState.REVERSED.value))
        & (Payment.settled_at >= start)
        & (Payment.settled_at < end)
    )
    rows = session.scalars(select(Payment).where(or_(Payment.id.in_(named), finished_that_day))).all()
    ours = {p.id: OurPayment(p.id, p.channel_reference, p.amount, PaymentState(p.state)) for p in rows}
    expected = [
        p.id
        for p in rows
        if p.channel == statement.channel
        and p.state in (PaymentState.SUCCEEDED.value, PaymentState.REVERSED.value)
        and p.settled_at is not None
        and start <= p.settled_at < end
    ]
    return ours, expected


def reconcile_statement(
    session_factory: sessionmaker[Session], statement: Statement, *, now: datetime
) -> ReconcileReport:
    with unit_of_work(session_factory) as session:
        ours, expected = _ours(session, statement)
        result = compare(statement, ours, expected)
        for row in result.resolutions:
            payment = lock_payment(session, row.payment_id)
            observation = Observation(
                EventSource.STATEMENT,
                row.state,
                channel_reference=row.channel_reference,
                amount=row.amount,
                failure_code=row.failure_code,
                occurred_at=row.settled_at,
                details={"statement_date": statement.statement_date.isoformat()},
            )
            apply_observation(session, payment, observation, now)
        for issue in result.discrepancies:
            known = issue.payment_id in ours
            raise_issue(
                session,
                kind=issue.issue.value,
                dedupe_key=f"{issue.issue.value}:{issue.payment_id}:{statement.statement_date.isoformat()}",
                source=EventSource.STATEMENT,
                now=now,
                payment_id=issue.payment_id if known else None,
                channel_reference=issue.channel_reference,
                details={
                    "detail": issue.detail,
                    "statement_date": statement.statement_date.isoformat(),
                    **({} if known else {"payment_id": issue.payment_id}),
                },
            )
    return ReconcileReport(result.matched, len(result.resolutions), len(result.discrepancies))
