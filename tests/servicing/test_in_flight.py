"""The daily close honours money in flight (core.in_flight, servicing.standing): a repayment the customer
started on time and not yet final holds the penalty and leaves the contract judged as if it had been
paid that day; a success is booked at its start (test_settlement.py); a failure leaves the contract
exactly as a twin that was never paid.

¥10,000 bullets on `quick` due 04-01 (penalty 0.045 %/day: 450 fen a day on ¥10,000, booked once the
3 grace days have passed), the customer starts a repayment on 03-31.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.payments.adapter import HandlerChannel
from lendcore.payments.state import PaymentState
from lendcore.payments.submit import submit_payment
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, LoanTransaction
from tests.servicing.support import assert_invariants
from tests.servicing.test_settlement import (
    AT,
    DUE,
    STARTED,
    ask,
    bullet,
    processing,
    run_jobs,
    settle_by_callback,
)

OWED = 1_009_000  # principal + interest of the bullet on 03-31


def standing(factory: sessionmaker[Session], contract_id: str) -> tuple[int, int, str | None, int]:
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        return c.penalty_receivable, c.days_past_due, c.classification, c.max_days_past_due


def in_flight(factory: sessionmaker[Session], amount: int) -> tuple[str, str, str]:
    cid, contract_id = bullet(factory)
    payment_id = ask(factory, cid, amount, STARTED)["payment_id"]
    submit_payment(factory, HandlerChannel(processing), payment_id, "tok", now=AT)
    return cid, contract_id, payment_id


def test_a_failed_payment_leaves_the_contract_as_if_it_had_never_been_made(
    session_factory: sessionmaker[Session],
) -> None:
    _, paid, payment_id = in_flight(session_factory, OWED)
    never = bullet(session_factory)[1]
    for day in range(1, 5):  # closes of 04-02 … 04-05 while in flight
        run_daily_close(session_factory, DUE + timedelta(days=day))
        assert standing(session_factory, paid) == (0, 0, "normal", 0)
    assert standing(session_factory, never) == (4 * 450, 4, "special-mention", 4)
    failed_at = AT + timedelta(days=5)
    settle_by_callback(session_factory, payment_id, PaymentState.FAILED, failed_at)
    run_jobs(session_factory, failed_at)
    run_daily_close(session_factory, DUE + timedelta(days=5))  # the first close after the failure
    assert (
        standing(session_factory, paid)
        == standing(session_factory, never)
        == (5 * 450, 5, "special-mention", 5)
    )
    with unit_of_work(session_factory, read_only=True) as session:
        held = session.scalars(
            select(LoanTransaction.payload).where(
                LoanTransaction.contract_id == paid, LoanTransaction.type == "penalty-accrual"
            )
        ).all()
    assert [p.get("covered_by_payment", 0) for p in held][-5:] == [OWED, OWED, OWED, OWED, 0]
    assert_invariants(session_factory)


def test_part_of_what_is_due_in_flight_still_leaves_the_rest_overdue(
    session_factory: sessionmaker[Session],
) -> None:
    """Half the bill in flight: judged as paid, half the principal is still overdue: DPD counts, and
    the penalty is held (5 days past the grace would be 2,250 fen) until the payment is final."""
    _, contract_id, _ = in_flight(session_factory, OWED // 2)
    for day in range(1, 6):
        run_daily_close(session_factory, DUE + timedelta(days=day))
    penalty, dpd, classification, _ = standing(session_factory, contract_id)
    assert (penalty, dpd, classification) == (0, 5, "special-mention")


def test_a_payment_started_after_the_due_date_does_not_erase_the_days_before_it(
    session_factory: sessionmaker[Session],
) -> None:
    """Started on 04-07 (DPD 6, 2,250 fen of penalty booked), in flight: the contract is judged paid
    from 04-07 (DPD 0 afterwards); the penalty the closes booked before it stays, its worst DPD too."""
    cid, contract_id = bullet(session_factory)
    for day in range(1, 6):
        run_daily_close(session_factory, DUE + timedelta(days=day))
    assert standing(session_factory, contract_id) == (2_250, 5, "special-mention", 5)
    started = date(2026, 4, 7)
    owed = 1_000_000 + 9_300 + 6 * 450  # principal, 31 days of interest, 6 days of penalty
    payment_id = ask(session_factory, cid, owed, started)["payment_id"]
    submit_payment(session_factory, HandlerChannel(processing), payment_id, "tok", now=AT + timedelta(days=7))
    for day in range(6, 9):
        run_daily_close(session_factory, DUE + timedelta(days=day))
    assert standing(session_factory, contract_id) == (2_250, 0, "normal", 5)
