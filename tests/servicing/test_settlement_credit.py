"""Money that has arrived is always booked. The rule: when a succeeded repayment finds nothing open to
take it (the contract was paid off, by hand or by another payment, or written off while the money was
in flight), it is customer credit (unapplied funds) on the contract it was paid for, or a recovery if
that one was written off; never ``settlement_unbookable``, never a broken cash invariant, and the next
daily close runs. Before this rule such a payment was left unbooked and every later close halted."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import LendcoreError
from lendcore.payments.state import PaymentState
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.scheduled import mark_hold
from lendcore.servicing.settlement import NOTIFY_JOB
from lendcore.servicing.writeoff import WriteOffRequest, write_off
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, LoanTransaction, Payment, UnappliedFunds
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import PaymentIssue
from tests.servicing.support import D0, assert_invariants, do_draw, do_repay, fresh_database, key, open_line
from tests.servicing.test_settlement import AT, DUE, STARTED, ask, bullet, run_jobs, settle_by_callback


def booked(factory: sessionmaker[Session], payment_id: str) -> list[tuple[str, str, int, date]]:
    with unit_of_work(factory, read_only=True) as session:
        rows = session.scalars(select(LoanTransaction).where(LoanTransaction.payment_id == payment_id))
        return [(t.contract_id, t.type, t.amount, t.value_date) for t in rows]


def credit_of(factory: sessionmaker[Session], customer_id: str, contract_id: str) -> tuple[int, int]:
    """(the contract's suspense, the customer's unapplied funds)."""
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        funds = session.scalars(
            select(UnappliedFunds).where(UnappliedFunds.customer_id == customer_id)
        ).first()
        assert contract is not None
        return contract_state(contract).suspense, funds.balance if funds else 0


def unbookable(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        stmt = (
            select(func.count()).select_from(PaymentIssue).where(PaymentIssue.kind == "settlement_unbookable")
        )
        return session.scalar(stmt) or 0


def outcomes(factory: sessionmaker[Session], payment_id: str) -> list[str]:
    with unit_of_work(factory, read_only=True) as session:
        payloads = session.scalars(select(Job.payload).where(Job.kind == NOTIFY_JOB)).all()
        return [p["outcome"] for p in payloads if p["payment_id"] == payment_id]


def written_off(factory: sessionmaker[Session], contract_id: str) -> date:
    """Close through DPD 181 (past the quick product's 180) and write the contract off; the date."""
    on = DUE + timedelta(days=181)
    assert run_daily_close(factory, on).ok
    with unit_of_work(factory) as session:
        request = WriteOffRequest(
            contract_id=contract_id,
            reason="uncollectable",
            actor="risk",
            business_date=on,
            idempotency_key=key(),
        )
        write_off(session, request)
    return on


@pytest.mark.parametrize("mode", [CustomerMode.BY_CONTRACT, CustomerMode.BY_AMOUNT])
def test_money_for_a_contract_paid_off_meanwhile_is_customer_credit_on_it(
    session_factory: sessionmaker[Session], mode: CustomerMode
) -> None:
    cid, contract_id = bullet(session_factory)
    named = (contract_id,) if mode is CustomerMode.BY_CONTRACT else None
    payment_id = ask(session_factory, cid, 100_000, STARTED, mode=mode, contract_ids=named)["payment_id"]
    do_repay(session_factory, cid, None, STARTED, CustomerMode.BY_CONTRACT, contract_ids=[contract_id])
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)
    run_jobs(session_factory, AT)
    assert booked(session_factory, payment_id) == [(contract_id, "repayment", 100_000, STARTED)]
    assert credit_of(session_factory, cid, contract_id) == (100_000, 100_000)
    assert outcomes(session_factory, payment_id) == ["credited"]
    assert unbookable(session_factory) == 0
    assert_invariants(session_factory)
    assert run_daily_close(session_factory, STARTED + timedelta(days=1)).ok  # the close goes on


def test_confirmed_after_a_later_payoff_it_is_value_dated_first_and_the_payoff_leaves_the_surplus(
    session_factory: sessionmaker[Session],
) -> None:
    """¥5,000 started on 03-31 is confirmed after the customer paid the contract off on 04-01: replayed
    at 03-31 it pays the bullet down, so the 04-01 payoff is the one that overpays; the cash is the
    same, only value dating decides which payment is credit."""
    cid, contract_id = bullet(session_factory)
    payment_id = ask(session_factory, cid, 500_000, STARTED)["payment_id"]
    assert run_daily_close(session_factory, STARTED).ok
    payoff = do_repay(session_factory, cid, None, DUE, CustomerMode.BY_CONTRACT, contract_ids=[contract_id])
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)
    run_jobs(session_factory, AT)
    assert booked(session_factory, payment_id) == [(contract_id, "repayment", 500_000, STARTED)]
    suspense, unapplied = credit_of(session_factory, cid, contract_id)
    with unit_of_work(session_factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None and contract.status == "closed"
        state = contract_state(contract)
    assert state.cash_in == 500_000 + payoff["amount"]
    # the surplus is the ¥5,000 plus the day of interest it saved by arriving a day early: on 03-31 it
    # paid the interest of the 30 days since 03-01 first, then principal, which owes no interest for 04-01
    rate = state.terms.daily_rate
    principal_paid_early = 500_000 - 1_000_000 * rate * (STARTED - D0).days
    saved = (principal_paid_early * rate).quantize(Decimal(1), ROUND_HALF_UP)
    assert suspense == unapplied == 500_000 + saved
    assert_invariants(session_factory)


def test_money_for_a_contract_written_off_meanwhile_is_a_recovery_dated_no_earlier_than_the_write_off(
    session_factory: sessionmaker[Session],
) -> None:
    cid, contract_id = bullet(session_factory)
    payment_id = ask(session_factory, cid, 10_000, STARTED)["payment_id"]
    on = written_off(session_factory, contract_id)
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)
    run_jobs(session_factory, AT)
    assert booked(session_factory, payment_id) == [(contract_id, "recovery", 10_000, on)]
    assert outcomes(session_factory, payment_id) == ["credited"]
    assert unbookable(session_factory) == 0
    assert_invariants(session_factory)
    assert run_daily_close(session_factory, on + timedelta(days=1)).ok


def open_ones(factory: sessionmaker[Session], customer_id: str) -> list[str]:
    with unit_of_work(factory, read_only=True) as session:
        stmt = select(Contract.id).where(Contract.customer_id == customer_id, Contract.status == "active")
        return list(session.scalars(stmt.order_by(Contract.id)).all())


#: One in-flight request, a payoff by hand, or the settlement (success or failure) of a request.
move = st.one_of(
    st.tuples(st.just("ask"), st.integers(1_000, 1_200_000), st.sampled_from([None, 0, 1])),
    st.tuples(st.just("payoff"), st.booleans()),
    st.tuples(st.just("settle"), st.integers(0, 5), st.booleans()),
    st.tuples(
        st.just("close"),
    ),
)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    moves=st.lists(move, min_size=2, max_size=10),
    then_pay_off=st.booleans(),
    last=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_every_succeeded_payment_is_booked_whatever_was_paid_meanwhile(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    moves: list[tuple[object, ...]],
    then_pay_off: bool,
    last: list[bool],
) -> None:
    """Payments in flight for two contracts, payoffs by hand and closes in any order, then every
    payment settles: the cash the channel took is exactly the cash the contracts received, nothing is
    unbookable, the invariants hold with replay, and the next close runs."""
    with fresh_database(request, tmp_path) as factory:
        cid, line = open_line(factory, limit=5_000_000)
        contracts = [
            do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"],
            do_draw(factory, line, 600_000, 3)["contract_id"],
        ]
        today, in_flight = STARTED, []
        for m in moves:
            try:
                if m[0] == "ask":  # by amount (None) or by contract (which)
                    named = None if m[2] is None else (contracts[int(str(m[2]))],)
                    mode = CustomerMode.BY_AMOUNT if named is None else CustomerMode.BY_CONTRACT
                    asked = ask(factory, cid, int(str(m[1])), today, mode=mode, contract_ids=named)
                    in_flight.append(asked["payment_id"])
                elif m[0] == "payoff":
                    target = contracts[bool(m[1])]
                    do_repay(factory, cid, None, today, CustomerMode.BY_CONTRACT, contract_ids=[target])
                elif m[0] == "settle" and in_flight:
                    payment_id = in_flight.pop(int(str(m[1])) % len(in_flight))
                    state = PaymentState.SUCCEEDED if m[2] else PaymentState.FAILED
                    settle_by_callback(factory, payment_id, state, AT)
                    run_jobs(factory, AT)
                elif m[0] == "close":
                    today += timedelta(days=1)
                    assert run_daily_close(factory, today).ok
            except LendcoreError as refused:  # a request refused at the door (nothing left to pay...)
                assert refused.code in {"NOTHING_TO_PAY", "CONTRACT_NOT_OPEN", "OVERPAYMENT_TOO_LARGE"}, (
                    refused
                )
        still_open = open_ones(factory, cid)
        if then_pay_off and still_open:  # everything paid off by hand while the rest is still in flight
            do_repay(factory, cid, None, today, CustomerMode.BY_CONTRACT, contract_ids=still_open)
        for payment_id, succeeded in zip(in_flight, itertools.cycle(last), strict=False):
            state = PaymentState.SUCCEEDED if succeeded else PaymentState.FAILED
            settle_by_callback(factory, payment_id, state, AT)
        run_jobs(factory, AT)
        assert unbookable(factory) == 0
        with unit_of_work(factory, read_only=True) as session:
            taken = session.scalar(
                select(func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.direction == "inbound", Payment.state == "succeeded"
                )
            )
            received = sum(contract_state(c).cash_in for c in session.scalars(select(Contract)).all())
        assert received == taken
        assert_invariants(factory)
        assert run_daily_close(factory, today + timedelta(days=1)).ok


def test_a_scheduled_repayments_held_money_for_a_contract_written_off_meanwhile_is_a_recovery(
    session_factory: sessionmaker[Session],
) -> None:
    """The sibling on the held path (预约还款's money, held as credit until the due date)."""
    cid, contract_id = bullet(session_factory)
    named = (contract_id,)
    payment_id = ask(
        session_factory, cid, 10_000, STARTED, mode=CustomerMode.BY_CONTRACT, contract_ids=named
    )["payment_id"]
    with unit_of_work(session_factory) as session:
        mark_hold(session, payment_id, "srp_test")
    on = written_off(session_factory, contract_id)
    settle_by_callback(session_factory, payment_id, PaymentState.SUCCEEDED, AT)
    run_jobs(session_factory, AT)
    assert booked(session_factory, payment_id) == [(contract_id, "recovery", 10_000, on)]
    assert unbookable(session_factory) == 0
    assert_invariants(session_factory)
