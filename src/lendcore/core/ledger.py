"""Double-entry ledger: chart of accounts, postings, balanced journal entries, trial balance.

Pure values only. A :class:`JournalEntry` cannot exist unbalanced: its constructor refuses one with
:class:`~lendcore.core.errors.InvariantViolationError` (invariant 1). Entries are never changed; a
correction is a new entry that mirrors the old one (:func:`reverse`).

The *loan sub-ledger* is what the contracts themselves say they are owed (principal, interest, penalty,
fee receivable, and unapplied money held for the customer); the *control accounts* are the general-
ledger accounts with the same meaning. :func:`check_subledger` proves they agree (invariant 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

from lendcore.core.errors import InvariantViolationError, ValidationError
from lendcore.core.money import Fen


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


class Account(StrEnum):
    """Chart of accounts. Codes follow the shape of the PRC financial-enterprise chart (1xxx assets,
    2xxx liabilities, 6xxx profit and loss); sub-codes are ours."""

    CASH = "1002.01"  # 银行存款/清算: money at the bank or in the payment channel's clearing account
    LOAN_PRINCIPAL = "1303.01"  # 贷款-本金: loans receivable, principal
    INTEREST_RECEIVABLE = "1132.01"  # 应收利息
    PENALTY_RECEIVABLE = "1132.02"  # 应收罚息
    FEE_RECEIVABLE = "1132.03"  # 应收手续费
    #: 应收利息-汇总计提: interest the daily close accrued in aggregate for quiet contracts (per product and
    #: date, no contract); it moves to a contract's own 1132.01 when its next transaction is folded
    #: (lendcore.core.quiet, lendcore.batch.close_sql). Not a control account: it is checked against
    #: the contracts' derivable aggregated interest instead.
    INTEREST_ACCRUED_AGGREGATE = "1132.91"
    #: 应收罚息-汇总计提: the same for the penalty of quiet overdue contracts (lendcore.core.quiet_overdue);
    #: it moves to a contract's own 1132.02 when its next transaction is folded.
    PENALTY_ACCRUED_AGGREGATE = "1132.92"
    SUSPENSE = "2241.01"  # 暂收款/待处理: unapplied funds, a credit owed to the customer (liability)
    #: 暂收款-合同间转移: customer credit moving from one of the customer's contracts to another. The
    #: two legs (Cr on the source contract, Dr on the target) are booked in one unit of work, so the
    #: account nets to zero per customer; per contract it mirrors ``credit_out − credit_in``.
    CREDIT_TRANSFER = "2241.02"
    #: 暂收款-渠道待查: money a channel's statement shows it took that no payment of ours books (a
    #: success we hold as failed, a row we do not know). On no contract; cleared only by an approved
    #: action (lendcore.payments.suspense). Not a control account: it equals the open items instead.
    CHANNEL_SUSPENSE = "2241.03"
    INTEREST_INCOME = "6011.01"  # 利息收入
    PENALTY_INCOME = "6011.02"  # 罚息收入
    FEE_INCOME = "6021.01"  # 手续费收入 (including prepayment fees)
    WAIVER_EXPENSE = "6011.99"  # 利息/罚息/费用减免: contra-income, debit-normal
    WRITE_OFF_EXPENSE = "6701.01"  # 贷款核销 (charged against the allowance / impairment loss)
    RECOVERY_INCOME = "6301.01"  # 已核销贷款收回

    @property
    def normal_side(self) -> Side:
        return _NORMAL_SIDE[self]

    @property
    def label(self) -> str:
        return _TITLES[self]


_NORMAL_SIDE: Final[Mapping[Account, Side]] = {
    Account.CASH: Side.DEBIT,
    Account.LOAN_PRINCIPAL: Side.DEBIT,
    Account.INTEREST_RECEIVABLE: Side.DEBIT,
    Account.PENALTY_RECEIVABLE: Side.DEBIT,
    Account.FEE_RECEIVABLE: Side.DEBIT,
    Account.INTEREST_ACCRUED_AGGREGATE: Side.DEBIT,
    Account.PENALTY_ACCRUED_AGGREGATE: Side.DEBIT,
    Account.SUSPENSE: Side.CREDIT,
    Account.CREDIT_TRANSFER: Side.CREDIT,
    Account.CHANNEL_SUSPENSE: Side.CREDIT,
    Account.INTEREST_INCOME: Side.CREDIT,
    Account.PENALTY_INCOME: Side.CREDIT,
    Account.FEE_INCOME: Side.CREDIT,
    Account.WAIVER_EXPENSE: Side.DEBIT,
    Account.WRITE_OFF_EXPENSE: Side.DEBIT,
    Account.RECOVERY_INCOME: Side.CREDIT,
}

_TITLES: Final[Mapping[Account, str]] = {
    Account.CASH: "Cash / clearing (银行存款)",
    Account.LOAN_PRINCIPAL: "Loans receivable, principal (贷款本金)",
    Account.INTEREST_RECEIVABLE: "Interest receivable (应收利息)",
    Account.PENALTY_RECEIVABLE: "Penalty interest receivable (应收罚息)",
    Account.FEE_RECEIVABLE: "Fees receivable (应收手续费)",
    Account.INTEREST_ACCRUED_AGGREGATE: "Interest accrued in aggregate (应收利息-汇总计提)",
    Account.PENALTY_ACCRUED_AGGREGATE: "Penalty accrued in aggregate (应收罚息-汇总计提)",
    Account.SUSPENSE: "Unapplied funds / suspense (暂收款)",
    Account.CREDIT_TRANSFER: "Unapplied funds moved between contracts (暂收款-合同间转移)",
    Account.CHANNEL_SUSPENSE: "Channel receipts to investigate (暂收款-渠道待查)",
    Account.INTEREST_INCOME: "Interest income (利息收入)",
    Account.PENALTY_INCOME: "Penalty interest income (罚息收入)",
    Account.FEE_INCOME: "Fee income (手续费收入)",
    Account.WAIVER_EXPENSE: "Waivers, contra-income (减免)",
    Account.WRITE_OFF_EXPENSE: "Write-offs (贷款核销)",
    Account.RECOVERY_INCOME: "Recoveries of written-off loans (核销收回)",
}

#: The general-ledger accounts the loan sub-ledger must equal (invariant 2).
CONTROL_ACCOUNTS: Final[tuple[Account, ...]] = (
    Account.LOAN_PRINCIPAL,
    Account.INTEREST_RECEIVABLE,
    Account.PENALTY_RECEIVABLE,
    Account.FEE_RECEIVABLE,
    Account.SUSPENSE,
    Account.CREDIT_TRANSFER,
)


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of a journal entry: ``amount`` fen (> 0) on one side of one account."""

    account: Account
    side: Side
    amount: Fen
    contract_id: str
    customer_id: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValidationError(
                f"a posting amount must be a positive int of fen, got {self.amount!r}",
                code="AMOUNT_NOT_POSITIVE",
                account=str(self.account),
            )

    @property
    def signed(self) -> Fen:
        """Amount signed by the account's normal side (+ increases the balance, − decreases)."""
        return self.amount if self.side is self.account.normal_side else -self.amount

    def mirrored(self) -> Posting:
        return Posting(self.account, self.side.opposite, self.amount, self.contract_id, self.customer_id)


def debit(account: Account, amount: Fen, contract_id: str, customer_id: str) -> Posting:
    return Posting(account, Side.DEBIT, amount, contract_id, customer_id)


def credit(account: Account, amount: Fen, contract_id: str, customer_id: str) -> Posting:
    return Posting(account, Side.CREDIT, amount, contract_id, customer_id)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced, immutable set of postings booked for one transaction on one value date."""

    entry_id: str
    value_date: date
    postings: tuple[Posting, ...]
    txn_id: str = ""
    memo: str = ""
    reverses: str | None = None  # entry_id of the entry this one mirrors
    total: Fen = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not self.postings:
            raise InvariantViolationError("a journal entry needs postings", code="EMPTY_ENTRY")
        debits = sum(p.amount for p in self.postings if p.side is Side.DEBIT)
        credits = sum(p.amount for p in self.postings if p.side is Side.CREDIT)
        if debits != credits:
            raise InvariantViolationError(
                f"journal entry {self.entry_id} does not balance: debits {debits} ≠ credits {credits}",
                code="UNBALANCED_ENTRY",
                debits=debits,
                credits=credits,
            )
        object.__setattr__(self, "total", debits)


def reverse(
    entry: JournalEntry, entry_id: str, value_date: date | None = None, memo: str = ""
) -> JournalEntry:
    """A new entry that mirrors ``entry`` (every debit becomes a credit and vice versa)."""
    return JournalEntry(
        entry_id=entry_id,
        value_date=value_date or entry.value_date,
        postings=tuple(p.mirrored() for p in entry.postings),
        txn_id=entry.txn_id,
        memo=memo or f"reversal of {entry.entry_id}",
        reverses=entry.entry_id,
    )


def merge_postings(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """Sum postings with the same (account, side, contract, customer), keeping first-seen order."""
    totals: dict[tuple[Account, Side, str, str], Fen] = {}
    for p in postings:
        key = (p.account, p.side, p.contract_id, p.customer_id)
        totals[key] = totals.get(key, 0) + p.amount
    return tuple(Posting(a, s, amount, c, cu) for (a, s, c, cu), amount in totals.items())


@dataclass(frozen=True, slots=True)
class AccountLine:
    account: Account
    debits: Fen
    credits: Fen

    @property
    def balance(self) -> Fen:
        """Balance on the account's normal side (negative means the abnormal side)."""
        if self.account.normal_side is Side.DEBIT:
            return self.debits - self.credits
        return self.credits - self.debits


@dataclass(frozen=True, slots=True)
class TrialBalance:
    lines: tuple[AccountLine, ...]
    total_debits: Fen
    total_credits: Fen

    @property
    def balanced(self) -> bool:
        return self.total_debits == self.total_credits

    def balance(self, account: Account) -> Fen:
        for line in self.lines:
            if line.account is account:
                return line.balance
        return 0

    def to_dict(self) -> dict[str, object]:
        """Shape of ``lendcore ledger trial-balance --json`` (amounts in fen)."""
        return {
            "total_debits": self.total_debits,
            "total_credits": self.total_credits,
            "balanced": self.balanced,
            "accounts": {
                line.account.value: {
                    "title": line.account.label,
                    "debits": line.debits,
                    "credits": line.credits,
                    "balance": line.balance,
                }
                for line in self.lines
            },
        }


def trial_balance(postings: Iterable[Posting]) -> TrialBalance:
    """Debit and credit totals per account over any postings (every account listed, in chart order)."""
    debits = dict.fromkeys(Account, 0)
    credits = dict.fromkeys(Account, 0)
    for p in postings:
        if p.side is Side.DEBIT:
            debits[p.account] += p.amount
        else:
            credits[p.account] += p.amount
    lines = tuple(AccountLine(a, debits[a], credits[a]) for a in Account)
    return TrialBalance(lines, sum(debits.values()), sum(credits.values()))


def entries_postings(entries: Iterable[JournalEntry]) -> Iterable[Posting]:
    for entry in entries:
        yield from entry.postings


def balances_by_contract(postings: Iterable[Posting]) -> dict[str, dict[Account, Fen]]:
    """Control-account balances per contract id (normal side positive)."""
    out: dict[str, dict[Account, Fen]] = {}
    for p in postings:
        if p.account in CONTROL_ACCOUNTS:
            per = out.setdefault(p.contract_id, dict.fromkeys(CONTROL_ACCOUNTS, 0))
            per[p.account] += p.signed
    return out


def check_subledger(subledger: Mapping[str, Mapping[Account, Fen]], postings: Iterable[Posting]) -> None:
    """Invariant 2: per contract and in total, the sub-ledger equals the control accounts.

    ``subledger`` maps contract id → {control account: balance the contract state says}. Raises
    :class:`InvariantViolationError` (``SUBLEDGER_MISMATCH``) naming the first difference.
    """
    ledger = balances_by_contract(postings)
    for contract_id in sorted(set(ledger) | set(subledger)):
        booked = ledger.get(contract_id, {})
        stated = subledger.get(contract_id, {})
        for account in CONTROL_ACCOUNTS:
            gl = booked.get(account, 0)
            sl = stated.get(account, 0)
            if gl != sl:
                raise InvariantViolationError(
                    f"contract {contract_id}: {account.name} is {gl} in the ledger, {sl} in the sub-ledger",
                    code="SUBLEDGER_MISMATCH",
                    contract_id=contract_id,
                    account=account.value,
                    ledger=gl,
                    subledger=sl,
                )
