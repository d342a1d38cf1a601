"""Joint lending: shares, the split to the fen (residue to the lender), each partner's mirrored ledger."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import BusinessRuleError, InvariantViolationError, ValidationError
from lendcore.core.funding import (
    BASIS_POINTS,
    SETTLEMENT,
    SHARED_ACCOUNTS,
    ContractEntry,
    EntryLine,
    Share,
    check_concentration,
    check_partner_ledger,
    check_shares,
    part_of,
    partner_entries,
    split,
)
from lendcore.core.ledger import Account, Side

D = date(2026, 3, 1)
shares_st = st.lists(st.integers(1, 3_500), min_size=0, max_size=2).map(
    lambda bps: tuple(Share(f"fp_{i}", bp) for i, bp in enumerate(bps))
)


@given(amount=st.integers(0, 10**10), shares=shares_st)
def test_the_parts_of_an_amount_sum_to_it_exactly_and_the_lender_absorbs_the_residue(
    amount: int, shares: tuple[Share, ...]
) -> None:
    lender, parts = split(amount, shares)
    assert lender + sum(parts.values()) == amount
    for s in shares:
        exact = amount * s.share_bp / BASIS_POINTS
        assert exact - 1 < parts[s.partner_id] <= exact  # never more than its exact share
    lender_exact = amount * (BASIS_POINTS - sum(s.share_bp for s in shares)) / BASIS_POINTS
    assert lender >= lender_exact - 1e-6


def test_a_third_of_a_fen_stays_with_the_lender() -> None:
    assert split(100, (Share("fp_a", 3_333), Share("fp_b", 3_333))) == (34, {"fp_a": 33, "fp_b": 33})
    assert split(1, (Share("fp_a", 6_000),)) == (1, {"fp_a": 0})


def test_shares_must_leave_the_lender_its_minimum() -> None:
    check_shares((Share("fp_a", 4_000), Share("fp_b", 3_000)))  # lender keeps exactly 30 %
    with pytest.raises(BusinessRuleError) as e:
        check_shares((Share("fp_a", 4_000), Share("fp_b", 3_001)))
    assert e.value.code == "LENDER_SHARE_TOO_LOW"
    check_shares((Share("fp_a", 6_000),), lender_min_share_bp=4_000)
    with pytest.raises(BusinessRuleError):
        check_shares((Share("fp_a", 6_001),), lender_min_share_bp=4_000)


@pytest.mark.parametrize(
    "shares",
    [
        (Share("fp_a", 0),),
        (Share("fp_a", -5),),
        (Share("fp_a", 10_000),),
        (Share("fp_a", 10), Share("fp_a", 10)),
    ],
)
def test_bad_shares_are_refused(shares: tuple[Share, ...]) -> None:
    with pytest.raises(ValidationError) as e:
        check_shares(shares)
    assert e.value.code == "FUNDING_SHARES_INVALID"


def test_concentration_limit_counts_what_is_outstanding_and_the_new_part() -> None:
    check_concentration("fp_a", 1_000, 600, 400)
    with pytest.raises(BusinessRuleError) as e:
        check_concentration("fp_a", 1_000, 600, 401)
    assert e.value.code == "PARTNER_CONCENTRATION_EXCEEDED"


def _entry(n: int, *lines: tuple[Account, Side, int]) -> ContractEntry:
    return ContractEntry(f"je{n}", D, D, tuple(EntryLine(a, s, x) for a, s, x in lines))


def _repayment(n: int, principal: int, interest: int) -> ContractEntry:
    lines = [(Account.CASH, Side.DEBIT, principal + interest)]
    if principal:
        lines.append((Account.LOAN_PRINCIPAL, Side.CREDIT, principal))
    if interest:
        lines.append((Account.INTEREST_RECEIVABLE, Side.CREDIT, interest))
    return _entry(n, *lines)


def test_a_partner_funds_its_share_and_collects_its_share_on_its_own_accounts() -> None:
    shares = (Share("fp_a", 5_000),)
    journal = (
        _entry(1, (Account.LOAN_PRINCIPAL, Side.DEBIT, 10_001), (Account.CASH, Side.CREDIT, 10_001)),
        _entry(
            2, (Account.INTEREST_RECEIVABLE, Side.DEBIT, 301), (Account.INTEREST_INCOME, Side.CREDIT, 301)
        ),
        _repayment(3, 10_001, 301),
    )
    funded, accrued, repaid = partner_entries(journal, shares)
    assert funded.lines[0].account_code == Account.LOAN_PRINCIPAL.value
    assert (funded.lines[0].amount, funded.lines[-1].account_code, funded.lines[-1].side) == (
        5_000,
        SETTLEMENT,
        Side.CREDIT,
    )
    assert [line.amount for line in accrued.lines] == [150, 150]  # no cash: receivable against income
    # repaid: the cumulative floor gives the partner 5,000 of principal back (all it funded) and 150
    assert {(x.account_code, x.side): x.amount for x in repaid.lines} == {
        (Account.LOAN_PRINCIPAL.value, Side.CREDIT): 5_000,
        (Account.INTEREST_RECEIVABLE.value, Side.CREDIT): 150,
        (SETTLEMENT, Side.DEBIT): 5_150,
    }


@given(
    shares=shares_st,
    principal=st.integers(1, 10**8),
    pieces=st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 10**4)), min_size=1, max_size=30),
)
def test_many_small_repayments_never_drift_and_a_repaid_contract_leaves_the_partner_nothing_owed(
    shares: tuple[Share, ...], principal: int, pieces: list[tuple[int, int]]
) -> None:
    journal = [
        _entry(0, (Account.LOAN_PRINCIPAL, Side.DEBIT, principal), (Account.CASH, Side.CREDIT, principal))
    ]
    left = principal
    for n, (p, i) in enumerate(pieces, start=1):
        p = min(p, left)
        left -= p
        journal.append(
            _entry(
                n,
                (Account.INTEREST_RECEIVABLE, Side.DEBIT, i + 1),
                (Account.INTEREST_INCOME, Side.CREDIT, i + 1),
            )
        )
        journal.append(_repayment(1000 + n, p, i + 1))
    if left:
        journal.append(_repayment(9999, left, 0))
    mirrored = partner_entries(journal, shares)
    totals: dict[tuple[str, str, Side], int] = {}
    for e in mirrored:
        for line in e.lines:
            key = (e.partner_id, line.account_code, line.side)
            totals[key] = totals.get(key, 0) + line.amount
    contract: dict[tuple[Account, Side], int] = {}
    for e in journal:
        for x in e.lines:
            contract[(x.account, x.side)] = contract.get((x.account, x.side), 0) + x.amount
    check_partner_ledger("ln_x", contract, totals, shares)
    for s in shares:
        owed = totals.get((s.partner_id, "1303.01", Side.DEBIT), 0) - totals.get(
            (s.partner_id, "1303.01", Side.CREDIT), 0
        )
        assert owed == 0
        # every shared amount: the partners' parts plus the lender's are the whole, to the fen
        for account in SHARED_ACCOUNTS:
            for side in Side:
                whole = contract.get((account, side), 0)
                assert totals.get((s.partner_id, account.value, side), 0) == part_of(whole, s.share_bp)


def test_the_check_names_a_partner_holding_more_than_its_share() -> None:
    shares = (Share("fp_a", 5_000),)
    contract = {(Account.LOAN_PRINCIPAL, Side.DEBIT): 1_000}
    held = {("fp_a", "1303.01", Side.DEBIT): 501, ("fp_a", SETTLEMENT, Side.CREDIT): 501}
    with pytest.raises(InvariantViolationError) as e:
        check_partner_ledger("ln_x", contract, held, shares)
    assert e.value.code == "PARTNER_LEDGER_MISMATCH"
    check_partner_ledger(
        "ln_x",
        contract,
        {**held, ("fp_a", "1303.01", Side.DEBIT): 500, ("fp_a", SETTLEMENT, Side.CREDIT): 500},
        shares,
    )
    unbalanced = {("fp_a", "1303.01", Side.DEBIT): 500}
    with pytest.raises(InvariantViolationError):
        check_partner_ledger("ln_x", contract, unbalanced, shares)
