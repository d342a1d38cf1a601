"""A contract as the customer, the operator and the CLI see it: terms, balances, delinquency, the
schedule as it stands, each installment's paid and remaining amounts, and its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.delinquency import bucket
from lendcore.core.errors import NotFoundError
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.core.schedule import Installment
from lendcore.servicing.aggregate_accrual import with_aggregate_share
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.repository import current_schedule
from lendcore.store.models import Contract, LoanTransaction


@dataclass(frozen=True, slots=True)
class Balances(JsonRecord):
    principal: Fen
    interest: Fen
    penalty: Fen
    fee: Fen
    unapplied: Fen  # customer credit held on the contract
    total: Fen


@dataclass(frozen=True, slots=True)
class InstallmentStatus(JsonRecord):
    """One installment: what it is owed, paid, waived and still owes."""

    period: int
    due_date: date
    principal: Fen
    principal_paid: Fen
    principal_outstanding: Fen
    interest_accrued: Fen
    interest_paid: Fen
    interest_outstanding: Fen
    penalty_outstanding: Fen
    fee_outstanding: Fen
    waived: Fen
    outstanding: Fen
    settled_on: date | None  # paid in full before its due date


@dataclass(frozen=True, slots=True)
class HistoryLine(JsonRecord):
    seq: int
    txn_id: str
    type: str
    amount: Fen
    value_date: date
    business_date: date
    reverses: str | None


@dataclass(frozen=True, slots=True)
class LoanView(JsonRecord):
    contract_id: str
    customer_id: str
    line_id: str
    product_code: str
    status: str
    principal: Fen
    method: str
    term: int
    daily_rate: Decimal
    start_date: date
    maturity_date: date | None
    as_of: date | None
    accrued_through: date
    balances: Balances
    days_past_due: int
    bucket: str
    classification: str | None
    schedule_version: int
    schedule: tuple[Installment, ...]
    installments: tuple[InstallmentStatus, ...]
    history: tuple[HistoryLine, ...]


def loan_view(session: Session, contract_id: str) -> LoanView:
    """The contract ``contract_id`` (``CONTRACT_NOT_FOUND``); balances as of the last close that
    accrued it (a quiet contract's snapshot is older: the days the aggregate holds are accrued on
    it here, so the view is the same whichever engine closed the book)."""
    c = session.get(Contract, contract_id)
    if c is None:
        raise NotFoundError(f"no contract {contract_id}", code="CONTRACT_NOT_FOUND")
    state = with_aggregate_share(session, c, contract_state(c))
    txns = session.scalars(
        select(LoanTransaction).where(LoanTransaction.contract_id == c.id).order_by(LoanTransaction.seq)
    ).all()
    schedule = tuple(
        Installment(
            r.period, r.start_date, r.due_date, r.days, r.principal, r.interest, r.fee, r.total,
            r.remaining_principal,
        )
        for r in current_schedule(session, c)
    )  # fmt: skip
    installments = tuple(
        InstallmentStatus(
            period=r.period,
            due_date=r.due_date,
            principal=r.principal,
            principal_paid=r.principal_paid,
            principal_outstanding=r.principal_outstanding,
            interest_accrued=r.interest_accrued,
            interest_paid=r.interest_paid,
            interest_outstanding=r.interest_outstanding,
            penalty_outstanding=r.penalty_outstanding,
            fee_outstanding=r.fee_outstanding,
            waived=r.interest_waived + r.penalty_waived + r.fee_waived,
            outstanding=r.outstanding,
            settled_on=r.settled_on,
        )
        for r in state.rows
    )
    return LoanView(
        contract_id=c.id,
        customer_id=c.customer_id,
        line_id=c.credit_line_id,
        product_code=c.product_code,
        status=c.status,
        principal=c.principal,
        method=c.method,
        term=c.term,
        daily_rate=state.terms.daily_rate,
        start_date=c.start_date,
        maturity_date=c.maturity_date,
        as_of=c.as_of if c.as_of is None else max(c.as_of, state.accrued_through),
        accrued_through=state.accrued_through,
        balances=Balances(
            state.principal_outstanding,
            state.interest_outstanding,
            state.penalty_outstanding,
            state.fee_outstanding,
            state.suspense,
            state.total_outstanding,
        ),
        days_past_due=c.days_past_due,
        bucket=bucket(c.days_past_due).value,
        classification=c.classification,
        schedule_version=c.schedule_version,
        schedule=schedule,
        installments=installments,
        history=tuple(
            HistoryLine(t.seq, t.id, t.type, t.amount, t.value_date, t.business_date, t.reverses_txn_id)
            for t in txns
        ),
    )
