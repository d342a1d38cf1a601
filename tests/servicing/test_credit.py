"""Customer credit (unapplied funds) pays what falls due at the end-of-day close, before penalty.

Worked numbers (quick product, grade C: 0.03 %/day, penalty 1.5 × = 0.045 %/day, grace 3 days):

* contract A: ¥10,000 bullet drawn 2026-03-01; paid off 03-11 with ¥16,000. Payoff = 1,000,000 +
  10 days × 1,000,000 × 0.0003 = 1,003,000; the surplus 1,600,000 − 1,003,000 = 597,000 is unapplied
  (A closed, its suspense 597,000).
* contract B: ¥5,000 bullet drawn 03-11, due 04-11: interest 31 days × 500,000 × 0.0003 = 4,650,
  so 504,650 falls due on 04-11.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.servicing.credit import apply_customer_credit
from lendcore.store.audit import audit_trail
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, JournalEntry, LoanTransaction, UnappliedFunds
from tests.servicing.support import AMPLE_CREDIT, assert_invariants, do_draw, do_repay, open_line, snapshot

D_PAYOFF = date(2026, 3, 11)
B_DUE = date(2026, 4, 11)


def _credit_then_new_contract(factory: sessionmaker[Session], paid: int) -> tuple[str, str, str]:
    cid, line = open_line(factory)
    a = do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    r = do_repay(factory, cid, paid, D_PAYOFF, max_overpayment=AMPLE_CREDIT)
    assert r["unapplied"] == paid - 1_003_000
    b = do_draw(factory, line, 500_000, 1, on=D_PAYOFF, method="bullet")["contract_id"]
    return cid, a, b


def _contract(factory: sessionmaker[Session], contract_id: str) -> Contract:
    with unit_of_work(factory, read_only=True) as session:
        c = session.get(Contract, contract_id)
        assert c is not None
        session.expunge(c)
        return c


def _unapplied(factory: sessionmaker[Session], customer_id: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        row = session.get(UnappliedFunds, customer_id)
        return row.balance if row else 0


def test_credit_pays_a_new_due_date_and_the_customer_never_goes_overdue(
    session_factory: sessionmaker[Session],
) -> None:
    cid, a, b = _credit_then_new_contract(session_factory, 1_600_000)  # credit 597,000
    before_due = run_daily_close(session_factory, B_DUE - timedelta(days=1))
    assert before_due.credit_applied == 0  # nothing is due on 04-10: the credit stays put
    report = run_daily_close(session_factory, B_DUE)
    assert report.ok
    # 504,650 due on 04-11, taken from the credit held on (closed) contract A
    assert report.credit_applied == 504_650
    assert [(x["contract_id"], x["source_contract_id"], x["amount"]) for x in report.credit_applications] == [
        (b, a, 504_650)
    ]
    for day in range(1, 6):  # well past the 3 grace days
        assert run_daily_close(session_factory, B_DUE + timedelta(days=day)).ok
    cb = _contract(session_factory, b)
    assert (cb.status, cb.days_past_due, cb.penalty_receivable, cb.outstanding_principal) == (
        "closed",
        0,
        0,
        0,
    )
    assert _unapplied(session_factory, cid) == 597_000 - 504_650  # 92,350 still the customer's
    with unit_of_work(session_factory, read_only=True) as session:
        types = session.scalars(
            select(LoanTransaction.type)
            .where(LoanTransaction.contract_id.in_([a, b]))
            .order_by(LoanTransaction.seq)
        ).all()
        assert "credit-transfer" in types and "credit-application" in types
        # the application on B: Dr credit in transfer / Cr suspense, Dr suspense / Cr receivables
        txn = session.scalars(
            select(LoanTransaction).where(
                LoanTransaction.contract_id == b, LoanTransaction.type == "credit-application"
            )
        ).one()
        entry = session.scalars(select(JournalEntry).where(JournalEntry.source_txn_id == txn.id)).one()
        lines = {(p.account_code, p.debit, p.credit) for p in entry.postings}
        assert {
            ("2241.02", 504_650, 0),
            ("2241.01", 0, 504_650),
            ("2241.01", 504_650, 0),
            ("1303.01", 0, 500_000),
            ("1132.01", 0, 4_650),
        } <= lines
        trail = audit_trail(session, "customer", cid)
        assert [(t.action, t.details["applied"]) for t in trail] == [("customer.credit_applied", 504_650)]
    assert_invariants(session_factory)


def test_short_credit_pays_what_is_due_in_waterfall_order_then_penalty_runs_on_the_rest(
    session_factory: sessionmaker[Session],
) -> None:
    cid, _, b = _credit_then_new_contract(session_factory, 1_100_000)  # credit 97,000
    report = run_daily_close(session_factory, B_DUE)
    # interest first (4,650), then principal 97,000 − 4,650 = 92,350 → principal left 407,650
    assert report.credit_applied == 97_000
    cb = _contract(session_factory, b)
    assert (cb.interest_receivable, cb.outstanding_principal) == (0, 407_650)
    assert _unapplied(session_factory, cid) == 0
    for day in range(1, 5):
        assert run_daily_close(session_factory, B_DUE + timedelta(days=day)).ok
    # DPD 4 > grace 3: 4 days × 407,650 × 0.00045 = 733.77 → 734
    cb = _contract(session_factory, b)
    assert (cb.days_past_due, cb.penalty_receivable) == (4, 734)
    assert_invariants(session_factory)


def test_credit_applied_before_the_penalty_of_a_late_close(session_factory: sessionmaker[Session]) -> None:
    """The first close after the due date (04-13, DPD 2, within grace) applies the credit first: the
    row is settled within grace, so no penalty at all; interest is the same 4,650."""
    cid, _, b = _credit_then_new_contract(session_factory, 1_600_000)
    report = run_daily_close(session_factory, B_DUE + timedelta(days=2))
    assert report.credit_applied == 504_650
    cb = _contract(session_factory, b)
    assert (cb.status, cb.penalty_receivable, cb.days_past_due) == ("closed", 0, 0)
    assert _unapplied(session_factory, cid) == 92_350
    assert_invariants(session_factory)


def test_applying_credit_twice_on_a_date_books_nothing_more(session_factory: sessionmaker[Session]) -> None:
    cid, _, _ = _credit_then_new_contract(session_factory, 1_600_000)
    assert run_daily_close(session_factory, B_DUE).credit_applied == 504_650
    before = snapshot(session_factory)
    with unit_of_work(session_factory) as session:
        again: list[dict[str, Any]] = apply_customer_credit(session, cid, B_DUE)
    assert again == []
    assert snapshot(session_factory) == before
    assert run_daily_close(session_factory, B_DUE).status == "skipped"
    assert_invariants(session_factory)
