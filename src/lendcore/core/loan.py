"""A contract's life as a fold over its transactions, with the ledger postings each one implies.

- :func:`apply` ``(state, txn) -> Outcome``: one step of the fold. Every transaction first brings the
  contract's accruals up to its value date (interest, scheduled fees falling due, penalty) and books
  them, then does its own work. Like beancount's ``Inventory.add_amount``, it returns what it did:
  the new state, the postings, the accruals it booked and (payments) the allocation it made.
- :func:`fold` ``(state, txns)``: the fold itself, the one place transactions are applied in order;
  :func:`replay` (the state from nothing), :func:`replay_postings` and the book
  (:mod:`lendcore.core.book`, backdating and reversals) are built on it.

Transactions are in :mod:`lendcore.core.transactions` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

from lendcore.core.accrual import Accrued, accrue, forgive_within_grace
from lendcore.core.allocation import Allocation, Bucket, Component, allocate, recompute_plan
from lendcore.core.contract import InstallmentState, LoanState, LoanTerms, Status
from lendcore.core.errors import BusinessRuleError, InvariantViolationError, NotFoundError, ValidationError
from lendcore.core.evolve import evolve
from lendcore.core.ledger import Account, Posting, Side
from lendcore.core.money import Fen
from lendcore.core.restructure import RestructureKind, restructured_state
from lendcore.core.transactions import (
    NOT_REVERSIBLE,
    TRANSACTION_TYPES,
    CreditApplication,
    CreditTransfer,
    Disbursement,
    Fee,
    InterestAccrual,
    PenaltyAccrual,
    Recovery,
    Repayment,
    Restructure,
    Reversal,
    Transaction,
    Waiver,
    WaiverKind,
    WriteOff,
    sort_key,
)

__all__ = [
    "NOT_REVERSIBLE",
    "TRANSACTION_TYPES",
    "CreditApplication",
    "CreditTransfer",
    "Disbursement",
    "Fee",
    "InterestAccrual",
    "Outcome",
    "PenaltyAccrual",
    "Recovery",
    "Repayment",
    "Restructure",
    "Reversal",
    "Transaction",
    "Waiver",
    "WaiverKind",
    "WriteOff",
    "apply",
    "apply_allocation",
    "effective_transactions",
    "fold",
    "replay",
    "replay_postings",
    "sort_key",
]


NOTHING_ACCRUED: Final = Accrued()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one transaction did to a contract."""

    state: LoanState  # the state after it
    postings: tuple[Posting, ...]  # the ledger postings it implies (merged; empty if none)
    accrued: Accrued = NOTHING_ACCRUED  # receivables brought up to its value date before its work
    allocation: Allocation | None = None  # how a payment (or applied credit) was allocated


# -- the step's working ------------------------------------------------------------------------------


class _Poster:
    """Collects a step's postings already merged: what :func:`merge_postings` of the lines would give
    (one per account and side, in first-seen order), without building a posting per line first."""

    def __init__(self, terms: LoanTerms) -> None:
        self.contract_id = terms.contract_id
        self.customer_id = terms.customer_id
        self.totals: dict[tuple[Account, Side], Fen] = {}

    def __call__(self, debit: Account, credit: Account, amount: Fen) -> None:
        if amount > 0:
            totals = self.totals
            key = (debit, Side.DEBIT)
            totals[key] = totals.get(key, 0) + amount
            key = (credit, Side.CREDIT)
            totals[key] = totals.get(key, 0) + amount
        elif amount < 0:
            raise InvariantViolationError("negative amount to post", code="NEGATIVE_POSTING", amount=amount)

    def done(self) -> tuple[Posting, ...]:
        contract, customer = self.contract_id, self.customer_id
        return tuple(Posting(a, side, n, contract, customer) for (a, side), n in self.totals.items())


class _Step:
    """The working of one :func:`apply`: its postings, the accruals it booked, its allocation."""

    def __init__(self, terms: LoanTerms) -> None:
        self.post = _Poster(terms)
        self.accrued = Accrued()
        self.allocation: Allocation | None = None

    def accrue(self, state: LoanState, on: date, *, penalty: bool = True) -> LoanState:
        state, a = accrue(state, on, penalty=penalty)
        self.post(Account.INTEREST_RECEIVABLE, Account.INTEREST_INCOME, a.interest)
        self.post(Account.PENALTY_RECEIVABLE, Account.PENALTY_INCOME, a.penalty)
        self.post(Account.FEE_RECEIVABLE, Account.FEE_INCOME, a.fee)
        self.accrued = self.accrued + a
        return state

    def allocate(
        self, state: LoanState, alloc: Allocation, on: date, *, source: Account = Account.CASH
    ) -> LoanState:
        self.allocation = alloc
        return apply_allocation(state, alloc, on, self.post, source=source)


def _positive(amount: Fen, what: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(
            f"{what} must be a positive int of fen, got {amount!r}", code="AMOUNT_NOT_POSITIVE"
        )


def _require_disbursed(state: LoanState) -> None:
    if state.status is Status.PENDING:
        raise BusinessRuleError("the contract has not been disbursed", code="CONTRACT_NOT_DISBURSED")


def _require_active(state: LoanState, txn: Transaction) -> None:
    _require_disbursed(state)
    if state.status is Status.CLOSED:
        raise BusinessRuleError("the contract is closed", code="CONTRACT_CLOSED", txn_id=txn.txn_id)
    if state.status is Status.WRITTEN_OFF:
        raise BusinessRuleError("the contract is written off", code="CONTRACT_WRITTEN_OFF", txn_id=txn.txn_id)


def _require_credit(state: LoanState, txn: CreditTransfer | CreditApplication) -> None:
    if txn.amount > state.suspense:
        raise BusinessRuleError(
            f"the contract holds {state.suspense} fen of customer credit, not {txn.amount}",
            code="INSUFFICIENT_CREDIT",
            suspense=state.suspense,
            amount=txn.amount,
            txn_id=txn.txn_id,
        )


def _closing_status(state: LoanState) -> Status:
    """The status after a step: an active contract owing nothing is closed."""
    # the last rows are the last to be paid: scanning from the end finds what is owed at once
    if state.status is Status.ACTIVE and not any(r.outstanding for r in reversed(state.rows)):
        return Status.CLOSED
    return state.status


def _maybe_close(state: LoanState) -> LoanState:
    status = _closing_status(state)
    return state if status is state.status else evolve(state, status=status)


# -- one handler per transaction type ----------------------------------------------------------------


def _disburse(state: LoanState, txn: Disbursement, step: _Step) -> LoanState:
    _positive(txn.amount, "a disbursement")
    terms = state.terms
    if state.status is not Status.PENDING:
        raise BusinessRuleError("the contract is already disbursed", code="ALREADY_DISBURSED")
    if txn.amount != terms.principal:
        raise BusinessRuleError(
            "disbursement must equal the contract principal", code="DISBURSEMENT_AMOUNT_MISMATCH"
        )
    if txn.value_date != terms.start_date:
        raise BusinessRuleError(
            "disbursement must be value-dated on the contract start date", code="DISBURSEMENT_DATE_MISMATCH"
        )
    step.post(Account.LOAN_PRINCIPAL, Account.CASH, txn.amount)
    on = txn.value_date
    return replace(
        state, status=Status.ACTIVE, principal_disbursed=txn.amount, accrued_through=on, penalty_through=on
    )


def _repay(state: LoanState, txn: Repayment, step: _Step) -> LoanState:
    _positive(txn.amount, "a payment")
    _require_disbursed(state)
    if state.status is Status.WRITTEN_OFF:
        raise BusinessRuleError("the contract is written off; book a recovery", code="CONTRACT_WRITTEN_OFF")
    state = evolve(step.accrue(state, txn.value_date), cash_in=state.cash_in + txn.amount)
    if state.status is Status.CLOSED or txn.hold:
        step.post(Account.CASH, Account.SUSPENSE, txn.amount)
        return evolve(state, suspense=state.suspense + txn.amount)
    alloc = allocate(state, txn.amount, txn.value_date, txn.waterfall)
    state = step.allocate(state, alloc, txn.value_date)
    return forgive_within_grace(state, txn.value_date)


def _recover(state: LoanState, txn: Recovery, step: _Step) -> LoanState:
    _positive(txn.amount, "a payment")
    _require_disbursed(state)
    if state.status is not Status.WRITTEN_OFF:
        raise BusinessRuleError("only a written-off contract takes recoveries", code="NOT_WRITTEN_OFF")
    take = min(state.written_off - state.recovered, txn.amount)
    step.post(Account.CASH, Account.RECOVERY_INCOME, take)
    step.post(Account.CASH, Account.SUSPENSE, txn.amount - take)
    return replace(
        state,
        cash_in=state.cash_in + txn.amount,
        recovered=state.recovered + take,
        suspense=state.suspense + txn.amount - take,
    )


def _transfer_credit(state: LoanState, txn: CreditTransfer, step: _Step) -> LoanState:
    _positive(txn.amount, "a credit transfer")
    _require_disbursed(state)
    _require_credit(state, txn)
    step.post(Account.SUSPENSE, Account.CREDIT_TRANSFER, txn.amount)
    return replace(state, suspense=state.suspense - txn.amount, credit_out=state.credit_out + txn.amount)


def _apply_credit(state: LoanState, txn: CreditApplication, step: _Step) -> LoanState:
    _positive(txn.amount, "a credit application")
    _require_disbursed(state)
    if state.status is Status.WRITTEN_OFF:
        raise BusinessRuleError("the contract is written off", code="CONTRACT_WRITTEN_OFF")
    if txn.from_contract_id and txn.from_contract_id != state.terms.contract_id:
        step.post(Account.CREDIT_TRANSFER, Account.SUSPENSE, txn.amount)
        state = replace(state, suspense=state.suspense + txn.amount, credit_in=state.credit_in + txn.amount)
    else:
        _require_credit(state, txn)
    if state.status is not Status.ACTIVE:
        return state
    on = txn.value_date
    state = step.accrue(state, on)
    alloc = allocate(state, txn.amount, on, due_only=True)
    state = step.allocate(state, alloc, on, source=Account.SUSPENSE)
    return forgive_within_grace(state, on)


def _accrue_only(state: LoanState, txn: InterestAccrual | PenaltyAccrual, step: _Step) -> LoanState:
    # money in flight holds the penalty (PenaltyAccrual.covered_by_payment): it is not charged while
    # the payment may still succeed, and caught up by the first accrual after it is final
    penalty = isinstance(txn, PenaltyAccrual) and txn.covered_by_payment == 0
    return step.accrue(state, txn.value_date, penalty=penalty)


def _charge_fee(state: LoanState, txn: Fee, step: _Step) -> LoanState:
    _positive(txn.amount, "a fee")
    _require_active(state, txn)
    state = step.accrue(state, txn.value_date)
    rows = list(state.rows)
    target = next((r for r in rows if r.due_date >= txn.value_date), rows[-1])
    _set_row(rows, target.period, fee_charged=target.fee_charged + txn.amount)
    step.post(Account.FEE_RECEIVABLE, Account.FEE_INCOME, txn.amount)
    return replace(state, rows=tuple(rows))


_WAIVE_FIELDS: Final = {
    WaiverKind.PENALTY: ("penalty_outstanding", "penalty_waived", Account.PENALTY_RECEIVABLE),
    WaiverKind.INTEREST: ("interest_outstanding", "interest_waived", Account.INTEREST_RECEIVABLE),
    WaiverKind.FEE: ("fee_outstanding", "fee_waived", Account.FEE_RECEIVABLE),
}


def _refund_paid_penalty(state: LoanState, txn: Waiver, step: _Step) -> LoanState:
    """Waive penalty already paid, the money back to the customer as suspense (Waiver.refund_paid)."""
    if txn.kind is not WaiverKind.PENALTY or not txn.at_most:
        raise ValidationError("only penalty is refunded, at most what was paid", code="INVALID_WAIVER_KIND")
    _require_disbursed(state)
    if state.status is Status.WRITTEN_OFF:
        return state  # its money is a recovery: nothing of it is refunded as credit
    if state.status is Status.ACTIVE:
        state = step.accrue(state, txn.value_date)
    paid = sum(r.penalty_paid for r in state.rows)
    amount = paid if txn.amount is None else min(txn.amount, paid)
    if amount == 0:
        return state
    rows, left = list(state.rows), amount
    for i, row in enumerate(rows):
        take = min(left, row.penalty_paid)
        if take:
            rows[i] = replace(
                row, penalty_paid=row.penalty_paid - take, penalty_waived=row.penalty_waived + take
            )
            left -= take
    step.post(Account.WAIVER_EXPENSE, Account.SUSPENSE, amount)
    return replace(state, rows=tuple(rows), suspense=state.suspense + amount)


def _waive(state: LoanState, txn: Waiver, step: _Step) -> LoanState:
    if txn.amount is not None:
        _positive(txn.amount, "a waiver")
    if txn.refund_paid:
        return _refund_paid_penalty(state, txn, step)
    if txn.at_most and state.status is not Status.ACTIVE:
        return state  # a late payment replayed ahead of it settled the contract: nothing left to waive
    _require_active(state, txn)
    state = step.accrue(state, txn.value_date)
    outstanding_attr, waived_attr, account = _WAIVE_FIELDS[txn.kind]
    available = sum(getattr(r, outstanding_attr) for r in state.rows)
    if txn.at_most:
        if available == 0:
            return state
        amount = available if txn.amount is None else min(txn.amount, available)
    elif available == 0:
        raise BusinessRuleError(f"no {txn.kind} to waive", code="NOTHING_TO_WAIVE", kind=str(txn.kind))
    else:
        amount = available if txn.amount is None else txn.amount
    if amount > available:
        raise BusinessRuleError(
            f"waiver of {amount} exceeds the {available} {txn.kind} outstanding",
            code="WAIVER_EXCEEDS_OUTSTANDING",
            outstanding=available,
        )
    rows = list(state.rows)
    left = amount
    for i, row in enumerate(rows):
        take = min(left, getattr(row, outstanding_attr))
        if take:
            rows[i] = replace(row, **{waived_attr: getattr(row, waived_attr) + take})
            left -= take
    step.post(Account.WAIVER_EXPENSE, account, amount)
    return replace(state, rows=tuple(rows))


def _write_off(state: LoanState, txn: WriteOff, step: _Step) -> LoanState:
    _require_active(state, txn)
    state = step.accrue(state, txn.value_date)
    step.post(Account.WRITE_OFF_EXPENSE, Account.LOAN_PRINCIPAL, state.principal_outstanding)
    step.post(Account.WRITE_OFF_EXPENSE, Account.INTEREST_RECEIVABLE, state.interest_outstanding)
    step.post(Account.WRITE_OFF_EXPENSE, Account.PENALTY_RECEIVABLE, state.penalty_outstanding)
    step.post(Account.WRITE_OFF_EXPENSE, Account.FEE_RECEIVABLE, state.fee_outstanding)
    return replace(state, status=Status.WRITTEN_OFF, written_off=state.total_outstanding)


def _restructure(state: LoanState, txn: Restructure, step: _Step) -> LoanState:
    # re-plans the rows only: receivables are unchanged (arrears kept as due), so nothing is posted
    _require_active(state, txn)
    state = step.accrue(state, txn.value_date)
    return restructured_state(state, txn.value_date, RestructureKind(txn.kind), txn.periods)


def _reversal_needs_book(state: LoanState, txn: Reversal, step: _Step) -> LoanState:
    raise BusinessRuleError("a reversal is booked through LoanBook", code="REVERSAL_NEEDS_BOOK")


#: The work of each transaction type (the fold dispatches on the exact type).
_HANDLERS: Final[dict[type[Any], Callable[[LoanState, Any, _Step], LoanState]]] = {
    Disbursement: _disburse,
    Repayment: _repay,
    Recovery: _recover,
    CreditTransfer: _transfer_credit,
    CreditApplication: _apply_credit,
    InterestAccrual: _accrue_only,
    PenaltyAccrual: _accrue_only,
    Fee: _charge_fee,
    Waiver: _waive,
    WriteOff: _write_off,
    Reversal: _reversal_needs_book,
    Restructure: _restructure,
}
if set(_HANDLERS) != set(TRANSACTION_TYPES):  # pragma: no cover - a new type must get a handler
    raise InvariantViolationError("a transaction type has no handler", code="UNHANDLED_TRANSACTION")


def apply(state: LoanState, txn: Transaction) -> Outcome:
    """Apply one transaction in value-date order. Pure: returns what it did (:class:`Outcome`).

    Refuses a transaction dated before what the state already reflects (``BACKDATED``: book it
    through :class:`~lendcore.core.book.LoanBook`, which replays) and reversals
    (``REVERSAL_NEEDS_BOOK``).
    """
    if state.last_value_date is not None and txn.value_date < state.last_value_date:
        raise BusinessRuleError(
            "transaction is dated before the contract's latest one; book it through LoanBook",
            code="BACKDATED",
            txn_id=txn.txn_id,
        )
    handler = _HANDLERS.get(type(txn))
    if handler is None:
        raise ValidationError(f"unknown transaction {txn!r}", code="UNKNOWN_TRANSACTION")
    step = _Step(state.terms)
    after = handler(state, txn, step)
    after = evolve(
        after,
        status=_closing_status(after),
        last_value_date=txn.value_date,
        transactions_applied=after.transactions_applied + 1,
    )
    return Outcome(after, step.post.done(), step.accrued, step.allocation)


def _set_row(rows: list[InstallmentState], period: int, **changes: int) -> None:
    for i, row in enumerate(rows):
        if row.period == period:
            rows[i] = replace(row, **changes)  # type: ignore[arg-type]
            return
    raise InvariantViolationError(f"no installment {period}", code="NO_SUCH_INSTALLMENT")  # pragma: no cover


def apply_allocation(
    state: LoanState, alloc: Allocation, on: date, post: Callable[[Account, Account, Fen], None], *,
    source: Account = Account.CASH,
) -> LoanState:  # fmt: skip
    """Book ``alloc``: ``source`` is cash (a repayment; the unapplied rest goes to suspense) or
    suspense (customer credit; what is applied leaves suspense, the rest simply stays there)."""
    rows = list(state.rows)
    by_period = {r.period: i for i, r in enumerate(rows)}
    for period in alloc.settled:
        # settled early: its scheduled fee is charged now (the fee line below pays it), and it owes
        # nothing more (accrual moves the rest of its period's interest to the next row)
        row = rows[by_period[period]]
        post(Account.FEE_RECEIVABLE, Account.FEE_INCOME, row.scheduled_fee)
        rows[by_period[period]] = evolve(row, fee_charged=row.fee_charged + row.scheduled_fee, settled_on=on)
    for line in alloc.lines:
        if line.component is Component.PRINCIPAL and line.bucket is Bucket.ADVANCE:
            continue  # the prepayment, handled below
        i = by_period[line.period]
        row = rows[i]
        if line.component is Component.PENALTY:
            rows[i] = evolve(row, penalty_paid=row.penalty_paid + line.amount)
            post(source, Account.PENALTY_RECEIVABLE, line.amount)
        elif line.component is Component.FEE:
            rows[i] = evolve(row, fee_paid=row.fee_paid + line.amount)
            post(source, Account.FEE_RECEIVABLE, line.amount)
        elif line.component is Component.INTEREST:
            rows[i] = evolve(row, interest_paid=row.interest_paid + line.amount)
            post(source, Account.INTEREST_RECEIVABLE, line.amount)
        else:
            rows[i] = evolve(row, principal_paid=row.principal_paid + line.amount)
            post(source, Account.LOAN_PRINCIPAL, line.amount)
    state = evolve(state, rows=tuple(rows))
    if alloc.prepaid_principal:
        not_due = sum(r.principal_outstanding for r in state.rows if r.due_date > on)
        state = evolve(
            state,
            rows=recompute_plan(state, on, not_due - alloc.prepaid_principal),
            principal_prepaid=state.principal_prepaid + alloc.prepaid_principal,
            prepayment_fees=state.prepayment_fees + alloc.prepayment_fee,
        )
        post(source, Account.LOAN_PRINCIPAL, alloc.prepaid_principal)
        post(source, Account.FEE_INCOME, alloc.prepayment_fee)
    if source is Account.SUSPENSE:
        return evolve(state, suspense=state.suspense - (alloc.amount - alloc.unapplied))
    post(source, Account.SUSPENSE, alloc.unapplied)
    return evolve(state, suspense=state.suspense + alloc.unapplied)


# -- the fold ----------------------------------------------------------------------------------------


def effective_transactions(txns: Iterable[Transaction]) -> list[Transaction]:
    """Transactions that shape the state: reversals and their targets removed, in fold order."""
    txns = list(txns)
    ids = {t.txn_id for t in txns}
    reversed_ids: set[str] = set()
    for t in txns:
        if isinstance(t, Reversal):
            if t.target_txn_id not in ids:
                raise NotFoundError(
                    f"no transaction {t.target_txn_id} to reverse",
                    code="REVERSAL_TARGET_NOT_FOUND",
                    target=t.target_txn_id,
                )
            reversed_ids.add(t.target_txn_id)
    kept = [t for t in txns if not isinstance(t, Reversal) and t.txn_id not in reversed_ids]
    return sorted(kept, key=sort_key)


def fold(state: LoanState, txns: Iterable[Transaction]) -> Iterator[tuple[Transaction, Outcome]]:
    """Apply ``txns`` to ``state`` in the order given, yielding each transaction with its outcome.
    The one fold: replay, the book's rebooking and the store's book loading are all this loop."""
    for txn in txns:
        outcome = apply(state, txn)
        state = outcome.state
        yield txn, outcome


def replay(terms: LoanTerms, txns: Iterable[Transaction]) -> LoanState:
    """The contract's state from nothing: the fold of :func:`apply` over its transactions."""
    return replay_postings(terms, txns)[0]


def replay_postings(terms: LoanTerms, txns: Iterable[Transaction]) -> tuple[LoanState, tuple[Posting, ...]]:
    """The state from nothing and every posting the effective transactions imply, in fold order."""
    state = LoanState.new(terms)
    postings: list[Posting] = []
    for _, outcome in fold(state, effective_transactions(txns)):
        state = outcome.state
        postings.extend(outcome.postings)
    return state, tuple(postings)
