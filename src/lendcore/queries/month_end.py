"""The month-end portfolio by five-level class (贷款五级分类): what the book held at a month end.

For the last month end on or before ``as_of``, every contract active at the close of that day (its
book replayed, the state after the last transaction value-dated on or before it, as
:mod:`lendcore.queries.performance` does) is classified by :func:`lendcore.core.delinquency.assess`
of its days past due then — the classification the contract row and the bureau use. Written-off
contracts are off the balance sheet and closed ones owe nothing: neither is counted. Every class is
listed, in increasing severity, zero rows included, so the five rows always sum to the book.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.bureau_status import overdue_amount, state_at_close
from lendcore.core.calendar import month_end
from lendcore.core.contract import Status
from lendcore.core.delinquency import LoanClass, assess
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.servicing.repository import load_book
from lendcore.store.models import Contract


@dataclass(frozen=True, slots=True)
class ClassShare(JsonRecord):
    month_end: date
    loan_class: LoanClass
    contracts: int
    principal_outstanding: Fen
    overdue: Fen  # owed on installments past due at the month end (all components)
    restructured_contracts: int  # of them, restructured by a hardship plan


def last_month_end(as_of: date) -> date:
    """``as_of`` if it is a month end, else the end of the month before."""
    return as_of if month_end(as_of) == as_of else as_of.replace(day=1) - timedelta(days=1)


def month_end_portfolio(session: Session, *, as_of: date) -> tuple[ClassShare, ...]:
    """The five classes at the last month end on or before ``as_of`` (module docstring)."""
    end = last_month_end(as_of)
    contracts = session.scalars(
        select(Contract).where(Contract.start_date <= end, Contract.status != "pending").order_by(Contract.id)
    )
    count: Counter[LoanClass] = Counter()
    principal: Counter[LoanClass] = Counter()
    overdue: Counter[LoanClass] = Counter()
    restructured: Counter[LoanClass] = Counter()
    for contract in contracts:
        history = [(a.txn.value_date, a.state) for a in load_book(session, contract).applied]
        state = state_at_close(history, end)
        if state is None or state.status is not Status.ACTIVE:
            continue
        cls = assess(state, end).loan_class
        count[cls] += 1
        principal[cls] += state.principal_outstanding
        overdue[cls] += overdue_amount(state, end)
        restructured[cls] += 1 if state.restructures else 0
    return tuple(
        ClassShare(end, cls, count[cls], principal[cls], overdue[cls], restructured[cls]) for cls in LoanClass
    )
