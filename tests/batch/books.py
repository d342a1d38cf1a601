"""A small book for close tests: overdue contracts, a customer whose credit pays a due date, on
2026-04-11 (the date the tests close)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.report import CloseReport
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, LoanTransaction
from tests.servicing.support import AMPLE_CREDIT, D0, do_draw, do_repay, open_line

CLOSE_ON = date(2026, 4, 11)


def build_book(factory: sessionmaker[Session], overdue: int = 6) -> None:
    """``overdue`` ¥1,000+ bullets drawn 2026-03-01 (due 04-01: 10 days late on 04-11) and one customer
    who overpaid a loan on 03-11 (credit 597,000) and owes 504,650 on 04-11 on another."""
    cid, line = open_line(factory)
    do_draw(factory, line, 1_000_000, 1, method="bullet")
    do_repay(factory, cid, 1_600_000, date(2026, 3, 11), max_overpayment=AMPLE_CREDIT)  # credit on purpose
    do_draw(factory, line, 500_000, 1, on=date(2026, 3, 11), method="bullet")
    for i in range(overdue):
        _, other = open_line(factory)
        do_draw(factory, other, 100_000 + 10_000 * i, 1, on=D0, method="bullet")


def accruals_per_contract(factory: sessionmaker[Session], on: date) -> dict[str, int]:
    """Active contracts started by ``on`` → how many daily accruals each has for ``on``."""
    with unit_of_work(factory, read_only=True) as session:
        active = session.scalars(
            select(Contract.id).where(Contract.status == "active", Contract.start_date <= on)
        ).all()
        counts = dict(
            session.execute(
                select(LoanTransaction.contract_id, func.count())
                .where(LoanTransaction.type == "penalty-accrual", LoanTransaction.value_date == on)
                .group_by(LoanTransaction.contract_id)
            ).all()
        )
    return {c: int(counts.get(c, 0)) for c in active} | {c: int(n) for c, n in counts.items()}


def comparable(report: CloseReport) -> dict[str, Any]:
    """A report's totals without the ids (two databases hold the same book under different ids)."""
    totals = report.totals()
    totals["credit_applications"] = sorted(a["amount"] for a in totals["credit_applications"])
    return totals
