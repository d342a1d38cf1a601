"""The DESIGN.md invariants, checked over the whole database (the daily close runs this; tests too).

1. every journal entry balances (Σ debit = Σ credit per entry) and the trial balance balances;
2. the loan sub-ledger (each contract's balances) equals the general-ledger control accounts, per
   contract and account; each customer's unapplied funds equal the suspense booked for them;
4. cash received = Σ allocated + unapplied (per contract, from its state, with customer credit moved
   between contracts: cash in + credit in − credit out = allocated + suspense; credit in transfer nets
   to zero per customer; no negative balance) and every succeeded inbound
   payment is booked exactly once (Σ inbound = Σ contracts' cash in); Σ outbound = Σ disbursed;
5. (optional, costly) replaying each contract's stored transactions gives its stored state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendcore.core.contract import LoanState, Status
from lendcore.core.ledger import CONTROL_ACCOUNTS, Account, AccountLine, Side, TrialBalance
from lendcore.core.loan import replay
from lendcore.servicing.codecs import contract_state, contract_terms
from lendcore.servicing.repository import stored_transactions
from lendcore.store.models import Contract, Payment, Posting, UnappliedFunds


def trial_balance_from_db(session: Session) -> TrialBalance:
    """The trial balance over every posting in the database (one aggregate query)."""
    rows = session.execute(
        select(Posting.account_code, func.sum(Posting.debit), func.sum(Posting.credit)).group_by(
            Posting.account_code
        )
    ).all()
    sums = {code: (int(d or 0), int(c or 0)) for code, d, c in rows}
    lines = tuple(AccountLine(a, *sums.get(a.value, (0, 0))) for a in Account)
    unknown = set(sums) - {a.value for a in Account}
    extra_d = sum(sums[c][0] for c in unknown)
    extra_c = sum(sums[c][1] for c in unknown)
    return TrialBalance(
        lines,
        sum(line.debits for line in lines) + extra_d,
        sum(line.credits for line in lines) + extra_c,
    )


@dataclass(frozen=True, slots=True)
class InvariantReport:
    entries: int
    contracts: int
    trial_balance: TrialBalance
    unbalanced_entries: tuple[str, ...] = ()
    subledger_mismatches: tuple[str, ...] = ()
    cash_mismatches: tuple[str, ...] = ()
    replay_mismatches: tuple[str, ...] = ()
    replay_checked: bool = False

    @property
    def ok(self) -> bool:
        return self.trial_balance.balanced and not (
            self.unbalanced_entries
            or self.subledger_mismatches
            or self.cash_mismatches
            or self.replay_mismatches
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "contracts": self.contracts,
            "trial_balance_balanced": self.trial_balance.balanced,
            "total_debits": self.trial_balance.total_debits,
            "total_credits": self.trial_balance.total_credits,
            "unbalanced_entries": list(self.unbalanced_entries),
            "subledger_mismatches": list(self.subledger_mismatches),
            "cash_mismatches": list(self.cash_mismatches),
            "replay_checked": self.replay_checked,
            "replay_mismatches": list(self.replay_mismatches),
        }


_SIGN = {a: (1 if a.normal_side is Side.DEBIT else -1) for a in Account}


def check_invariants(session: Session, *, replay_contracts: bool = False) -> InvariantReport:
    tb = trial_balance_from_db(session)
    entries = int(session.scalar(select(func.count(func.distinct(Posting.entry_id)))) or 0)
    unbalanced = tuple(
        session.scalars(
            select(Posting.entry_id)
            .group_by(Posting.entry_id)
            .having(func.sum(Posting.debit) != func.sum(Posting.credit))
        ).all()
    )
    # invariant 2: per contract and control account
    gl: dict[tuple[str | None, str], int] = {}
    for cid, code, d, c in session.execute(
        select(Posting.contract_id, Posting.account_code, func.sum(Posting.debit), func.sum(Posting.credit))
        .where(Posting.account_code.in_([a.value for a in CONTROL_ACCOUNTS]))
        .group_by(Posting.contract_id, Posting.account_code)
    ).all():
        account = Account(code)
        gl[(cid, code)] = _SIGN[account] * (int(d or 0) - int(c or 0))
    mismatches: list[str] = []
    cash: list[str] = []
    replays: list[str] = []
    contracts = session.scalars(select(Contract).order_by(Contract.id)).all()
    cash_in = disbursed = 0
    for contract in contracts:
        state = contract_state(contract)
        mismatches.extend(_contract_mismatches(contract, state, gl))
        if state.funds_in != state.allocated + state.suspense:
            cash.append(
                f"{contract.id}: cash in {state.cash_in} + credit in {state.credit_in} − credit out "
                f"{state.credit_out} ≠ allocated {state.allocated} + unapplied {state.suspense}"
            )
        cash_in += state.cash_in
        disbursed += state.principal_disbursed
        if (
            replay_contracts
            and replay(contract_terms(contract), stored_transactions(session, contract.id)) != state
        ):
            replays.append(contract.id)
    for (cid, code), booked in gl.items():
        if booked:
            mismatches.append(f"{cid} {Account(code).name}: ledger {booked} with no contract")
    cash.extend(_customer_cash_mismatches(session))
    received, paid_out = _succeeded_payment_totals(session)
    if received != cash_in:
        cash.append(f"inbound payments {received} ≠ cash booked on contracts {cash_in}")
    if paid_out != disbursed:
        cash.append(f"outbound payments {paid_out} ≠ principal disbursed {disbursed}")
    return InvariantReport(
        entries=entries,
        contracts=len(contracts),
        trial_balance=tb,
        unbalanced_entries=unbalanced,
        subledger_mismatches=tuple(mismatches),
        cash_mismatches=tuple(cash),
        replay_mismatches=tuple(replays),
        replay_checked=replay_contracts,
    )


def _contract_mismatches(
    contract: Contract, state: LoanState, gl: dict[tuple[str | None, str], int]
) -> list[str]:
    """Invariant 2 for one contract: its state's sub-ledger against the ledger (popping what it matches
    from ``gl``, so what remains has no contract) and against the row's mirror columns; no negative
    balance; the row's status is the state's (a cancelled row is a pending state)."""
    found: list[str] = []
    mirrors = {
        Account.LOAN_PRINCIPAL: contract.outstanding_principal,
        Account.INTEREST_RECEIVABLE: contract.interest_receivable,
        Account.PENALTY_RECEIVABLE: contract.penalty_receivable,
        Account.FEE_RECEIVABLE: contract.fee_receivable,
    }
    for account, sub in state.subledger().items():
        booked = gl.pop((contract.id, account.value), 0)
        if booked != sub:
            found.append(f"{contract.id} {account.name}: ledger {booked}, sub-ledger {sub}")
        if account in mirrors and mirrors[account] != sub:
            found.append(f"{contract.id} {account.name}: mirror {mirrors[account]}, state {sub}")
    if state.suspense < 0 or any(v < 0 for v in mirrors.values()):
        found.append(f"{contract.id}: negative balance (suspense {state.suspense}, {mirrors})")
    if contract.status != state.status.value and not (
        contract.status == "cancelled" and state.status is Status.PENDING
    ):
        found.append(f"{contract.id}: status {contract.status}, state {state.status.value}")
    return found


def _customer_cash_mismatches(session: Session) -> list[str]:
    """Invariant 4 per customer: unapplied funds equal the suspense booked for them, credit moved
    between contracts nets to zero, and no unapplied balance is negative."""
    found: list[str] = []
    suspense: dict[str | None, Any] = dict(
        session.execute(
            select(Posting.customer_id, func.sum(Posting.credit) - func.sum(Posting.debit))
            .where(Posting.account_code == Account.SUSPENSE.value)
            .group_by(Posting.customer_id)
        ).all()
    )
    balances: dict[str | None, Any] = dict(
        session.execute(select(UnappliedFunds.customer_id, UnappliedFunds.balance)).all()
    )
    for customer_id in sorted(set(suspense) | set(balances), key=str):
        booked_s = int(suspense.get(customer_id) or 0)
        held = int(balances.get(customer_id) or 0)
        if booked_s != held:
            found.append(f"customer {customer_id}: unapplied funds {held}, suspense booked {booked_s}")
    # customer credit moved between contracts nets to zero per customer (both legs in one transaction)
    for customer_id, in_transit in session.execute(
        select(Posting.customer_id, func.sum(Posting.credit) - func.sum(Posting.debit))
        .where(Posting.account_code == Account.CREDIT_TRANSFER.value)
        .group_by(Posting.customer_id)
    ).all():
        if int(in_transit or 0):
            found.append(f"customer {customer_id}: credit in transfer {int(in_transit)} ≠ 0")
    negative = session.scalars(select(UnappliedFunds.customer_id).where(UnappliedFunds.balance < 0)).all()
    found.extend(f"customer {c}: negative unapplied funds" for c in negative)
    return found


def _succeeded_payment_totals(session: Session) -> tuple[int, int]:
    """Σ succeeded inbound and Σ succeeded outbound payments (fen)."""

    def total(direction: str) -> int:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.direction == direction, Payment.state == "succeeded"
                )
            )
            or 0
        )

    return total("inbound"), total("outbound")
