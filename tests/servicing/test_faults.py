"""Inside a lender-fault window nobody in scope is charged penalty: the close waives what accrued in the
window (reason SYSTEM_FAULT, actor system, audited); penalty from before the window stays."""

from __future__ import annotations

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
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.faults import record_fault
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, Contract, LoanTransaction
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
