"""A contract is a fold over its transactions; every step books balanced postings; replay = state.

Scenarios are hand-checked (arithmetic in comments). Property tests drive random transaction
sequences, backdated ones and reversals included, through LoanBook and check DESIGN.md invariants
1, 2, 4 and 5 plus non-negative balances after every booking.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.book import LoanBook, open_book
from lendcore.core.contract import LoanState, Status
from lendcore.core.errors import BusinessRuleError, LendcoreError, NotFoundError, ValidationError
from lendcore.core.ledger import Account, Side, entries_postings, trial_balance
from lendcore.core.loan import (
    Disbursement,
    Fee,
    InterestAccrual,
    PenaltyAccrual,
    Recovery,
    Repayment,
    Reversal,
    Transaction,
    Waiver,
    WaiverKind,
    WriteOff,
    apply,
    replay,
    replay_postings,
)
from lendcore.core.schedule import Method
from tests.core.loan_factory import (
    assert_books_consistent,
    book_many,
    disbursed,
    installment_terms,
    revolving_terms,
)


def _lines(postings: tuple[object, ...]) -> set[tuple[Account, Side, int]]:
    return {(p.account, p.side, p.amount) for p in postings}  # type: ignore[attr-defined]


# -- single steps ---------------------------------------------------------------------------------


def test_disbursement_moves_cash_into_loans_receivable() -> None:
    terms = revolving_terms(1_000_000)
    outcome = apply(LoanState.new(terms), Disbursement("d", terms.start_date, 1, 1_000_000))
    state, postings = outcome.state, outcome.postings
    assert state.status is Status.ACTIVE
    assert state.principal_outstanding == 1_000_000
    assert _lines(postings) == {
        (Account.LOAN_PRINCIPAL, Side.DEBIT, 1_000_000),
        (Account.CASH, Side.CREDIT, 1_000_000),
    }


@pytest.mark.parametrize(
    ("txn", "code"),
    [
        (Disbursement("d", date(2026, 1, 1), 1, 999), "DISBURSEMENT_AMOUNT_MISMATCH"),
        (Disbursement("d", date(2026, 1, 2), 1, 1_000_000), "DISBURSEMENT_DATE_MISMATCH"),
        (Disbursement("d", date(2026, 1, 1), 1, 0), "AMOUNT_NOT_POSITIVE"),
        (Repayment("r", date(2026, 1, 5), 1, 100), "CONTRACT_NOT_DISBURSED"),
    ],
)
def test_bad_first_transactions_are_refused_with_stable_codes(txn: Transaction, code: str) -> None:
    with pytest.raises(LendcoreError) as caught:
        apply(LoanState.new(revolving_terms(1_000_000)), txn)
    assert caught.value.code == code


def test_repayment_books_accrued_interest_then_allocates_it() -> None:
    # ¥10,000 on Jan 1, repay ¥100 on Jan 11: 10 days' interest = 1,000,000 × 0.0005 × 10 = 5,000 fen
    # is accrued (Dr interest receivable / Cr income) and the ¥100 pays ¥50 interest and ¥50 principal.
    book = disbursed(revolving_terms(1_000_000))
    outcome = apply(book.state, Repayment("r", date(2026, 1, 11), 1, 10_000))
    state, postings = outcome.state, outcome.postings
    assert _lines(postings) == {
        (Account.INTEREST_RECEIVABLE, Side.DEBIT, 5_000),
        (Account.INTEREST_INCOME, Side.CREDIT, 5_000),
        (Account.CASH, Side.DEBIT, 10_000),
        (Account.INTEREST_RECEIVABLE, Side.CREDIT, 5_000),
        (Account.LOAN_PRINCIPAL, Side.CREDIT, 5_000),
    }
    assert state.principal_outstanding == 995_000
    assert state.interest_outstanding == 0


def test_a_transaction_dated_before_the_state_must_go_through_the_book() -> None:
    book = book_many(disbursed(revolving_terms()), Repayment("r1", date(2026, 1, 20), 1, 10_000))
    with pytest.raises(BusinessRuleError) as caught:
        apply(book.state, Repayment("r2", date(2026, 1, 10), 2, 10_000))
    assert caught.value.code == "BACKDATED"


def test_paying_off_closes_the_contract_and_a_surplus_becomes_a_customer_credit() -> None:
    # Jan 1 → Jan 31 = 30 days: 1,000,000 × 0.0005 × 30 = 15,000; payoff 1,015,000; paid 1,020,000
    book = book_many(disbursed(revolving_terms()), Repayment("r", date(2026, 1, 31), 1, 1_020_000))
    s = book.state
    assert s.status is Status.CLOSED
    assert s.total_outstanding == 0
    assert s.suspense == 5_000
    assert s.cash_in == s.allocated + s.suspense == 1_020_000
    with pytest.raises(BusinessRuleError) as caught:
        book.book(Fee("f", date(2026, 2, 1), 2, 100))
    assert caught.value.code == "CONTRACT_CLOSED"
    # money arriving after closure is never lost: all of it is held in suspense
    later = book_many(book, Repayment("r2", date(2026, 2, 2), 3, 700))
    assert later.state.suspense == 5_700
    assert_books_consistent(later)


def test_fee_is_charged_to_the_current_installment() -> None:
    book = book_many(
        disbursed(installment_terms()), Fee("f", date(2026, 3, 1), 1, 1_500, reason="card change")
    )
    assert [r.fee_charged for r in book.state.rows[:3]] == [0, 1_500, 0]  # period 2: Feb 15 – Mar 15
    assert book.state.fee_outstanding == 1_500
    assert_books_consistent(book)


def test_waivers_reduce_receivables_through_contra_income() -> None:
    terms = installment_terms()
    book = book_many(disbursed(terms), PenaltyAccrual("a", date(2026, 2, 20), 1))
    assert book.state.penalty_outstanding == 72  # see test_accrual: DPD 5 on 91,515
    with pytest.raises(BusinessRuleError) as caught:
        book.book(Waiver("w0", date(2026, 2, 20), 2, WaiverKind.PENALTY, "goodwill", amount=73))
    assert caught.value.code == "WAIVER_EXCEEDS_OUTSTANDING"
    book, entries = book.book(Waiver("w1", date(2026, 2, 20), 2, WaiverKind.PENALTY, "system fault"))
    assert book.state.penalty_outstanding == 0
    assert _lines(entries[0].postings) == {
        (Account.WAIVER_EXPENSE, Side.DEBIT, 72),
        (Account.PENALTY_RECEIVABLE, Side.CREDIT, 72),
    }
    with pytest.raises(BusinessRuleError) as caught:
        book.book(Waiver("w2", date(2026, 2, 20), 3, WaiverKind.PENALTY, "again"))
    assert caught.value.code == "NOTHING_TO_WAIVE"
    assert_books_consistent(book)


@given(asked=st.integers(min_value=1, max_value=500), paid_first=st.integers(min_value=0, max_value=72))
def test_an_at_most_waiver_waives_what_is_outstanding_up_to_its_amount_and_never_refuses(
    asked: int, paid_first: int
) -> None:
    """The system's fault waivers: a late payment replayed ahead of one may have paid (part of) what
    it waived; it then waives what is left, or nothing, instead of failing the replay."""
    terms = installment_terms()
    book = book_many(disbursed(terms), PenaltyAccrual("a", date(2026, 2, 20), 1))
    if paid_first:
        book, _ = book.book(Repayment("r", date(2026, 2, 20), 2, paid_first))
    outstanding = book.state.penalty_outstanding
    book, entries = book.book(
        Waiver("w", date(2026, 2, 20), 3, WaiverKind.PENALTY, "SYSTEM_FAULT", amount=asked, at_most=True)
    )
    waived = min(asked, outstanding)
    assert book.state.penalty_outstanding == outstanding - waived
    posted = sum(p.amount for e in entries for p in e.postings if p.account is Account.WAIVER_EXPENSE)
    assert posted == waived
    assert_books_consistent(book)


def test_an_at_most_waiver_on_a_settled_contract_does_nothing() -> None:
    book = book_many(disbursed(revolving_terms()), Repayment("r", date(2026, 1, 11), 1, 1_005_000))
    assert book.state.status is Status.CLOSED
    book, entries = book.book(Waiver("w", date(2026, 1, 11), 2, WaiverKind.PENALTY, "x", 10, at_most=True))
    assert book.state.status is Status.CLOSED
    assert all(not e.postings for e in entries)


def test_write_off_moves_every_receivable_to_expense_and_recoveries_to_income() -> None:
    # 10 days' interest (5,000) accrued at write-off; written off 1,005,000 in total.
    book = book_many(disbursed(revolving_terms()), WriteOff("w", date(2026, 1, 11), 1))
    s = book.state
    assert s.status is Status.WRITTEN_OFF and s.written_off == 1_005_000
    assert s.subledger()[Account.LOAN_PRINCIPAL] == 0
    with pytest.raises(BusinessRuleError) as caught:
        book.book(Repayment("r", date(2026, 2, 1), 2, 100))
    assert caught.value.code == "CONTRACT_WRITTEN_OFF"
    book, entries = book.book(Recovery("rc", date(2026, 3, 1), 3, 1_005_100))
    assert _lines(entries[0].postings) == {
        (Account.CASH, Side.DEBIT, 1_005_100),
        (Account.RECOVERY_INCOME, Side.CREDIT, 1_005_000),
        (Account.SUSPENSE, Side.CREDIT, 100),
    }
    assert_books_consistent(book)


# -- scenarios: overdue, cure, prepayment -----------------------------------------------------------


def test_overdue_then_cured_installment_pays_penalty_first() -> None:
    # Installment 1 (110,115 = 91,515 + 18,600) due Feb 15 is paid on Feb 20 (DPD 5) with 110,115 + 72.
    # Accrued on Feb 20: penalty 72 (test_accrual), row-2 interest 2,771 (not yet due, so untouched:
    # the default waterfall clears the due row first, then the current period's interest).
    terms = installment_terms()
    book = book_many(disbursed(terms), Repayment("r", date(2026, 2, 20), 1, 110_115 + 72))
    row1, row2 = book.state.rows[:2]
    assert (row1.penalty_paid, row1.interest_paid, row1.principal_paid) == (72, 18_600, 91_515)
    assert row1.outstanding == 0
    assert row2.interest_accrued == 2_771 and row2.interest_paid == 0
    assert book.state.suspense == 0
    assert_books_consistent(book)


def test_revolving_prepayment_reduces_interest_and_has_no_fee() -> None:
    # Quick loan with a (would-be) 1 % prepayment fee: revolving contracts never charge it.
    from lendcore.core.contract import PrepaymentFee

    terms = revolving_terms(prepayment_fee=PrepaymentFee.percent("0.01"))
    book = book_many(disbursed(terms), Repayment("r", date(2026, 1, 11), 1, 505_000))
    # 5,000 interest, 500,000 principal, no fee
    assert book.state.principal_outstanding == 500_000
    assert book.state.prepayment_fees == 0
    assert_books_consistent(book)


def test_installment_prepayment_recomputes_the_schedule_and_charges_the_contract_fee() -> None:
    from lendcore.core.contract import PrepaymentFee

    terms = installment_terms(prepayment_fee=PrepaymentFee.percent("0.01"))
    book = book_many(
        disbursed(terms),
        Repayment("r1", date(2026, 2, 15), 1, 110_115),
        # Mar 1: 14 days on 1,108,485: 7,759.395 → 7,759 interest; then 303,030 left buys principal p
        # with p + round(1 % p) ≤ 303,030 → p = 300,030 (fee 3,000.30 → 3,000; 300,030 + 3,000 = 303,030)
        # prepay-first: the whole surplus prepays (the default would settle installment 2 first)
        Repayment("r2", date(2026, 3, 1), 2, 7_759 + 303_030, waterfall="prepay-first"),
    )
    s = book.state
    assert s.principal_prepaid == 300_030
    assert s.prepayment_fees == 3_000
    assert s.principal_outstanding == 1_108_485 - 300_030
    assert sum(r.principal for r in s.rows) + s.principal_prepaid == 1_200_000
    # reduce-installment: same 11 remaining due dates, smaller principal parts
    assert all(r.principal < p.principal for r, p in zip(s.rows[1:-1], terms.schedule[1:-1], strict=True))
    assert_books_consistent(book)


# -- backdating and reversal -------------------------------------------------------------------------


def test_a_backdated_repayment_replays_from_its_value_date() -> None:
    terms = revolving_terms()
    book = book_many(
        disbursed(terms),
        InterestAccrual("a1", date(2026, 1, 21), 1),
        Repayment("r1", date(2026, 1, 31), 2, 100_000),
    )
    before = len(book.journal)
    book, entries = book.book(Repayment("r0", date(2026, 1, 11), 3, 505_000))
    # the two later entries are mirrored, then the backdated one and both later ones are re-booked
    assert [e.reverses is not None for e in entries] == [True, True, False, False, False]
    assert len(book.journal) == before + 5
    assert [a.txn.txn_id for a in book.applied] == ["t_disb", "r0", "a1", "r1"]
    # r0 repaid 500,000 on Jan 11, so Jan 11 … Jan 30 accrues on 500,000: 500,000 × 0.0005 × 20 = 5,000
    assert book.state.principal_outstanding == 1_000_000 - 500_000 - (100_000 - 5_000)
    assert_books_consistent(book)


def test_a_reversal_removes_the_transaction_as_if_it_never_happened() -> None:
    terms = revolving_terms()
    book = book_many(
        disbursed(terms),
        Repayment("r1", date(2026, 1, 11), 1, 505_000),
        Repayment("r2", date(2026, 1, 21), 2, 10_000),
    )
    book, _ = book.book(Reversal("x1", date(2026, 1, 25), 3, "r1", reason="payment bounced"))
    expected = replay(terms, [Disbursement("t_disb", terms.start_date, 0, 1_000_000), book.applied[-1].txn])
    assert book.state == expected
    assert_books_consistent(book)
    with pytest.raises(BusinessRuleError) as caught:
        book.book(Reversal("x2", date(2026, 1, 26), 4, "r1"))
    assert caught.value.code == "ALREADY_REVERSED"
    with pytest.raises(NotFoundError) as missing:
        book.book(Reversal("x3", date(2026, 1, 26), 4, "nope"))
    assert missing.value.code == "REVERSAL_TARGET_NOT_FOUND"


def test_accruals_cannot_be_reversed_and_ids_cannot_repeat() -> None:
    book = book_many(disbursed(revolving_terms()), InterestAccrual("a1", date(2026, 1, 5), 1))
    with pytest.raises(BusinessRuleError) as caught:
        book.book(Reversal("x", date(2026, 1, 6), 2, "a1"))
    assert caught.value.code == "REVERSAL_NOT_ALLOWED"
    with pytest.raises(BusinessRuleError) as dup:
        book.book(InterestAccrual("a1", date(2026, 1, 7), 3))
    assert dup.value.code == "DUPLICATE_TRANSACTION"


def test_a_rebooking_that_breaks_a_later_transaction_is_refused_and_changes_nothing() -> None:
    book = book_many(disbursed(revolving_terms()), Repayment("r1", date(2026, 1, 11), 1, 10_000))
    with pytest.raises(BusinessRuleError) as caught:
        book.book(Reversal("x", date(2026, 1, 12), 2, "t_disb"))
    assert caught.value.code == "CONTRACT_NOT_DISBURSED"
    assert book.state.transactions_applied == 2


def test_unknown_waterfall_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        book_many(disbursed(revolving_terms()), Repayment("r", date(2026, 1, 5), 1, 100, waterfall="nope"))
    assert caught.value.code == "UNKNOWN_WATERFALL"


# -- properties --------------------------------------------------------------------------------------


@st.composite
def _contract(draw: st.DrawFn) -> LoanBook:
    principal = draw(st.integers(10_000, 5_000_000))
    rate = draw(st.sampled_from([Decimal(0), Decimal("0.0002"), Decimal("0.0005"), Decimal("0.00065")]))
    extra: dict[str, Any] = {
        "penalty_on_interest": draw(st.booleans()),
        "grace_days": draw(st.integers(0, 3)),
        "waterfall": draw(st.sampled_from(["penalty-fee-interest-principal", "due-before-advance"])),
    }
    if draw(st.booleans()):
        terms = revolving_terms(principal, daily_rate=rate, **extra)
    else:
        from lendcore.core.contract import PrepaymentFee, PrepaymentRecompute

        method = draw(
            st.sampled_from([Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL, Method.INTEREST_ONLY])
        )
        terms = installment_terms(
            principal,
            draw(st.sampled_from([3, 6])),
            method,
            daily_rate=rate,
            prepayment_recompute=draw(st.sampled_from(list(PrepaymentRecompute))),
            prepayment_fee=draw(st.sampled_from([PrepaymentFee.none(), PrepaymentFee.percent("0.02")])),
            **extra,
        )
    return disbursed(terms)


_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["repay", "repay", "repay", "accrue", "penalty", "fee", "waive", "reverse", "writeoff"]
        ),
        st.integers(0, 240),  # day offset from the start: any date, earlier ones are backdated
        st.integers(1, 2_000_000),
        st.sampled_from(list(WaiverKind)),
    ),
    max_size=14,
)


def _txn(book: LoanBook, seq: int, op: tuple[str, int, int, WaiverKind]) -> Transaction:
    kind, offset, amount, waiver = op
    on = book.terms.start_date + timedelta(days=offset)
    tid = f"t{seq}"
    if kind == "repay":
        return Repayment(tid, on, seq, amount)
    if kind == "accrue":
        return InterestAccrual(tid, on, seq)
    if kind == "penalty":
        return PenaltyAccrual(tid, on, seq)
    if kind == "fee":
        return Fee(tid, on, seq, amount % 5_000 + 1)
    if kind == "waive":
        return Waiver(tid, on, seq, waiver, "test", amount=None if amount % 2 else amount % 3_000 + 1)
    if kind == "writeoff":
        return WriteOff(tid, on, seq)
    targets = [a.txn.txn_id for a in book.applied[1:]]
    return Reversal(tid, on, seq, targets[amount % len(targets)] if targets else "none")


@given(_contract(), _OPS)
def test_random_histories_keep_every_invariant(
    book: LoanBook, ops: list[tuple[str, int, int, WaiverKind]]
) -> None:
    for seq, op in enumerate(ops, start=1):
        txn = _txn(book, seq, op)
        try:
            new, entries = book.book(txn)
        except LendcoreError as refused:
            assert refused.code not in {"INVARIANT_VIOLATION", "UNBALANCED_ENTRY", "SUBLEDGER_MISMATCH"}
            continue  # a refused transaction changes nothing: `book` is immutable and kept
        assert all(e.total > 0 for e in entries)  # every entry exists, so it balanced
        book = new
        assert_books_consistent(book)
        # the journal nets to exactly what replaying from nothing would post
        _, replayed = replay_postings(book.terms, book.transactions)
        net = trial_balance(entries_postings(book.journal))
        fresh = trial_balance(replayed)
        assert [line.balance for line in net.lines] == [line.balance for line in fresh.lines]


@given(_contract(), st.lists(st.tuples(st.integers(0, 200), st.integers(1, 800_000)), max_size=10))
def test_incremental_booking_in_any_arrival_order_equals_replay_in_value_order(
    book: LoanBook, payments: list[tuple[int, int]]
) -> None:
    txns = [
        Repayment(f"r{i}", book.terms.start_date + timedelta(days=d), i, amount)
        for i, (d, amount) in enumerate(payments, start=1)
    ]
    for t in txns:
        book, _ = book.book(t)
    assert book.state == replay(book.terms, book.transactions)
    fresh = open_book(book.terms)
    for txn in sorted(book.transactions, key=lambda t: (t.value_date, t.seq)):
        fresh, _ = fresh.book(txn)
    assert fresh.state == book.state
