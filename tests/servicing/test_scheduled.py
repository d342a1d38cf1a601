"""Scheduled repayment (预约还款): bookable from 10 days before a due date for a later day up to it, at
most what will be due, once per installment, cancellable before its day; taken on its day (a payment
value-dated then), held as customer credit, applied by the close on the due date and not before.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.autopay import run_autopay
from lendcore.batch.close import run_daily_close
from lendcore.batch.jobs import default_registry
from lendcore.core.allocation import CustomerMode, amount_due
from lendcore.core.errors import LendcoreError
from lendcore.core.faults import MISSED_FAULT_DAYS
from lendcore.core.money import format_fen
from lendcore.core.notices import chinese_date, render
from lendcore.jobs.worker import Worker
from lendcore.notify.sinks import DevelopmentSink
from lendcore.payments.adapter import Accepted, ChannelCall, ChannelStatus, HandlerChannel
from lendcore.payments.records import Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentState
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.scheduled import (
    ScheduleRepaymentRequest,
    book_scheduled,
    cancel_scheduled,
    list_scheduled,
    take_scheduled,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, LoanTransaction, Payment, UnappliedFunds
from lendcore.store.models_jobs import Job
from lendcore.store.models_notify import ScheduledRepayment
from lendcore.store.models_payments import LenderFault
from lendcore.store.types import utc_now
from tests.servicing.support import (
    assert_invariants,
    do_draw,
    do_repay,
    fault_notices,
    key,
    open_line,
    snapshot,
)

DUE = date(2026, 4, 1)  # a one-month bullet drawn on 2026-03-01
TODAY = date(2026, 3, 25)
TAKE = date(2026, 3, 28)
AT = datetime(2026, 3, 28, 1, 0, tzinfo=UTC)


def _borrower(factory: sessionmaker[Session]) -> tuple[str, str]:
    cid, line = open_line(factory)
    return cid, do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]


def _book(
    factory: sessionmaker[Session], cid: str, contract: str, *, today: date = TODAY, take: date = TAKE,
    amount: int | None = None, idem: str | None = None,
) -> dict[str, object]:  # fmt: skip
    request = ScheduleRepaymentRequest(cid, contract, take, today, idem or key("sched"), amount)
    with unit_of_work(factory) as session:
        return book_scheduled(session, request).to_json()


def _will_be_due(factory: sessionmaker[Session], contract_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return amount_due(contract_state(contract), DUE)


def test_outside_the_window_too_much_twice_or_not_yours_is_refused_and_writes_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract = _borrower(session_factory)
    other, _ = _borrower(session_factory)
    owed = _will_be_due(session_factory, contract)
    before = snapshot(session_factory)
    cases = [
        (dict(today=DUE - timedelta(days=11), take=DUE - timedelta(days=5)), "SCHEDULED_TOO_EARLY"),
        (dict(take=TODAY), "SCHEDULED_DATE_NOT_FUTURE"),
        (dict(take=TODAY - timedelta(days=1)), "SCHEDULED_DATE_NOT_FUTURE"),
        (dict(take=DUE + timedelta(days=1)), "SCHEDULED_AFTER_DUE_DATE"),
        (dict(amount=owed + 1), "SCHEDULED_AMOUNT_TOO_LARGE"),
        (dict(amount=0), "AMOUNT_NOT_POSITIVE"),
        (dict(amount=-5), "AMOUNT_NOT_POSITIVE"),
    ]
    for kwargs, code in cases:
        with pytest.raises(LendcoreError) as caught:
            _book(session_factory, cid, contract, **kwargs)  # type: ignore[arg-type]
        assert caught.value.code == code, kwargs
    with pytest.raises(LendcoreError) as caught:
        _book(session_factory, other, contract)
    assert caught.value.code == "CONTRACT_NOT_FOUND"
    assert snapshot(session_factory) == before
    opens = _book(session_factory, cid, contract, today=DUE - timedelta(days=10), take=DUE)  # the first day
    assert opens["amount"] == owed and opens["status"] == "booked" and opens["period"] == 1
    with pytest.raises(LendcoreError) as caught:
        _book(session_factory, cid, contract)
    assert caught.value.code == "SCHEDULED_ALREADY_BOOKED"


def test_a_replayed_key_is_the_same_booking_and_a_cancel_frees_the_installment(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract = _borrower(session_factory)
    first = _book(session_factory, cid, contract, amount=500_000, idem="same")
    assert _book(session_factory, cid, contract, amount=500_000, idem="same") == first
    with pytest.raises(LendcoreError) as caught:
        _book(session_factory, cid, contract, amount=400_000, idem="same")  # another body
    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
        cancel_scheduled(session, str(first["id"]), customer_id="cus_other", business_date=TODAY, actor="x")
    assert caught.value.code == "SCHEDULED_NOT_FOUND"
    with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
        cancel_scheduled(session, str(first["id"]), customer_id=cid, business_date=TAKE, actor=cid)
    assert caught.value.code == "SCHEDULED_NOT_CANCELLABLE"  # on its day: too late
    with unit_of_work(session_factory) as session:
        assert (
            cancel_scheduled(
                session, str(first["id"]), customer_id=cid, business_date=TODAY, actor=cid
            ).status
            == "cancelled"
        )
    with pytest.raises(LendcoreError) as caught, unit_of_work(session_factory) as session:
        cancel_scheduled(session, str(first["id"]), customer_id=cid, business_date=TODAY, actor=cid)
    assert caught.value.code == "SCHEDULED_NOT_CANCELLABLE"
    assert _book(session_factory, cid, contract)["status"] == "booked"
    with unit_of_work(session_factory, read_only=True) as session:
        assert [v.status for v in list_scheduled(session, cid)] == ["cancelled", "booked"]


def _processing(call: ChannelCall) -> Accepted | ChannelStatus:
    return Accepted(call.payment_id, f"ref_{call.payment_id}")


def _work(factory: sessionmaker[Session], channel: HandlerChannel) -> None:
    registry = default_registry(channel, DevelopmentSink())
    Worker(factory, registry, clock=lambda: max(AT, utc_now())).run_until_idle()


def _settle(factory: sessionmaker[Session], payment_id: str, state: PaymentState) -> None:
    with unit_of_work(factory) as session:
        payment = lock_payment(session, payment_id)
        apply_observation(session, payment, Observation(EventSource.CALLBACK, state), utc_now())


def _contract(factory: sessionmaker[Session], contract_id: str) -> Contract:
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        session.expunge(contract)
        return contract


def _unapplied(factory: sessionmaker[Session], customer_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        row = session.get(UnappliedFunds, customer_id)
        return row.balance if row is not None else 0


def test_taken_on_its_day_held_as_credit_and_applied_on_the_due_date_not_before(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract = _borrower(session_factory)
    booked = _book(session_factory, cid, contract)
    owed = int(str(booked["amount"]))
    with unit_of_work(session_factory) as session:
        assert take_scheduled(session, TAKE - timedelta(days=1), now=AT).taken == {}  # not its day yet
    with unit_of_work(session_factory) as session:
        report = take_scheduled(session, TAKE, now=AT)
    with unit_of_work(session_factory) as session:
        assert take_scheduled(session, TAKE, now=AT).taken == {}  # taken once
    [payment_id] = report.taken.values()
    channel = HandlerChannel(_processing)
    _work(session_factory, channel)
    assert [c.operation for c in channel.calls] == ["submit"]
    _settle(session_factory, payment_id, PaymentState.SUCCEEDED)
    _work(session_factory, channel)
    with unit_of_work(session_factory, read_only=True) as session:
        payment = session.get(Payment, payment_id)
        assert payment is not None and payment.value_date == TAKE and payment.amount == owed
        types = session.scalars(
            select(LoanTransaction.type).where(LoanTransaction.payment_id == payment_id)
        ).all()
    assert list(types) == ["repayment"]
    held = _contract(session_factory, contract)
    assert held.outstanding_principal == 1_000_000 and _unapplied(session_factory, cid) == owed  # held
    for day in range(TAKE.day, 32):  # the closes up to the day before the due date: still held
        assert run_daily_close(session_factory, date(2026, 3, day)).ok
    assert _unapplied(session_factory, cid) == owed
    with unit_of_work(session_factory) as session:  # the due date's autopay debits nothing more
        assert run_autopay(session, DUE, 1, now=AT).skipped == {contract: "covered_by_credit"}
    assert run_daily_close(session_factory, DUE).ok  # the due date: applied
    paid = _contract(session_factory, contract)
    assert (paid.status, paid.days_past_due, paid.penalty_receivable) == ("closed", 0, 0)
    assert _unapplied(session_factory, cid) == 0
    assert_invariants(session_factory)


def test_a_failed_take_frees_the_installment_and_a_missed_day_is_failed(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract = _borrower(session_factory)
    _book(session_factory, cid, contract)
    with unit_of_work(session_factory) as session:
        [payment_id] = take_scheduled(session, TAKE, now=AT).taken.values()
    channel = HandlerChannel(_processing)
    _work(session_factory, channel)
    _settle(session_factory, payment_id, PaymentState.FAILED)
    _work(session_factory, channel)
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalars(select(ScheduledRepayment.status)).all() == ["failed"]
    assert _book(session_factory, cid, contract, today=TAKE, take=DUE)["status"] == "booked"
    with unit_of_work(session_factory) as session:  # the take job did not run until after the due date
        late = take_scheduled(session, DUE + timedelta(days=1), now=AT)
    assert list(late.failed.values()) == ["due_date_passed"]


def _close_through(factory: sessionmaker[Session], first: date, last: date) -> None:
    for offset in range((last - first).days + 1):
        assert run_daily_close(factory, first + timedelta(days=offset)).ok


def test_a_booking_we_never_took_is_our_fault_the_customer_pays_no_penalty_and_is_not_overdue(
    session_factory: sessionmaker[Session],
) -> None:
    """Booked for its due date; every worker down that day: no take ran. The next day's take finds
    it, fails it and opens a scheduled_missed window from the due date for a week after that day, so
    the closes charge no penalty and show no overdue. A twin without a booking pays penalty."""
    cid, contract = _borrower(session_factory)
    _, twin = _borrower(session_factory)
    booked = int(str(_book(session_factory, cid, contract, take=DUE)["amount"]))
    _close_through(session_factory, TAKE, DUE)
    found_on = DUE + timedelta(days=1)
    with unit_of_work(session_factory) as session:
        missed = take_scheduled(session, found_on, now=AT)
    assert missed.failed and set(missed.failed.values()) == {"due_date_passed"}
    with unit_of_work(session_factory, read_only=True) as session:
        windows = session.execute(
            select(LenderFault.kind, LenderFault.starts_on, LenderFault.ends_on, LenderFault.contract_id)
        ).all()
    assert [tuple(w) for w in windows] == [
        ("scheduled_missed", DUE, found_on + timedelta(days=MISSED_FAULT_DAYS), contract)
    ]
    _close_through(session_factory, found_on, DUE + timedelta(days=5))
    ours, theirs = _contract(session_factory, contract), _contract(session_factory, twin)
    assert (ours.days_past_due, ours.penalty_receivable, ours.classification) == (0, 0, "normal")
    assert theirs.days_past_due == 5 and theirs.penalty_receivable > 0  # without the fault
    ends = chinese_date(found_on + timedelta(days=MISSED_FAULT_DAYS))
    assert fault_notices(session_factory, cid) == [
        f"【lendcore】您预约在{chinese_date(DUE)}的还款{format_fen(booked)}因我方原因未能执行，由此产生的罚息已免除，"
        f"请在{ends}前通过 App 还款，以免逾期。"
    ]
    assert_invariants(session_factory)


def test_a_booking_on_a_contract_paid_off_meanwhile_is_cancelled_and_the_customer_told_it_was_not_needed(
    session_factory: sessionmaker[Session],
) -> None:
    """It was failed with "could not be taken, pay by the due date yourself": a false instruction to a
    customer who owes nothing."""
    cid, contract = _borrower(session_factory)
    booked = int(str(_book(session_factory, cid, contract)["amount"]))
    do_repay(session_factory, cid, None, TODAY, CustomerMode.PAY_OFF_ALL)
    with unit_of_work(session_factory) as session:
        report = take_scheduled(session, TAKE, now=AT)
    assert report.taken == {} and list(report.failed.values()) == ["CONTRACT_NOT_OPEN"]
    with unit_of_work(session_factory, read_only=True) as session:
        row = session.scalars(select(ScheduledRepayment)).one()
        assert (row.status, row.payment_id) == ("cancelled", None)
        notices = session.scalars(select(Job).where(Job.kind == "customer.notify").order_by(Job.id)).all()
        said = [
            render(str(j.payload["template"]), j.payload) for j in notices if j.payload.get("scheduled_id")
        ]
    took = format_fen(booked)
    assert (
        said[-1] == f"【lendcore】您预约在{chinese_date(TAKE)}的还款{took}无需执行：该笔借款已结清，未扣款。"
    )
