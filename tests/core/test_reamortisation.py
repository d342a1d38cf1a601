"""Re-amortisation after a prepayment honours the contract's installment multiple.

A product that rounds its installments to whole yuan (``installment_multiple = 100``) signs a schedule
of whole-yuan installments; after a partial prepayment with ``reduce-installment`` the new plan is
rounded the same way (:func:`lendcore.core.allocation.recompute_plan`), so the customer is never asked
for ¥431.27 on a contract that promised round amounts. The last installment alone takes the residue.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lendcore.core.accrual import accrue
from lendcore.core.allocation import amount_due
from lendcore.core.contract import LoanState, LoanTerms, PrepaymentRecompute
from lendcore.core.errors import ConfigurationError
from lendcore.core.loan import Repayment
from lendcore.core.schedule import LevelPayment, Method, Rate, ScheduleTerms, build_schedule
from tests.core.loan_factory import assert_books_consistent, book_many, disbursed

START = date(2026, 1, 15)


def multiple_terms(
    principal: int,
    term: int,
    daily_rate: Decimal,
    multiple: int,
    method: Method = Method.EQUAL_INSTALLMENT,
    level_payment: LevelPayment = LevelPayment.EXACT,
) -> LoanTerms:
    schedule = build_schedule(
        ScheduleTerms(
            principal=principal,
            term=term,
            method=method,
            start_date=START,
            rate=Rate.daily(daily_rate),
            installment_multiple=multiple,
            level_payment=level_payment,
        )
    )
    return LoanTerms(
        contract_id="ln_m",
        customer_id="cus_1",
        product_code="premium",
        principal=principal,
        daily_rate=daily_rate,
        method=method,
        schedule=schedule.installments,
        prepayment_recompute=PrepaymentRecompute.REDUCE_INSTALLMENT,
        installment_multiple=multiple,
    )


def prepaid(terms: LoanTerms, on: date, principal: int) -> LoanState:
    """The contract after paying everything due on ``on`` plus ``principal`` fen of prepayment, with
    interest projected to maturity as if every later installment were paid on its due date."""
    book = disbursed(terms)
    due = amount_due(book.state, on)
    book = book_many(book, Repayment("prepay", on, 1, due + principal))
    assert book.state.principal_prepaid == principal
    assert_books_consistent(book)
    projected, _ = accrue(book.state, terms.maturity_date, penalty=False)
    return projected


def test_a_whole_yuan_contract_is_re_amortised_in_whole_yuan() -> None:
    """¥12,000 over 12 months at 0.05 %/day in whole yuan; ¥5,000 prepaid on the second due date."""
    terms = multiple_terms(1_200_000, 12, Decimal("0.0005"), 100)
    assert {r.total for r in terms.schedule[:-1]} == {110_100}
    on = terms.schedule[1].due_date
    state = prepaid(terms, on, 500_000)
    later = state.rows[2:]
    totals = [r.principal + r.interest_accrued for r in later]
    assert len(set(totals[:-1])) == 1 and totals[0] % 100 == 0  # one new whole-yuan installment
    assert totals[0] < 110_100
    assert sum(r.principal for r in state.rows) + state.principal_prepaid == terms.principal


@st.composite
def prepayments(draw: st.DrawFn) -> tuple[LoanTerms, date, int]:
    """A contract with an installment multiple small beside the principal repaid a period, and a
    prepayment on its start or a due date that leaves as much room for the periods left."""
    method = draw(st.sampled_from([Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL]))
    term = draw(st.integers(2, 24))
    multiple = draw(st.sampled_from([1, 10, 100, 1000]))
    principal = draw(st.integers(8 * multiple * term * term, 50_000_000))
    rate = draw(st.decimals(min_value=0, max_value=Decimal("0.001"), places=5))
    level = draw(st.sampled_from(list(LevelPayment)))
    terms = multiple_terms(principal, term, rate, multiple, method, level)
    paid_rows = draw(st.integers(0, term - 2))  # the prepayment falls on this row's due date (0: start)
    on = START if paid_rows == 0 else terms.schedule[paid_rows - 1].due_date
    remaining = principal if paid_rows == 0 else terms.schedule[paid_rows - 1].remaining_principal
    room = remaining - 2 * multiple * (term - paid_rows) ** 2
    assume(room >= 1)
    return terms, on, draw(st.integers(1, room))


@given(prepayments())
def test_property_a_re_amortised_plan_keeps_every_level_amount_but_the_last_a_multiple(
    case: tuple[LoanTerms, date, int],
) -> None:
    terms, on, principal = case
    state = prepaid(terms, on, principal)
    later = [r for r in state.rows if r.start_date >= on]
    assert sum(r.principal for r in state.rows) + state.principal_prepaid == terms.principal
    multiple = terms.installment_multiple
    for r in later[:-1]:
        level = r.principal + r.interest_accrued if terms.method is Method.EQUAL_INSTALLMENT else r.principal
        assert level % multiple == 0, (r, multiple)


def test_loan_terms_refuse_an_installment_multiple_below_one_fen() -> None:
    terms = multiple_terms(100_000, 3, Decimal("0.0005"), 1)
    with pytest.raises(ConfigurationError) as caught:
        LoanTerms(**{**{f: getattr(terms, f) for f in LoanTerms.__slots__}, "installment_multiple": 0})
    assert caught.value.code == "INVALID_LOAN_TERMS"
