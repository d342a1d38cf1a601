"""The ledger: entries balance or do not exist, reversals mirror, trial balance and sub-ledger agree."""

from __future__ import annotations

from datetime import date

import pytest

from lendcore.core.errors import InvariantViolationError, ValidationError
from lendcore.core.ledger import (
    CONTROL_ACCOUNTS,
    Account,
    JournalEntry,
    Posting,
    Side,
    check_subledger,
    credit,
    debit,
    reverse,
    trial_balance,
)

D = date(2026, 1, 15)


def _disbursement(amount: int = 100_000) -> JournalEntry:
    return JournalEntry(
        "je1",
        D,
        (
            debit(Account.LOAN_PRINCIPAL, amount, "ln_1", "cus_1"),
            credit(Account.CASH, amount, "ln_1", "cus_1"),
        ),
    )


def test_every_account_has_a_normal_side_and_receivables_are_debit_normal() -> None:
    assert {a.normal_side for a in Account} == {Side.DEBIT, Side.CREDIT}
    assert Account.LOAN_PRINCIPAL.normal_side is Side.DEBIT
    assert Account.INTEREST_RECEIVABLE.normal_side is Side.DEBIT
    assert Account.SUSPENSE.normal_side is Side.CREDIT  # unapplied money is owed to the customer
    assert Account.INTEREST_INCOME.normal_side is Side.CREDIT
    assert Account.WAIVER_EXPENSE.normal_side is Side.DEBIT  # contra-income
    assert Account.SUSPENSE in CONTROL_ACCOUNTS and Account.CASH not in CONTROL_ACCOUNTS


def test_a_balanced_entry_records_its_total() -> None:
    assert _disbursement(100_000).total == 100_000


def test_an_unbalanced_entry_cannot_be_constructed() -> None:
    with pytest.raises(InvariantViolationError) as caught:
        JournalEntry(
            "je1",
            D,
            (debit(Account.LOAN_PRINCIPAL, 100, "ln_1", "cus_1"), credit(Account.CASH, 99, "ln_1", "cus_1")),
        )
    assert caught.value.code == "UNBALANCED_ENTRY"
    assert caught.value.details == {"debits": 100, "credits": 99}


def test_an_empty_entry_cannot_be_constructed() -> None:
    with pytest.raises(InvariantViolationError) as caught:
        JournalEntry("je1", D, ())
    assert caught.value.code == "EMPTY_ENTRY"


@pytest.mark.parametrize("amount", [0, -1])
def test_a_posting_amount_must_be_positive(amount: int) -> None:
    with pytest.raises(ValidationError) as caught:
        Posting(Account.CASH, Side.DEBIT, amount, "ln_1", "cus_1")
    assert caught.value.code == "AMOUNT_NOT_POSITIVE"


def test_a_reversal_mirrors_every_posting_and_nets_to_zero() -> None:
    original = _disbursement(100_000)
    mirror = reverse(original, "je2")
    assert mirror.reverses == "je1"
    assert [(p.account, p.side) for p in mirror.postings] == [
        (Account.LOAN_PRINCIPAL, Side.CREDIT),
        (Account.CASH, Side.DEBIT),
    ]
    tb = trial_balance([*original.postings, *mirror.postings])
    assert all(line.balance == 0 for line in tb.lines)


def test_trial_balance_totals_and_balances_by_normal_side() -> None:
    # disburse 1,000.00; accrue 5.00 interest; receive 505.00 (5.00 interest, 500.00 principal)
    postings = [
        *_disbursement(100_000).postings,
        debit(Account.INTEREST_RECEIVABLE, 500, "ln_1", "cus_1"),
        credit(Account.INTEREST_INCOME, 500, "ln_1", "cus_1"),
        debit(Account.CASH, 50_500, "ln_1", "cus_1"),
        credit(Account.INTEREST_RECEIVABLE, 500, "ln_1", "cus_1"),
        credit(Account.LOAN_PRINCIPAL, 50_000, "ln_1", "cus_1"),
    ]
    tb = trial_balance(postings)
    assert tb.balanced and tb.total_debits == tb.total_credits == 100_000 + 500 + 50_500
    assert tb.balance(Account.LOAN_PRINCIPAL) == 50_000
    assert tb.balance(Account.CASH) == -49_500  # 1,000 out, 505 in: cash is below zero (abnormal side)
    assert tb.balance(Account.INTEREST_INCOME) == 500
    assert tb.balance(Account.INTEREST_RECEIVABLE) == 0
    as_json = tb.to_dict()
    assert as_json["balanced"] is True
    assert set(as_json) == {"total_debits", "total_credits", "balanced", "accounts"}


def test_subledger_check_passes_when_contracts_agree_with_control_accounts() -> None:
    check_subledger({"ln_1": {Account.LOAN_PRINCIPAL: 100_000}}, _disbursement(100_000).postings)


def test_subledger_check_names_the_first_difference() -> None:
    with pytest.raises(InvariantViolationError) as caught:
        check_subledger({"ln_1": {Account.LOAN_PRINCIPAL: 99_999}}, _disbursement(100_000).postings)
    assert caught.value.code == "SUBLEDGER_MISMATCH"
    assert caught.value.details["ledger"] == 100_000
    assert caught.value.details["subledger"] == 99_999


def test_subledger_check_catches_a_contract_missing_from_the_subledger() -> None:
    with pytest.raises(InvariantViolationError):
        check_subledger({}, _disbursement(100_000).postings)
