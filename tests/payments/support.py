"""Payments in a database for the tests: a customer and a recorded payment, and what happened to it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.records import create_payment
from lendcore.payments.state import PaymentDirection
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Customer, Payment
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import PaymentEvent, PaymentIssue

NOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
TODAY = date(2026, 11, 22)


def recorded_payment(
    session_factory: sessionmaker[Session], amount: int = 10_000, now: datetime = NOW, **options: Any
) -> str:
    """A committed ``created`` payment (and its submit job) of a new customer; its id."""
    with unit_of_work(session_factory) as session:
        customer = Customer(status="active")
        session.add(customer)
        session.flush()
        payment = create_payment(
            session,
            direction=PaymentDirection.INBOUND,
            customer_id=customer.id,
            amount=amount,
            purpose="repayment",
            value_date=TODAY,
            channel="simulator",
            account_token="tok_1",
            now=now,
            **options,
        )
        return payment.id


def payment(session_factory: sessionmaker[Session], payment_id: str) -> Payment:
    with unit_of_work(session_factory, read_only=True) as session:
        found = session.get(Payment, payment_id)
        assert found is not None
        session.expunge(found)  # readable after the read-only unit of work rolls back
        return found


def events(session_factory: sessionmaker[Session], payment_id: str) -> list[tuple[str, str, str | None]]:
    """(source, kind, to_state) of every event of the payment, in order."""
    with unit_of_work(session_factory, read_only=True) as session:
        rows = session.scalars(
            select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id)
        )
        return [(e.source, e.kind, e.to_state) for e in rows]


def issues(session_factory: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with unit_of_work(session_factory, read_only=True) as session:
        return [
            (i.kind, i.payment_id) for i in session.scalars(select(PaymentIssue).order_by(PaymentIssue.id))
        ]


def jobs(session_factory: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with unit_of_work(session_factory, read_only=True) as session:
        return [(j.kind, j.dedupe_key) for j in session.scalars(select(Job).order_by(Job.id))]
