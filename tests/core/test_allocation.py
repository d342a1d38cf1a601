"""Repayment allocation: waterfalls, prepayment with recomputation and fees, payoff quotes, customers.

Hand-checked scenario used below: 等额本息 ¥12,000, 12 periods at 0.05 %/day from 2026-01-15, nothing
paid, looked at on 2026-03-20:
- row 1 (due Feb 15): principal 91,515, interest 18,600, penalty 91,515 × 33 days × 0.000157534…
  = 475.76 → 476
- row 2 (due Mar 15): principal 94,596, interest 15,519, penalty 94,596 × 5 × 0.000157534… = 74.51 → 75
- row 3 (current, Mar 15 → Apr 15): interest so far 1,013,889 × 0.0005 × 5 = 2,534.72 → 2,535
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.accrual import accrue
from lendcore.core.allocation import (
    WATERFALLS,
    Bucket,
    CustomerMode,
    allocate,
    allocate_customer,
    current_bill,
    max_prepayable,
    payoff_quote,
)
from lendcore.core.contract import LoanState, PrepaymentFee, PrepaymentRecompute, ProductClass, Status
from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.loan import Repayment
from lendcore.core.schedule import Method
from tests.core.loan_factory import (
    assert_books_consistent,
    book_many,
    disbursed,
    installment_terms,
    revolving_terms,
)

ON = date(2026, 3, 20)


def _overdue_state() -> LoanState:
    return accrue(disbursed(installment_terms()).state, ON)[0]


def _lines(state: LoanState, amount: int, waterfall: str) -> list[tuple[int, str, int]]:
    return [(ln.period, ln.component.value, ln.amount) for ln in allocate(state, amount, ON, waterfall).lines]


def test_default_waterfall_clears_the_oldest_installment_first() -> None:
    # 150,000 = row 1 (476 + 18,600 + 91,515 = 110,591) + row 2 penalty 75, interest 15,519, principal 23,815
    assert _lines(_overdue_state(), 150_000, "penalty-fee-interest-principal") == [
        (1, "penalty", 476),
        (1, "interest", 18_600),
        (1, "principal", 91_515),
        (2, "penalty", 75),
        (2, "interest", 15_519),
        (2, "principal", 23_815),
    ]


def test_due_before_advance_pays_each_component_across_all_due_installments() -> None:
    assert _lines(_overdue_state(), 150_000, "due-before-advance") == [
        (1, "penalty", 476),
        (2, "penalty", 75),
        (1, "interest", 18_600),
        (2, "interest", 15_519),
        (1, "principal", 91_515),
        (2, "principal", 23_815),
    ]


def test_principal_first_pays_principal_before_anything_else() -> None:
    assert _lines(_overdue_state(), 150_000, "principal-first") == [
        (1, "principal", 91_515),
        (2, "principal", 58_485),
    ]


def test_after_everything_due_comes_the_current_installment_in_full_then_prepayment() -> None:
    state = _overdue_state()
    due = 110_591 + 75 + 15_519 + 94_596  # rows 1 and 2 in full = 220,781
    # row 3 (current, Mar 15 → Apr 15) settles with its interest so far and its whole principal
    alloc = allocate(state, due + 2_535 + 94_400 + 1_000, ON)
    assert [(ln.period, ln.component.value, ln.amount, ln.bucket) for ln in alloc.lines[-3:]] == [
        (3, "interest", 2_535, Bucket.CURRENT),
        (3, "principal", 94_400, Bucket.CURRENT),
        (4, "principal", 1_000, Bucket.ADVANCE),  # only money beyond the current bill is prepaid
    ]
    assert alloc.settled == (3,)
    assert (alloc.prepaid_principal, alloc.unapplied) == (1_000, 0)
    everything = payoff_quote(state, ON).total
    assert allocate(state, everything + 1, ON).unapplied == 1


def test_part_of_the_current_installment_paid_early_is_not_a_prepayment() -> None:
    state = _overdue_state()
    due = 220_781
    alloc = allocate(state, due + 2_535 + 1_000, ON)
    assert [(ln.period, ln.component.value, ln.amount, ln.bucket) for ln in alloc.lines[-2:]] == [
        (3, "interest", 2_535, Bucket.CURRENT),
        (3, "principal", 1_000, Bucket.CURRENT),  # row 3 owes 1,000 less on its due date
    ]
    assert (alloc.settled, alloc.prepaid_principal, alloc.prepayment_fee) == ((), 0, 0)


def test_prepay_first_prepays_after_the_current_interest_and_leaves_the_installment_due() -> None:
    state = _overdue_state()
    alloc = allocate(state, 220_781 + 2_535 + 1_000, ON, "prepay-first")
    assert [(ln.period, ln.component.value, ln.amount, ln.bucket) for ln in alloc.lines[-2:]] == [
        (3, "interest", 2_535, Bucket.ADVANCE),
        (3, "principal", 1_000, Bucket.ADVANCE),
    ]
    assert (alloc.settled, alloc.prepaid_principal) == ((), 1_000)


def test_unknown_waterfall_and_non_positive_amounts_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        allocate(_overdue_state(), 100, ON, "interest-last")
    assert caught.value.code == "UNKNOWN_WATERFALL"
    with pytest.raises(ValidationError) as zero:
        allocate(_overdue_state(), 0, ON)
    assert zero.value.code == "AMOUNT_NOT_POSITIVE"
    assert set(WATERFALLS) == {
        "penalty-fee-interest-principal",
        "due-before-advance",
        "principal-first",
        "prepay-first",
    }


def test_max_prepayable_leaves_room_for_the_fee() -> None:
    terms = installment_terms(prepayment_fee=PrepaymentFee.percent("0.02"))
    # p + round(2 % p) ≤ 10,200 → p = 10,000 (fee 200); one fen more would need 10,001 + 200 = 10,201
    assert max_prepayable(terms, 10_200, 1_000_000) == (10_000, 200)
    assert max_prepayable(terms, 10_200, 5_000) == (5_000, 100)  # capped by the principal left
    quick = revolving_terms(prepayment_fee=PrepaymentFee.percent("0.02"))
    assert max_prepayable(quick, 10_200, 1_000_000) == (10_200, 0)  # never a fee on quick loans


@pytest.mark.parametrize(
    ("method", "rule", "expected_first_rows"),
    [
        # ¥6,000 prepaid on the disbursement day: reduce-installment halves every row (91,515 → 45,758)
        (Method.EQUAL_INSTALLMENT, PrepaymentRecompute.REDUCE_INSTALLMENT, [45_758, 47_299, 47_200]),
        # reduce-term keeps the 110,115 installment: row 1 = 110,115 − 600,000 × 0.0005 × 31 = 100,815
        (Method.EQUAL_INSTALLMENT, PrepaymentRecompute.REDUCE_TERM, [100_815, 103_126, 103_976]),
        (Method.EQUAL_PRINCIPAL, PrepaymentRecompute.REDUCE_INSTALLMENT, [50_000, 50_000, 50_000]),
        (Method.EQUAL_PRINCIPAL, PrepaymentRecompute.REDUCE_TERM, [100_000, 100_000, 100_000]),
    ],
)
def test_prepayment_recomputes_the_schedule_by_the_contract_rule(
    method: Method, rule: PrepaymentRecompute, expected_first_rows: list[int]
) -> None:
    """The re-plan rule alone: ``prepay-first`` prepays all 6,000 (no current installment settled)."""
    terms = installment_terms(method=method, prepayment_recompute=rule)
    prepay = Repayment("r", terms.start_date, 1, 600_000, waterfall="prepay-first")
    book = book_many(disbursed(terms), prepay)
    principals = [r.principal for r in book.state.rows]
    assert principals[:3] == expected_first_rows
    assert sum(principals) == 600_000
    assert [r.due_date for r in book.state.rows] == [r.due_date for r in terms.schedule]
    if rule is PrepaymentRecompute.REDUCE_TERM:
        assert principals[6:] == [0] * 6  # half the principal left: the last six periods fall away
    assert_books_consistent(book)


@given(
    st.sampled_from([Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.INTEREST_ONLY]),
    st.integers(0, 420),
    st.booleans(),
    st.integers(0, 3),
)
def test_paying_the_payoff_quote_settles_exactly(method: Method, offset: int, fee: bool, grace: int) -> None:
    terms = installment_terms(
        method=method,
        term=6,
        grace_days=grace,
        prepayment_fee=PrepaymentFee.percent("0.01") if fee else PrepaymentFee.none(),
        penalty_on_interest=fee,
    )
    on = terms.start_date + timedelta(days=offset)
    book = disbursed(terms)
    quote = payoff_quote(book.state, on)
    book = book_many(book, Repayment("payoff", on, 1, quote.total))
    assert book.state.status is Status.CLOSED
    assert book.state.suspense == 0
    assert_books_consistent(book)


def test_payoff_quote_itemises_interest_penalty_and_fee() -> None:
    quote = payoff_quote(disbursed(installment_terms()).state, ON)
    assert (quote.principal, quote.interest, quote.penalty, quote.prepayment_fee) == (
        1_200_000,
        18_600 + 15_519 + 2_535,
        476 + 75,
        0,
    )
    assert quote.total == 1_200_000 + 36_654 + 551


# -- across a customer's contracts -----------------------------------------------------------------


def _customer() -> tuple[LoanState, LoanState]:
    inst = disbursed(installment_terms(contract_id="ln_inst", start=date(2026, 1, 1))).state
    quick = disbursed(revolving_terms(contract_id="ln_quick", start=date(2026, 1, 10))).state
    return inst, quick


def test_by_amount_pays_what_is_due_then_the_current_bills_soonest_first_then_cash_loans() -> None:
    inst, quick = _customer()
    on = date(2026, 1, 20)
    # Jan 20, nothing due. Current bills: ln_inst row 1 (due Feb 1): 19 days × 600 = 11,400 interest +
    # 91,515 principal = 102,915; the quick loan (one row, due Apr 1): 1,000,000 + 10 × 500 = 1,005,000.
    split = allocate_customer([inst, quick], 102_915 + 1_000, on)
    assert split.shares == (("ln_inst", 102_915), ("ln_quick", 1_000))  # booking order: oldest first
    # On Feb 2 installment 1 of ln_inst (due Feb 1) is due: it comes first; the next 100 fen go to
    # ln_inst's current installment 2 (due Mar 1), sooner due than the quick loan's bill (Apr 1).
    on = date(2026, 2, 2)
    due = accrue(inst, on)[0].rows[0].outstanding
    split = allocate_customer([inst, quick], due + 100, on)
    assert split.shares == (("ln_inst", due + 100),)
    # Beyond every current bill, cash loans are settled oldest first (both are cash loans here).
    bills = current_bill(inst, on) + current_bill(quick, on)
    split = allocate_customer([inst, quick], bills + 700, on)
    assert split.shares == (("ln_inst", current_bill(inst, on) + 700), ("ln_quick", current_bill(quick, on)))


def test_cash_loans_are_repaid_before_purchase_installments_whatever_their_age() -> None:
    """Product spec §4: with nothing due, a surplus pays cash-loan contracts (quick, premium,
    small-business) before purchase-installment (POS) contracts, then oldest first."""
    pos = disbursed(
        installment_terms(
            contract_id="ln_pos", start=date(2026, 1, 1), product_class=ProductClass.PURCHASE_INSTALLMENT
        )
    ).state
    premium = disbursed(installment_terms(contract_id="ln_premium", start=date(2026, 1, 5))).state
    on = date(2026, 1, 20)
    bills = current_bill(pos, on) + current_bill(premium, on)
    split = allocate_customer([pos, premium], bills + 50_000, on)
    assert dict(split.shares) == {
        "ln_premium": current_bill(premium, on) + 50_000,  # the newer cash loan takes the surplus
        "ln_pos": current_bill(pos, on),
    }
    assert [cid for cid, _ in split.shares] == ["ln_premium", "ln_pos"]
    # the customer's own order overrides the classes
    chosen = allocate_customer([pos, premium], 1_000, on, CustomerMode.BY_CONTRACT, ["ln_pos"])
    assert chosen.shares == (("ln_pos", 1_000),)


def test_the_customer_may_choose_the_order_and_by_contract_settles_the_chosen_ones() -> None:
    inst, quick = _customer()
    on = date(2026, 1, 20)
    inst_payoff = payoff_quote(inst, on).total
    split = allocate_customer([inst, quick], inst_payoff + 7, on, CustomerMode.BY_CONTRACT, ["ln_inst"])
    assert split.shares == (("ln_inst", inst_payoff + 7),)  # the extra 7 fen will sit in its suspense
    with pytest.raises(ValidationError) as caught:
        allocate_customer([inst, quick], 100, on, CustomerMode.BY_CONTRACT)
    assert caught.value.code == "CONTRACTS_REQUIRED"
    with pytest.raises(BusinessRuleError) as unknown:
        allocate_customer([inst, quick], 100, on, CustomerMode.BY_CONTRACT, ["ln_other"])
    assert unknown.value.code == "CONTRACT_NOT_OPEN"


def test_pay_off_everything_needs_the_whole_quote_and_leaves_every_contract_closed() -> None:
    inst, quick = _customer()
    on = date(2026, 3, 5)
    needed = sum(q.total for q in (payoff_quote(inst, on), payoff_quote(quick, on)))
    with pytest.raises(BusinessRuleError) as caught:
        allocate_customer([inst, quick], needed - 1, on, CustomerMode.PAY_OFF_ALL)
    assert caught.value.code == "INSUFFICIENT_FOR_PAYOFF"
    split = allocate_customer([inst, quick], needed, on, CustomerMode.PAY_OFF_ALL)
    assert sum(amount for _, amount in split.shares) == needed
    from lendcore.core.loan import apply

    for state in (inst, quick):
        share = dict(split.shares)[state.terms.contract_id]
        after = apply(state, Repayment("r", on, 9, share)).state
        assert after.status is Status.CLOSED and after.suspense == 0


def test_a_customer_without_open_contracts_has_nothing_to_pay() -> None:
    with pytest.raises(BusinessRuleError) as caught:
        allocate_customer([], 100, ON)
    assert caught.value.code == "NOTHING_TO_PAY"
