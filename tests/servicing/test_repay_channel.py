"""A customer's repayment goes through the channel (servicing.repay_channel): recorded and committed
with the exact allocation it will book, submitted with no transaction open, booked at once when the
channel answers at once; with an asynchronous channel it answers ``processing`` and the worker books
exactly the allocation it showed. A client never chooses the value date."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import LendcoreError
from lendcore.payments.adapter import Accepted, ChannelCall, ChannelStatus, HandlerChannel
from lendcore.payments.state import PaymentState
from lendcore.servicing.repay import RepayRequest, RepayResult
from lendcore.servicing.repay_channel import instant_channel, record_repayment, settle_at_once
from lendcore.store.engine import unit_of_work
from lendcore.store.models import LoanTransaction, Payment
from tests.servicing.support import assert_invariants, do_draw, key, open_line
from tests.servicing.test_settlement import run_jobs, settle_by_callback

ON = date(2026, 3, 20)
AT = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)


def _recorded(factory: sessionmaker[Session], amount: int) -> tuple[str, RepayResult]:
    customer_id, line = open_line(factory)
    do_draw(factory, line, 300_000, 3)
    request = RepayRequest(customer_id=customer_id, business_date=ON, idempotency_key=key("c"), amount=amount)
    with unit_of_work(factory) as session:
        return customer_id, record_repayment(session, request, now=AT)


def _booked(factory: sessionmaker[Session], payment_id: str) -> list[tuple[str, date, int]]:
    with unit_of_work(factory, read_only=True) as session:
        rows = session.scalars(select(LoanTransaction).where(LoanTransaction.payment_id == payment_id))
        return [(t.type, t.value_date, t.amount) for t in rows]


def test_the_in_process_channel_confirms_at_once_and_books_the_allocation_shown(
    session_factory: sessionmaker[Session],
) -> None:
    customer_id, recorded = _recorded(session_factory, 50_000)
    assert recorded.status == "processing" and recorded.contracts
    assert _booked(session_factory, recorded.payment_id) == []
    done = settle_at_once(
        session_factory,
        recorded,
        account_token=f"customer:{customer_id}",
        channel=instant_channel(),
        now=AT,
    )
    assert done.status == "succeeded"
    assert done.contracts == recorded.contracts  # booked exactly what it showed
    assert _booked(session_factory, done.payment_id) == [("repayment", ON, 50_000)]
    run_jobs(session_factory, AT)  # the payment.settled job, run later, finds it booked
    assert _booked(session_factory, done.payment_id) == [("repayment", ON, 50_000)]
    assert_invariants(session_factory)


def _processing(call: ChannelCall) -> Accepted | ChannelStatus:
    return Accepted(call.payment_id, f"ref_{call.payment_id}")


def test_an_asynchronous_channel_answers_processing_and_the_worker_books_what_was_shown(
    session_factory: sessionmaker[Session],
) -> None:
    _, recorded = _recorded(session_factory, 120_000)
    shown = settle_at_once(
        session_factory,
        recorded,
        account_token="tok",
        channel=HandlerChannel(_processing),
        now=AT,
    )
    assert shown.status == "processing" and shown.contracts == recorded.contracts
    assert _booked(session_factory, shown.payment_id) == []
    later = AT + timedelta(hours=1)
    settle_by_callback(session_factory, shown.payment_id, PaymentState.SUCCEEDED, later)
    run_jobs(session_factory, later)
    assert _booked(session_factory, shown.payment_id) == [("repayment", ON, 120_000)]
    with unit_of_work(session_factory, read_only=True) as session:
        payment = session.get(Payment, shown.payment_id)
        assert payment is not None and payment.state == "succeeded"
    assert_invariants(session_factory)


def test_a_declined_payment_books_nothing_and_says_so(session_factory: sessionmaker[Session]) -> None:
    _, recorded = _recorded(session_factory, 50_000)

    def declined(call: ChannelCall) -> Accepted | ChannelStatus:
        return Accepted(call.payment_id, f"ref_{call.payment_id}", PaymentState.FAILED, None, "CARD_FROZEN")

    done = settle_at_once(
        session_factory, recorded, account_token="tok", channel=HandlerChannel(declined), now=AT
    )
    assert (done.status, done.contracts) == ("failed", ())
    assert _booked(session_factory, done.payment_id) == []


def test_a_client_never_chooses_the_value_date(session_factory: sessionmaker[Session]) -> None:
    customer_id, line = open_line(session_factory)
    do_draw(session_factory, line, 300_000, 3)
    request = RepayRequest(customer_id=customer_id, business_date=ON, idempotency_key=key("v"), amount=1_000)
    with pytest.raises(LendcoreError) as refused, unit_of_work(session_factory) as session:
        record_repayment(session, replace(request, value_date=ON - timedelta(days=1)), now=AT)
    assert refused.value.code == "VALUE_DATE_NOT_ALLOWED"
    with unit_of_work(session_factory, read_only=True) as session:
        assert (
            session.scalars(
                select(Payment).where(Payment.customer_id == customer_id, Payment.direction == "inbound")
            ).all()
            == []
        )
