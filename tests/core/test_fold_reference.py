"""The optimised fold equals the straightforward one (issue 12: a faster fold, not a different one).

The hot spots were rewritten for speed (one state per accrual instead of one per pass, rows built
positionally, postings merged as they are made, allocation stopping when the money is spent). The
pre-optimisation functions are kept verbatim in :mod:`tests.core.fold_reference`; here the optimised
ones must return exactly what they return, on every intermediate state of random histories
(backdated payments, reversals, waivers, fees, write-offs) and on dates before, at and after it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.accrual import accrue
from lendcore.core.allocation import allocate
from lendcore.core.book import LoanBook
from lendcore.core.contract import InstallmentState, LoanState, Status
from lendcore.core.errors import LendcoreError
from lendcore.core.evolve import evolve
from lendcore.core.ledger import Account, Posting, Side, merge_postings
from lendcore.core.loan import _Poster
from lendcore.core.transactions import WaiverKind
from tests.core.fold_reference import reference_accrue, reference_allocate
from tests.core.loan_factory import revolving_terms
from tests.core.test_loan import _OPS, _contract, _txn

_OFFSETS = (0, 1, 2, 7, 31, 45, 400)


def _states(book: LoanBook, ops: list[tuple[str, int, int, WaiverKind]]) -> list[LoanState]:
    states = [book.state]
    for seq, op in enumerate(ops, start=1):
        try:
            book, _ = book.book(_txn(book, seq, op))
        except LendcoreError:
            continue
        states.extend(a.state for a in book.applied)
    return states


def _dates(state: LoanState) -> list[date]:
    base = state.accrued_through
    return [base - timedelta(days=3), *(base + timedelta(days=d) for d in _OFFSETS)] + [
        r.due_date + timedelta(days=k) for r in state.rows[:3] for k in (-1, 0, 1, 2, 4)
    ]


@given(_contract(), _OPS)
def test_accrual_equals_the_reference_on_every_state_of_random_histories(
    book: LoanBook, ops: list[tuple[str, int, int, WaiverKind]]
) -> None:
    for state in _states(book, ops):
        for on in _dates(state):
            for penalty in (True, False):
                assert accrue(state, on, penalty=penalty) == reference_accrue(state, on, penalty=penalty)


@given(_contract(), _OPS, st.integers(1, 3_000_000), st.booleans())
def test_allocation_equals_the_reference_on_every_state_of_random_histories(
    book: LoanBook, ops: list[tuple[str, int, int, WaiverKind]], amount: int, due_only: bool
) -> None:
    for state in _states(book, ops):
        if state.status is not Status.ACTIVE:
            continue
        for on in _dates(state)[1:4]:
            accrued, _ = accrue(state, on)
            for waterfall in ("penalty-fee-interest-principal", "due-before-advance", "prepay-first"):
                got = allocate(accrued, amount, on, waterfall, due_only=due_only)
                assert got == reference_allocate(accrued, amount, on, waterfall, due_only=due_only)


_ROW_INTS = st.integers(0, 10**10)


@given(
    st.builds(
        InstallmentState,
        period=st.integers(1, 60),
        start_date=st.dates(),
        due_date=st.dates(),
        principal=_ROW_INTS,
        interest_exact=st.decimals(0, 10**6, places=6),
        penalty_paid=_ROW_INTS,
        settled_on=st.none() | st.dates(),
    ),
    st.dictionaries(
        st.sampled_from(["principal_paid", "interest_accrued", "fee_charged", "penalty_waived"]), _ROW_INTS
    ),
)
def test_evolve_builds_what_dataclasses_replace_builds(
    row: InstallmentState, changes: dict[str, int]
) -> None:
    assert evolve(row, **changes) == replace(row, **changes)
    assert type(evolve(row, **changes)) is InstallmentState


def test_evolve_refuses_an_unknown_field_like_replace() -> None:
    row = InstallmentState(1, date(2026, 1, 1), date(2026, 2, 1), 100)
    with pytest.raises(TypeError):
        evolve(row, principle=5)


_ACCOUNTS = list(Account)


@given(st.lists(st.tuples(st.sampled_from(_ACCOUNTS), st.sampled_from(_ACCOUNTS), st.integers(0, 10**9))))
def test_the_step_poster_merges_exactly_as_merge_postings(lines: list[tuple[Account, Account, int]]) -> None:
    terms = revolving_terms()
    poster = _Poster(terms)
    expected: list[Posting] = []
    for debit, credit, amount in lines:
        poster(debit, credit, amount)
        if amount:
            expected.append(Posting(debit, Side.DEBIT, amount, terms.contract_id, terms.customer_id))
            expected.append(Posting(credit, Side.CREDIT, amount, terms.contract_id, terms.customer_id))
    assert poster.done() == merge_postings(expected)


def test_a_negative_amount_is_still_refused_by_the_poster() -> None:
    with pytest.raises(LendcoreError) as caught:
        _Poster(revolving_terms())(Account.CASH, Account.SUSPENSE, -1)
    assert caught.value.code == "NEGATIVE_POSTING"
