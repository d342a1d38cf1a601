"""Small builders for servicing-core tests (contract terms, books, ledger checks)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lendcore.core.book import LoanBook, open_book
from lendcore.core.contract import LoanState, LoanTerms
from lendcore.core.ledger import check_subledger, entries_postings, trial_balance
from lendcore.core.loan import Disbursement, Transaction, replay
from lendcore.core.schedule import Installment, Method, Rate, ScheduleTerms, build_schedule

D5 = Decimal("0.0005")  # 0.05 % a day (万分之五)


def installment_terms(
    principal: int = 1_200_000,
    term: int = 12,
    method: Method = Method.EQUAL_INSTALLMENT,
    start: date = date(2026, 1, 15),
    daily_rate: Decimal = D5,
    contract_id: str = "ln_inst",
    customer_id: str = "cus_1",
    **overrides: object,
) -> LoanTerms:
    schedule = build_schedule(
        ScheduleTerms(
            principal=principal, term=term, method=method, start_date=start, rate=Rate.daily(daily_rate)
        )
    )
    return LoanTerms(
        contract_id=contract_id,
        customer_id=customer_id,
        product_code="premium",
        principal=principal,
        daily_rate=daily_rate,
        method=method,
        schedule=schedule.installments,
        **overrides,  # type: ignore[arg-type]
    )


def revolving_terms(
    principal: int = 1_000_000,
    start: date = date(2026, 1, 1),
    maturity: date = date(2026, 4, 1),
    daily_rate: Decimal = D5,
    contract_id: str = "ln_quick",
    customer_id: str = "cus_1",
    **overrides: object,
) -> LoanTerms:
    """A quick-loan drawdown (随借随还): one row from disbursement to maturity."""
    days = (maturity - start).days
    interest = int((Decimal(principal) * daily_rate * days).to_integral_value())
    row = Installment(1, start, maturity, days, principal, interest, 0, principal + interest, 0)
    return LoanTerms(
        contract_id=contract_id,
        customer_id=customer_id,
        product_code="quick",
        principal=principal,
        daily_rate=daily_rate,
        method=Method.BULLET,
        schedule=(row,),
        revolving=True,
        **overrides,  # type: ignore[arg-type]
    )


def disbursed(terms: LoanTerms) -> LoanBook:
    book, _ = open_book(terms).book(Disbursement("t_disb", terms.start_date, 0, terms.principal))
    return book


def book_many(book: LoanBook, *txns: Transaction) -> LoanBook:
    for t in txns:
        book, _ = book.book(t)
    return book


def assert_books_consistent(*books: LoanBook) -> None:
    """Invariants 1, 2, 4, 5 over one or more contracts' books."""
    postings = [p for b in books for p in entries_postings(b.journal)]
    assert trial_balance(postings).balanced
    check_subledger({b.terms.contract_id: b.state.subledger() for b in books}, postings)
    for b in books:
        s = b.state
        assert s.cash_in == s.allocated + s.suspense
        assert replay(b.terms, b.transactions) == s
        assert_no_negative(s)


def assert_no_negative(s: LoanState) -> None:
    for r in s.rows:
        for value in (
            r.principal,
            r.principal_outstanding,
            r.interest_outstanding,
            r.fee_outstanding,
            r.penalty_outstanding,
            r.principal_paid,
            r.interest_paid,
            r.penalty_paid,
            r.fee_paid,
        ):
            assert value >= 0, r
    assert s.suspense >= 0
