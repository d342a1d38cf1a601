"""Inside a lender-fault window nobody in scope is charged penalty: the close waives what accrued in the
window (reason SYSTEM_FAULT, actor system, audited); penalty from before the window stays."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import ValidationError
from lendcore.core.faults import FaultKind, FaultWindow, in_lender_fault
from lendcore.core.standing import stand
from lendcore.jobs.outbox import enqueue
from lendcore.payments.adapter import HandlerChannel
from lendcore.payments.state import PaymentState
from lendcore.payments.submit import submit_payment
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.faults import _candidates as fault_candidates  # the close's narrowing read
from lendcore.servicing.faults import record_fault
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, Contract, LoanTransaction
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import LenderFault
from tests.core.loan_factory import disbursed, installment_terms
from tests.servicing.support import assert_invariants, do_draw, do_repay, open_line

DUE = date(2026, 4, 1)


def bullet(factory: sessionmaker[Session]) -> tuple[str, str]:
    cid, line = open_line(factory)
    return cid, do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]


def penalty(factory: sessionmaker[Session], contract_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return contract.penalty_receivable


def test_penalty_inside_a_fault_window_is_waived_and_before_it_stays(
    session_factory: sessionmaker[Session],
) -> None:
    plain = bullet(session_factory)[1]
    whole_customer, whole = bullet(session_factory)
    late = bullet(session_factory)[1]
    with unit_of_work(session_factory) as session:
        record_fault(
            session,
            kind=FaultKind.CHANNEL_OUTAGE,
            starts_on=DUE,
            customer_id=whole_customer,
            reason="bank down",
        )
        record_fault(
            session,
            kind=FaultKind.REMINDER_UNDELIVERED,
            starts_on=DUE + timedelta(days=6),
            contract_id=late,
            reason="SMS not delivered",
        )
    for day in range(1, 8):
        run_daily_close(session_factory, DUE + timedelta(days=day))
        if day == 5:
            before_window = penalty(session_factory, plain)
    assert penalty(session_factory, plain) == 3_150  # DPD 7 × 1,000,000 × 0.045 %
    assert penalty(session_factory, whole) == 0
    assert 0 < before_window < 3_150
    assert penalty(session_factory, late) == before_window
    with unit_of_work(session_factory, read_only=True) as session:
        waivers = session.scalars(
            select(LoanTransaction).where(
                LoanTransaction.contract_id == whole, LoanTransaction.type == "waiver"
            )
        ).all()
        assert waivers and all(w.payload["reason"].startswith("SYSTEM_FAULT") for w in waivers)
        audited = session.scalars(
            select(AuditRecord.actor).where(
                AuditRecord.target_id == whole, AuditRecord.action == "contract.waive_penalty"
            )
        ).all()
        assert set(audited) == {"system"}
    assert_invariants(session_factory)


def test_a_window_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError) as error:
        FaultWindow("f", FaultKind.MANUAL, DUE, DUE - timedelta(days=1))
    assert error.value.code == "FAULT_WINDOW_INVALID"


days = st.integers(min_value=0, max_value=60).map(lambda n: DUE + timedelta(days=n))


@given(
    start=days,
    length=st.integers(min_value=0, max_value=20),
    on=days,
    scope=st.sampled_from(["c1", "u1", None, "c2", "u2"]),
)
def test_in_lender_fault_is_exactly_scope_and_window(
    start: date, length: int, on: date, scope: str | None
) -> None:
    window = FaultWindow(
        "f1",
        FaultKind.MANUAL,
        start,
        start + timedelta(days=length),
        contract_id=scope if scope and scope.startswith("c") else None,
        customer_id=scope if scope and scope.startswith("u") else None,
    )
    found = in_lender_fault([window], contract_id="c1", customer_id="u1", on=on)
    in_scope = scope in ("c1", "u1", None)
    assert (found is window) == (in_scope and start <= on <= start + timedelta(days=length))


def standing(factory: sessionmaker[Session], contract_id: str) -> tuple[int, str | None, int]:
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        return c.days_past_due, c.classification, c.max_days_past_due


def test_overdue_status_that_began_inside_a_window_is_suppressed_and_earlier_lateness_is_not(
    session_factory: sessionmaker[Session],
) -> None:
    plain = bullet(session_factory)[1]
    whole_customer, whole = bullet(session_factory)
    late = bullet(session_factory)[1]
    with unit_of_work(session_factory) as session:
        record_fault(
            session, kind=FaultKind.CHANNEL_OUTAGE, starts_on=DUE, customer_id=whole_customer, reason="down"
        )
        record_fault(
            session,
            kind=FaultKind.MANUAL,
            starts_on=DUE + timedelta(days=6),
            contract_id=late,
            reason="judged",
        )
    for day in range(1, 8):
        run_daily_close(session_factory, DUE + timedelta(days=day))
        assert standing(session_factory, whole) == (0, "normal", 0)
    assert standing(session_factory, plain) == (7, "special-mention", 7)
    assert standing(session_factory, late) == (7, "special-mention", 7)  # late before its window began
    assert_invariants(session_factory)


def test_a_window_that_ends_gives_the_days_back_to_the_rows(session_factory: sessionmaker[Session]) -> None:
    cid, contract_id = bullet(session_factory)
    with unit_of_work(session_factory) as session:
        record_fault(
            session,
            kind=FaultKind.MANUAL,
            starts_on=DUE,
            ends_on=DUE + timedelta(days=2),
            customer_id=cid,
            reason="x",
        )
    for day in range(1, 5):
        run_daily_close(session_factory, DUE + timedelta(days=day))
        if day <= 2:
            assert standing(session_factory, contract_id) == (0, "normal", 0)
    assert standing(session_factory, contract_id) == (4, "special-mention", 4)


@given(
    due_offset=st.integers(min_value=-10, max_value=10),
    start=st.integers(min_value=-10, max_value=10),
    on=st.integers(min_value=1, max_value=30),
)
def test_standing_inside_a_window_counts_only_lateness_that_began_before_it(
    due_offset: int, start: int, on: int
) -> None:
    """A one-row contract due on DUE + due_offset, unpaid, judged on DUE + on under a window from
    DUE + start: DPD 0 when its first overdue day is inside the window, else its own DPD."""
    due = DUE + timedelta(days=due_offset)
    day = due + timedelta(days=on)
    terms = installment_terms(term=1, method="bullet", start=due - timedelta(days=30))
    terms = replace(terms, schedule=(replace(terms.schedule[0], due_date=due),))
    state = disbursed(terms).state
    window = FaultWindow("f", FaultKind.MANUAL, DUE + timedelta(days=start))
    judged = stand(state, day, window=window if window.covers(day) else None).delinquency.dpd
    began_inside = window.covers(day) and due + timedelta(days=1) >= window.starts_on
    assert judged == (0 if began_inside else on)


def test_a_repayment_past_its_sla_opens_a_fault_for_its_customer_once_and_the_customer_is_told(
    session_factory: sessionmaker[Session],
) -> None:
    """The sweep job raises the payment past its SLA (2 h) and opens a payment_past_sla window from its
    value date; sweeping again opens nothing more; when the payment is final the window ends that day."""
    from tests.servicing.test_settlement import AT, STARTED, ask, processing, run_jobs, settle_by_callback

    cid, contract_id = bullet(session_factory)
    payment_id = ask(session_factory, cid, 1_009_000, STARTED)["payment_id"]
    submit_payment(session_factory, HandlerChannel(processing), payment_id, "tok", now=AT)
    for hours in (3, 4):
        with unit_of_work(session_factory) as session:
            enqueue(session, "payments.sweep", {}, dedupe_key=f"sweep:{hours}")
        run_jobs(session_factory, AT + timedelta(hours=hours))
    with unit_of_work(session_factory, read_only=True) as session:
        faults = [
            (f.id, f.kind, f.starts_on, f.ends_on, f.customer_id, f.payment_id)
            for f in session.scalars(select(LenderFault))
        ]
        told = session.scalars(select(Job.payload).where(Job.kind == "customer.notify")).all()
    assert [f[1:] for f in faults] == [("payment_past_sla", STARTED, None, cid, payment_id)]
    assert [(t["template"], t["fault_id"]) for t in told] == [("lender_fault_opened", faults[0][0])]
    for day in range(1, 6):
        run_daily_close(session_factory, DUE + timedelta(days=day))
    failed_at = AT + timedelta(days=6)
    settle_by_callback(session_factory, payment_id, PaymentState.FAILED, failed_at)
    run_jobs(session_factory, failed_at)
    with unit_of_work(session_factory, read_only=True) as session:
        ended = session.scalars(select(LenderFault.ends_on)).one()
    assert ended == DUE + timedelta(days=6)  # the open business date when it failed
    run_daily_close(session_factory, DUE + timedelta(days=6))
    # failed: the penalty of the days in flight (6 × 450) was caught up and waived inside the window
    assert (penalty(session_factory, contract_id), standing(session_factory, contract_id)) == (
        0,
        (0, "normal", 0),
    )
    run_daily_close(session_factory, DUE + timedelta(days=7))  # the window is over: the rows count again
    assert (penalty(session_factory, contract_id), standing(session_factory, contract_id)[0]) == (450, 7)
    assert_invariants(session_factory)


def _penalty_paid(factory: sessionmaker[Session], contract_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return sum(r.penalty_paid for r in contract_state(contract).rows)


@pytest.mark.parametrize("mode", [CustomerMode.PAY_OFF_ALL, CustomerMode.BY_AMOUNT])
def test_a_payment_on_a_fault_day_does_not_collect_the_windows_penalty(
    session_factory: sessionmaker[Session], mode: CustomerMode
) -> None:
    """¥10,000 bullet due 04-01, 4 days overdue by the close of 04-05 (4 × 450 fen); a channel outage
    on 04-06 for everyone; the customer pays off on 04-06 before that day's close. The payment's own
    accrual adds 04-06's penalty, which the close could not waive once paid: it is waived before the
    payment is planned. The customer pays the 1,800 fen of before the window and nothing of it."""
    customer_id, contract_id = bullet(session_factory)
    for day in range(1, 5):  # the closes of 04-02 … 04-05
        run_daily_close(session_factory, DUE + timedelta(days=day))
    outage = DUE + timedelta(days=5)
    with unit_of_work(session_factory) as session:
        record_fault(session, kind=FaultKind.CHANNEL_OUTAGE, starts_on=outage, ends_on=outage, reason="down")
    amount = None if mode is CustomerMode.PAY_OFF_ALL else 1_050_000  # by amount: more than is owed
    do_repay(session_factory, customer_id, amount, outage, mode)
    assert _penalty_paid(session_factory, contract_id) == 4 * 450
    run_daily_close(session_factory, outage)
    assert _penalty_paid(session_factory, contract_id) == 4 * 450
    assert penalty(session_factory, contract_id) == 0
    assert_invariants(session_factory)


def test_a_payment_inside_a_window_pays_no_penalty_of_the_window_and_one_outside_pays_it_all(
    session_factory: sessionmaker[Session],
) -> None:
    """The repayment asks whether a window covers its date on its own lock (one statement): with one,
    the window's penalty (the payment day's own accrual included) is waived before the plan."""
    faulted_customer, faulted = bullet(session_factory)
    plain_customer, plain = bullet(session_factory)
    for day in range(1, 6):
        run_daily_close(session_factory, DUE + timedelta(days=day))
    today = DUE + timedelta(days=6)  # the open business date
    with unit_of_work(session_factory) as session:
        record_fault(
            session,
            kind=FaultKind.CHANNEL_OUTAGE,
            starts_on=today,
            customer_id=faulted_customer,
            reason="down",
        )
    paid = {
        contract: do_repay(session_factory, customer, None, today, CustomerMode.PAY_OFF_ALL)
        for customer, contract in ((faulted_customer, faulted), (plain_customer, plain))
    }
    penalty_paid = {c: sum(line["penalty"] for line in paid[c]["contracts"]) for c in paid}
    # 1,000,000 × 0.045 % a day: five days before the window; the sixth, the window's, only outside it
    assert penalty_paid == {faulted: 5 * 450, plain: 6 * 450}
    with unit_of_work(session_factory, read_only=True) as session:
        waivers = {
            c: session.scalars(
                select(LoanTransaction.business_date).where(
                    LoanTransaction.contract_id == c, LoanTransaction.type == "waiver"
                )
            ).all()
            for c in (faulted, plain)
        }
    assert waivers == {faulted: [today], plain: []}
    assert_invariants(session_factory)


@pytest.mark.parametrize("pays_off", [False, True])
def test_a_window_opened_after_the_customer_paid_the_days_penalty_gives_it_back_as_credit(
    session_factory: sessionmaker[Session], pays_off: bool
) -> None:
    """The seeded simulation found it (1,000 × 90, several seeds): a customer pays at 10:00 on a
    day whose reminder is found undelivered at 14:00; the window opens from that day, but the
    payment had already paid the day's penalty, and the close waives only what is outstanding.
    Rule: the close gives back, as customer credit, what of the window days' penalty was paid;
    whether the payment paid part (the contract stays active) or all (it closed). A twin without
    the window keeps its penalty."""
    customer_id, contract_id = bullet(session_factory)
    twin_customer, twin = bullet(session_factory)
    for day in range(1, 5):  # the closes of 04-02 … 04-05: 4 days overdue
        run_daily_close(session_factory, DUE + timedelta(days=day))
    today = DUE + timedelta(days=5)
    amount = None if pays_off else 300_000
    mode = CustomerMode.PAY_OFF_ALL if pays_off else CustomerMode.BY_AMOUNT
    for who in (customer_id, twin_customer):
        do_repay(session_factory, who, amount, today, mode)
    assert _penalty_paid(session_factory, contract_id) == 5 * 450  # the payment day's own included
    with unit_of_work(session_factory) as session:  # found after the payment, from that day on
        record_fault(
            session,
            kind=FaultKind.REMINDER_UNDELIVERED,
            starts_on=today,
            customer_id=customer_id,
            reason="sms",
        )
    run_daily_close(session_factory, today)
    with unit_of_work(session_factory, read_only=True) as session:
        contracts = {c: session.get(Contract, c) for c in (contract_id, twin)}
        states = {c: contract_state(row) for c, row in contracts.items() if row is not None}
        refunds = session.scalars(
            select(LoanTransaction.amount).where(
                LoanTransaction.contract_id == contract_id, LoanTransaction.type == "waiver"
            )
        ).all()
    assert refunds == [450]
    assert sum(r.penalty_paid for r in states[contract_id].rows) == 4 * 450  # the window's day given back
    assert sum(r.penalty_paid for r in states[twin].rows) == 5 * 450
    status = "closed" if pays_off else "active"
    assert (states[contract_id].status.value, states[contract_id].suspense) == (status, 450)  # credit
    assert_invariants(session_factory)


def test_the_contracts_of_seventy_thousand_windows_are_found_in_bounded_lists(
    session_factory: sessionmaker[Session],
) -> None:
    """A day of missed autopay on a large book opens a window per contract due: the close's waiver
    narrowed its contracts with one IN list of them all, which PostgreSQL refuses past 65,535
    parameters. The candidates are read in bounded lists and are the same contracts."""
    owing = bullet(session_factory)[1]
    bullet(session_factory)  # overdue too, in no window
    for day in range(1, 8):  # past the grace days: penalty booked
        run_daily_close(session_factory, DUE + timedelta(days=day))
    on = DUE + timedelta(days=7)
    windows = [
        FaultWindow(f"flt_{n}", FaultKind.AUTOPAY_MISSED, DUE, None, customer_id=f"cus_NOBODY{n:06d}")
        for n in range(70_000)
    ]
    windows.append(FaultWindow("flt_mine", FaultKind.AUTOPAY_MISSED, DUE, None, contract_id=owing))
    with unit_of_work(session_factory, read_only=True) as session:
        found = [c.id for c in fault_candidates(session, windows, on)]
    assert found == [owing] and penalty(session_factory, owing) > 0
