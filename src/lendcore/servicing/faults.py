"""Lender-fault windows in the database, and the penalty they waive.

:func:`record_fault` stores a window (``lender_faults``; kinds and scope: :mod:`lendcore.core.faults`),
audited. :func:`fault_windows` reads the windows covering a date as plain
:class:`~lendcore.core.faults.FaultWindow` values for the pure predicate
:func:`~lendcore.core.faults.in_lender_fault`.

:func:`waive_penalty_in_fault_windows` is the daily close's step after accrual: for every active
contract in a window on the business date, the penalty accrued since the window started and not yet
waived is waived through the ordinary :func:`~lendcore.servicing.waive.waive` use case (a ``Waiver``
with reason ``SYSTEM_FAULT``, actor ``system``, audited, idempotent per fault, contract and date), so
nobody is charged for our fault. Penalty accrued before the window stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.accrual import accrue
from lendcore.core.contract import LoanState, Status
from lendcore.core.faults import FaultKind, FaultWindow, in_lender_fault
from lendcore.core.loan import WaiverKind
from lendcore.core.money import Fen
from lendcore.servicing.business_day import open_business_date
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.common import check_text
from lendcore.servicing.repository import lock_contract, state_as_of
from lendcore.servicing.waive import WaiveRequest, waive
from lendcore.store.audit import record_audit
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from lendcore.store.models_payments import LenderFault
from lendcore.store.types import utc_now

SYSTEM_FAULT: Final = "SYSTEM_FAULT"
SYSTEM_ACTOR: Final = "system"


def record_fault(
    session: Session,
    *,
    kind: FaultKind,
    starts_on: date,
    reason: str,
    ends_on: date | None = None,
    contract_id: str | None = None,
    customer_id: str | None = None,
    payment_id: str | None = None,
    actor: str = SYSTEM_ACTOR,
    now: datetime | None = None,
) -> FaultWindow:
    """Store a fault window (checked: ``FAULT_WINDOW_INVALID``, ``REASON_REQUIRED``), audited."""
    why = check_text(reason, "REASON_REQUIRED", "a reason")
    window = FaultWindow("", FaultKind(kind), starts_on, ends_on, contract_id, customer_id)
    row = LenderFault(
        kind=window.kind.value,
        starts_on=starts_on,
        ends_on=ends_on,
        contract_id=contract_id,
        customer_id=customer_id,
        reason=why,
        actor=actor,
        payment_id=payment_id,
        raised_at=now or utc_now(),
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="fault.record",
        target_type="lender_fault",
        target_id=row.id,
        details={"kind": row.kind, "starts_on": starts_on.isoformat(), "contract_id": contract_id},
        reason=why,
    )
    return _window(row)


def _window(row: LenderFault) -> FaultWindow:
    return FaultWindow(
        row.id, FaultKind(row.kind), row.starts_on, row.ends_on, row.contract_id, row.customer_id
    )


def fault_windows(session: Session, on: date) -> list[FaultWindow]:
    """The windows covering ``on``."""
    stmt = select(LenderFault).where(
        LenderFault.starts_on <= on, or_(LenderFault.ends_on.is_(None), LenderFault.ends_on >= on)
    )
    return [_window(row) for row in session.scalars(stmt.order_by(LenderFault.starts_on, LenderFault.id))]


def _penalty(state: LoanState) -> tuple[Fen, Fen]:
    return sum(r.penalty_accrued for r in state.rows), sum(r.penalty_waived for r in state.rows)


def penalty_to_waive(
    session: Session, contract: Contract, window: FaultWindow, now: LoanState | None = None
) -> Fen:
    """Penalty accrued on ``contract`` since ``window`` started, less what was waived since, bounded by
    what is outstanding (in ``now``: the contract's state unless given)."""
    now = contract_state(contract) if now is None else now
    before = state_as_of(session, contract, window.starts_on - timedelta(days=1))
    (accrued, waived), (accrued_before, waived_before) = _penalty(now), _penalty(before)
    outstanding = sum(r.penalty_outstanding for r in now.rows)
    return max(0, min(outstanding, (accrued - accrued_before) - (waived - waived_before)))


def _candidates(session: Session, windows: list[FaultWindow], on: date) -> list[Contract]:
    stmt = select(Contract).where(
        Contract.status == Status.ACTIVE.value, Contract.start_date <= on, Contract.penalty_receivable > 0
    )
    if all(w.contract_id or w.customer_id for w in windows):  # no window for everyone: narrow down
        ids = [w.contract_id for w in windows if w.contract_id]
        customers = [w.customer_id for w in windows if w.customer_id and not w.contract_id]
        stmt = stmt.where(or_(Contract.id.in_(ids), Contract.customer_id.in_(customers)))
    return list(session.scalars(stmt.order_by(Contract.id)))


def waive_fault_penalty_before_payment(session: Session, contracts: Iterable[Contract], on: date) -> int:
    """Waive, before a payment value-dated ``on`` is planned, the penalty of every lender-fault window
    covering ``on`` on ``contracts`` — the day's own penalty included, which the payment's accrual
    would add and collect before the close could waive it (the simulation found customers paying
    penalty for an outage day). Only for a payment on the open business date: a backdated one is
    replayed after that day's close, whose waiver comes first. How many contracts had penalty waived."""
    if on != open_business_date(session):
        return 0
    windows = fault_windows(session, on)
    if not windows:
        return 0
    waived = 0
    for contract in contracts:
        window = in_lender_fault(windows, contract_id=contract.id, customer_id=contract.customer_id, on=on)
        if window is None or contract.status != Status.ACTIVE.value or contract.start_date >= on:
            continue
        accrued, _ = accrue(contract_state(contract), on)
        amount = penalty_to_waive(session, contract, window, accrued)
        if amount > 0:
            waive(session, _system_waiver(contract, window, on, amount, f":before-payment:{amount}"))
            waived += 1
    return waived


# ``when``: "" for the close's waiver, ":before-payment:<amount>" for one ahead of a payment
def _system_waiver(contract: Contract, window: FaultWindow, on: date, amount: Fen, when: str) -> WaiveRequest:
    return WaiveRequest(
        contract_id=contract.id,
        kind=WaiverKind.PENALTY,
        reason=f"{SYSTEM_FAULT}: {window.kind.value} {window.fault_id}",
        actor=SYSTEM_ACTOR,
        business_date=on,
        idempotency_key=f"fault:{window.fault_id}:{contract.id}:{on.isoformat()}{when}",
        amount=amount,
        at_most=True,  # a late payment value-dated before it may pay what it waives
    )


def waive_penalty_in_fault_windows(factory: sessionmaker[Session], business_date: date) -> int:
    """Waive penalty inside the fault windows covering ``business_date`` (see the module docstring);
    how many contracts had penalty waived. One transaction per contract."""
    with unit_of_work(factory, read_only=True) as session:
        windows = fault_windows(session, business_date)
        if not windows:
            return 0
        ids = [c.id for c in _candidates(session, windows, business_date)]
    waived = 0
    for contract_id in ids:
        with unit_of_work(factory) as session:
            contract = lock_contract(session, contract_id)
            window = in_lender_fault(
                windows, contract_id=contract.id, customer_id=contract.customer_id, on=business_date
            )
            amount = penalty_to_waive(session, contract, window) if window else 0
            if window is None or amount <= 0:
                continue
            waive(session, _system_waiver(contract, window, business_date, amount, ""))
            waived += 1
    return waived
