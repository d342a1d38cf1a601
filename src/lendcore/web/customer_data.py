"""What the customer pages show, read from the database (the API's read models, summarised)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.money import Fen
from lendcore.queries.loans import LoanView, loan_view
from lendcore.servicing.lines import available_limit
from lendcore.store.models import Contract, CreditLine


@dataclass(frozen=True, slots=True)
class Bill:
    """The next installment due across the customer's open contracts: its due date and what it
    still asks for (its scheduled principal, interest and fee less what was paid, plus penalty)."""

    due_date: date
    amount: Fen


@dataclass(frozen=True, slots=True)
class Overdue:
    penalty: Fen
    dpd: int


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    credit_limit: Fen | None  # None: no active credit line
    available: Fen
    contracts: tuple[LoanView, ...]
    next_due: Bill | None
    overdue: Overdue | None


def active_line(session: Session, customer_id: str) -> CreditLine | None:
    return session.scalars(
        select(CreditLine)
        .where(CreditLine.customer_id == customer_id, CreditLine.status == "active")
        .order_by(CreditLine.opened_on.desc(), CreditLine.id)
        .limit(1)
    ).first()


def customer_loans(session: Session, customer_id: str) -> tuple[LoanView, ...]:
    ids = session.scalars(
        select(Contract.id)
        .where(Contract.customer_id == customer_id)
        .order_by(Contract.start_date, Contract.id)
    ).all()
    return tuple(loan_view(session, contract_id) for contract_id in ids)


def next_bill(loans: tuple[LoanView, ...]) -> Bill | None:
    owed: dict[date, Fen] = {}
    for loan in loans:
        if loan.status != "active":
            continue
        scheduled = {i.period: i for i in loan.schedule}
        for i in loan.installments:
            if i.outstanding <= 0 and i.principal_outstanding <= 0:
                continue
            row = scheduled[i.period]
            due = max(
                row.principal + row.interest + row.fee - i.principal_paid - i.interest_paid - i.waived, 0
            )
            owed[i.due_date] = owed.get(i.due_date, 0) + due + i.penalty_outstanding
            break  # the first unpaid installment of each contract is its current bill
    if not owed:
        return None
    first = min(owed)
    return Bill(first, owed[first])


def summary(session: Session, customer_id: str) -> CustomerSummary:
    line = active_line(session, customer_id)
    loans = customer_loans(session, customer_id)
    late = [loan for loan in loans if loan.status == "active" and loan.days_past_due > 0]
    overdue = (
        Overdue(sum(loan.balances.penalty for loan in late), max(loan.days_past_due for loan in late))
        if late
        else None
    )
    return CustomerSummary(
        credit_limit=line.credit_limit if line is not None else None,
        available=available_limit(session, line.id) if line is not None else 0,
        contracts=loans,
        next_due=next_bill(loans),
        overdue=overdue,
    )
