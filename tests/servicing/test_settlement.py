"""A repayment is recorded, committed and submitted first, and booked when its payment settles: at the
day the customer started it, exactly once; a failed one books nothing; the customer is told."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.batch.jobs import default_registry
from lendcore.core.allocation import CustomerMode
from lendcore.jobs.worker import Worker
from lendcore.payments.adapter import Accepted, ChannelCall, ChannelStatus, HandlerChannel
from lendcore.payments.channel import ChannelResult, PaymentInstruction
from lendcore.payments.records import Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentState
from lendcore.payments.submit import submit_payment
from lendcore.servicing.lines import line_available
from lendcore.servicing.repay import RepayRequest
from lendcore.servicing.settlement import NOTIFY_JOB, request_repayment, settle_payment
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, CreditLine, LoanTransaction, Payment
from lendcore.store.models_jobs import Job
from lendcore.store.types import utc_now
from tests.servicing.support import assert_invariants, do_draw, do_repay, key, open_line
from tests.statements import sent_statements

DUE = date(2026, 4, 1)
STARTED = date(2026, 3, 31)
AT = datetime(2026, 3, 31, 2, 0, tzinfo=UTC)


def ask(factory: sessionmaker[Session], customer_id: str, amount: int | None, on: date, **kw: object) -> dict:  # type: ignore[type-arg]
    request = RepayRequest(
        customer_id=customer_id, business_date=on, idempotency_key=key("rq"), amount=amount, **kw
    )  # type: ignore[arg-type]
    with unit_of_work(factory) as session:
        return request_repayment(session, request, now=AT).to_json()


def processing(call: ChannelCall) -> Accepted | ChannelStatus:
    return Accepted(call.payment_id, f"ref_{call.payment_id}")


def settle_by_callback(
    factory: sessionmaker[Session], payment_id: str, state: PaymentState, at: datetime
) -> None:
    with unit_of_work(factory) as session:
        payment = lock_payment(session, payment_id)
        apply_observation(
            session,
            payment,
            Observation(
                EventSource.CALLBACK,
                state,
                failure_code="CARD_FROZEN" if state is PaymentState.FAILED else None,
            ),
            at,
        )


def run_jobs(factory: sessionmaker[Session], at: datetime) -> int:
    """Run every due job (jobs are enqueued at the wall clock: the worker runs no earlier)."""
    return Worker(factory, default_registry(None), clock=lambda: max(at, utc_now())).run_until_idle()


def transactions(factory: sessionmaker[Session], payment_id: str) -> list[tuple[str, date]]:
    with unit_of_work(factory, read_only=True) as session:
        rows = session.scalars(select(LoanTransaction).where(LoanTransaction.payment_id == payment_id))
        return [(t.type, t.value_date) for t in rows]


def bullet(factory: sessionmaker[Session]) -> tuple[str, str]:
    cid, line = open_line(factory)
    return cid, do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]


def test_a_requested_repayment_is_recorded_and_nothing_is_booked_until_it_settles(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract_id = bullet(session_factory)
    result = ask(session_factory, cid, 1_009_000, STARTED)
    assert (result["status"], result["contracts"]) == ("processing", [])
    with unit_of_work(session_factory, read_only=True) as session:
        payment = session.get(Payment, result["payment_id"])
        assert payment is not None
        assert (payment.state, payment.value_date) == ("created", STARTED)
        assert payment.allocation == {
            "mode": "by-amount",
            "contract_ids": None,
            "business_date": "2026-03-31",
            "shares": [[contract_id, 1_009_000]],
        }
        kinds = session.scalars(select(Job.kind)).all()
    assert "payment.submit" in kinds
    assert transactions(session_factory, result["payment_id"]) == []


def test_refused_requests_record_nothing(session_factory: sessionmaker[Session]) -> None:
    cid, _ = bullet(session_factory)
    with pytest.raises(Exception) as error:
        ask(session_factory, cid, 1_009_000 + 100_001, STARTED)
    assert getattr(error.value, "code", None) == "OVERPAYMENT_TOO_LARGE"
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalars(select(Payment).where(Payment.direction == "inbound")).all() == []


def test_confirmed_late_it_books_at_its_start_and_the_penalty_accrued_meanwhile_goes(
    session_factory: sessionmaker[Session],
) -> None:
    """¥10,000 bullet due 04-01, the customer pays on 03-31, the channel confirms on 04-08: the closes
    through 04-08 held the penalty (3,150 fen were it not in flight) and showed DPD 0 while it was in
    flight; the settlement books on 03-31, DPD 0, no penalty."""
    cid, contract_id = bullet(session_factory)
    payment_id = ask(session_factory, cid, 1_009_000, STARTED)["payment_id"]
    submit_payment(session_factory, HandlerChannel(processing), payment_id, "tok", now=AT)
    for day in range(1, 8):
        run_daily_close(session_factory, DUE + timedelta(days=day))
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and (c.penalty_receivable, c.days_past_due, c.classification) == (0, 0, "normal")
    confirmed = datetime(2026, 4, 8, 3, 0, tzinfo=UTC)
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, confirmed)
    run_jobs(session_factory, confirmed)
    assert transactions(session_factory, payment_id) == [("repayment", STARTED)]
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        assert (c.status, c.days_past_due, c.penalty_receivable) == ("closed", 0, 0)
        notices = session.scalars(select(Job.payload).where(Job.kind == NOTIFY_JOB)).all()
    assert [n["template"] for n in notices] == ["repayment_succeeded"]
    assert_invariants(session_factory)


def test_settling_twice_books_once(session_factory: sessionmaker[Session]) -> None:
    cid, _ = bullet(session_factory)
    payment_id = ask(session_factory, cid, 500_000, STARTED)["payment_id"]
    submit_payment(session_factory, HandlerChannel(processing), payment_id, "tok", now=AT)
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)  # a redelivery
    run_jobs(session_factory, AT)
    with unit_of_work(session_factory) as session:  # the job run again by hand (a redelivered job)
        assert settle_payment(session, payment_id, today=STARTED).outcome == "already_booked"
    assert transactions(session_factory, payment_id) == [("repayment", STARTED)]
    assert_invariants(session_factory)


def test_the_database_refuses_a_second_booking_of_a_payment(session_factory: sessionmaker[Session]) -> None:
    cid, _ = bullet(session_factory)
    payment_id = ask(session_factory, cid, 500_000, STARTED)["payment_id"]
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)
    run_jobs(session_factory, AT)
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        txn = session.scalars(select(LoanTransaction).where(LoanTransaction.payment_id == payment_id)).one()
        session.add(
            LoanTransaction(
                contract_id=txn.contract_id,
                seq=txn.seq + 100,
                type=txn.type,
                amount=1,
                value_date=txn.value_date,
                business_date=txn.business_date,
                payment_id=payment_id,
            )
        )
        session.flush()


def test_a_failed_payment_books_nothing_and_the_customer_is_told(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract_id = bullet(session_factory)
    payment_id = ask(session_factory, cid, 500_000, STARTED)["payment_id"]
    submit_payment(session_factory, HandlerChannel(processing), payment_id, "tok", now=AT)
    settle_by_callback(session_factory, payment_id, PaymentState.FAILED, AT)
    run_jobs(session_factory, AT)
    assert transactions(session_factory, payment_id) == []
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and (c.status, c.outstanding_principal) == ("active", 1_000_000)
        notices = session.scalars(select(Job.payload).where(Job.kind == NOTIFY_JOB)).all()
    assert [(n["template"], n["outcome"]) for n in notices] == [("repayment_failed", "nothing_booked")]
    assert_invariants(session_factory)


def test_a_contract_settled_meanwhile_leaves_the_money_as_customer_credit_never_lost(
    session_factory: sessionmaker[Session],
) -> None:
    cid, line = open_line(session_factory)
    first = do_draw(session_factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    do_draw(session_factory, line, 200_000, 3)
    payment_id = ask(
        session_factory, cid, 100_000, STARTED, mode=CustomerMode.BY_CONTRACT, contract_ids=(first,)
    )["payment_id"]
    do_repay(
        session_factory, cid, None, STARTED, CustomerMode.BY_CONTRACT, contract_ids=[first]
    )  # paid off meanwhile
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)
    run_jobs(session_factory, AT)
    with unit_of_work(session_factory, read_only=True) as session:
        rows = session.scalars(select(LoanTransaction).where(LoanTransaction.payment_id == payment_id)).all()
        assert [(t.contract_id != first, t.type, t.amount) for t in rows] == [(True, "repayment", 100_000)]
    assert_invariants(session_factory)


class ProcessingChannel:
    """A channel that accepts and answers later (the old synchronous protocol's asynchronous case)."""

    name = "simulator"

    def submit(self, instruction: PaymentInstruction, at: datetime) -> ChannelResult:
        return ChannelResult(PaymentState.PROCESSING, f"ref_{instruction.payment_id}")

    def query(self, payment_id: str, at: datetime) -> ChannelResult:
        return ChannelResult(PaymentState.PROCESSING, f"ref_{payment_id}")


def available_limit(session: Session, line_id: str) -> int:
    line = session.get(CreditLine, line_id)
    assert line is not None
    return line_available(session, line)


@pytest.mark.parametrize(
    ("outcome", "status", "booked"),
    [(PaymentState.SUCCEEDED, "active", ["disbursement"]), (PaymentState.FAILED, "cancelled", [])],
)
def test_a_drawdown_in_flight_is_activated_or_cancelled_by_its_settlement(
    session_factory: sessionmaker[Session], outcome: PaymentState, status: str, booked: list[str]
) -> None:
    _, line = open_line(session_factory, limit=2_000_000)
    drawn = do_draw(session_factory, line, 1_500_000, 3, channel=ProcessingChannel())
    assert drawn["status"] == "processing"
    with unit_of_work(session_factory, read_only=True) as session:
        assert available_limit(session, line) == 500_000  # the pending contract holds the limit
    settle_by_callback(session_factory, drawn["payment_id"], outcome, AT)
    run_jobs(session_factory, AT)
    assert [t for t, _ in transactions(session_factory, drawn["payment_id"])] == booked
    with unit_of_work(session_factory, read_only=True) as session:
        contract = session.get(Contract, drawn["contract_id"])
        assert contract is not None and contract.status == status
        assert available_limit(session, line) == (500_000 if booked else 2_000_000)
    assert_invariants(session_factory)


def test_the_worker_submits_then_books_when_the_channel_confirms(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract_id = bullet(session_factory)
    payment_id = ask(session_factory, cid, 400_000, STARTED)["payment_id"]
    channel = HandlerChannel(processing)
    Worker(session_factory, default_registry(channel)).run_until_idle()
    assert [c.operation for c in channel.calls] == ["submit"]
    assert transactions(session_factory, payment_id) == []  # accepted, not yet confirmed
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, utc_now())
    Worker(session_factory, default_registry(channel)).run_until_idle()
    assert transactions(session_factory, payment_id) == [("repayment", STARTED)]
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None and c.outstanding_principal == 1_000_000 - (400_000 - 9_000)
    assert_invariants(session_factory)


def test_a_retried_request_is_the_same_payment(session_factory: sessionmaker[Session]) -> None:
    cid, _ = bullet(session_factory)
    request = RepayRequest(customer_id=cid, business_date=STARTED, idempotency_key="same", amount=400_000)
    with unit_of_work(session_factory) as session:
        first = request_repayment(session, request, now=AT)
    with unit_of_work(session_factory) as session:
        again = request_repayment(session, request, now=AT)
        count = len(session.scalars(select(Payment.id).where(Payment.direction == "inbound")).all())
    assert (again, count) == (first, 1)


def penalty_of(factory: sessionmaker[Session], contract_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        return c.penalty_receivable


def dpd_of(factory: sessionmaker[Session], contract_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        return c.days_past_due


def test_confirmed_late_into_a_fault_window_it_books_over_the_windows_waivers(
    session_factory: sessionmaker[Session],
) -> None:
    """The story's shape: ¥10,000 bullet due 04-01; on 04-03 (DPD 2) the customer pays off while the
    channel is failing, and a channel-outage window runs 04-04 … 04-07: the closes waive its penalty.
    Confirmed on 04-08, the payment books on 04-03, ahead of those waivers, and pays what they had
    waived: each is a fault waiver *at most* what is outstanding, so the replay waives nothing and the
    booking goes through (before, the replay refused it: WAIVER_EXCEEDS_OUTSTANDING, money lost).
    Since the close holds the penalty of money in flight, no penalty accrues meanwhile and there is no
    waiver to replay over; the booking at 04-03 is the same."""
    from lendcore.core.faults import FaultKind
    from lendcore.servicing.faults import record_fault

    cid, contract_id = bullet(session_factory)
    started = DUE + timedelta(days=2)
    run_daily_close(session_factory, DUE + timedelta(days=1))
    with unit_of_work(session_factory) as session:
        record_fault(
            session,
            kind=FaultKind.CHANNEL_OUTAGE,
            starts_on=started + timedelta(days=1),
            ends_on=started + timedelta(days=4),
            reason="bank down",
        )
    at = datetime(2026, 4, 3, 2, 0, tzinfo=UTC)
    payment_id = ask(session_factory, cid, None, started, mode=CustomerMode.PAY_OFF_ALL)["payment_id"]
    submit_payment(session_factory, HandlerChannel(processing), payment_id, "tok", now=at)
    for day in range(2, 7):  # the closes of 04-03 … 04-07
        run_daily_close(session_factory, DUE + timedelta(days=day))
    with unit_of_work(session_factory, read_only=True) as session:
        waivers = session.execute(
            select(LoanTransaction.value_date, LoanTransaction.amount).where(
                LoanTransaction.contract_id == contract_id, LoanTransaction.type == "waiver"
            )
        ).all()
    # the payment in flight holds the penalty (core.in_flight): the closes accrue none, nothing to waive
    # (without it the grace would have charged 1,800 fen on 04-05 and 450 a day after, all waived)
    assert waivers == []
    assert (penalty_of(session_factory, contract_id), dpd_of(session_factory, contract_id)) == (0, 0)
    confirmed = datetime(2026, 4, 8, 3, 0, tzinfo=UTC)
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, confirmed)
    run_jobs(session_factory, confirmed)
    assert transactions(session_factory, payment_id) == [("repayment", started)]
    with unit_of_work(session_factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        assert (c.status, c.days_past_due, c.penalty_receivable) == ("closed", 0, 0)
    assert_invariants(session_factory)


def test_a_settlement_reads_the_open_business_date_once(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    """The booking and the end of the payment's fault windows are on the same date: one read of it."""
    cid, _ = bullet(session_factory)
    payment_id = ask(session_factory, cid, 500_000, STARTED)["payment_id"]
    submit_payment(session_factory, HandlerChannel(processing), payment_id, "tok", now=AT)
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)
    with sent_statements(engine) as seen, unit_of_work(session_factory) as session:
        assert settle_payment(session, payment_id).outcome == "booked"
    assert len([s for s in seen if "FROM business_dates" in s]) == 1
    assert transactions(session_factory, payment_id) == [("repayment", STARTED)]
