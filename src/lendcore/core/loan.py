"""A contract's life as a fold over its transactions, with the ledger postings each one implies.

- :func:`apply` ``(state, txn) -> (state, postings)``: one step of the fold. Every transaction first
  brings the contract's accruals up to its value date (interest, scheduled fees falling due, penalty)
  and books them, then does its own work.
- :func:`replay` ``(terms, txns) -> state``: the fold from nothing, over transactions sorted by
  ``(value_date, seq)`` after removing reversed transactions and the reversals themselves.
- :class:`LoanBook`: the aggregate a servicing use case keeps. :meth:`LoanBook.book` appends a
  transaction; a backdated one (or a reversal) rewinds to the snapshot kept just before the first
  affected transaction, reverses the journal entries of everything from there on (mirror entries,
  never deletes), and re-applies, so the book's state is always exactly ``replay`` of its
  transactions and its journal nets to the replayed postings.

Transactions refer to money in fen (> 0); ``seq`` is the contract's monotonic booking sequence (the
store assigns it) and breaks ties between transactions on the same value date.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from lendcore.core.accrual import Accrued, accrue, forgive_within_grace
from lendcore.core.allocation import Allocation, Bucket, Component, allocate, recompute_plan
from lendcore.core.contract import InstallmentState, LoanState, LoanTerms, Status
from lendcore.core.errors import BusinessRuleError, InvariantViolationError, NotFoundError, ValidationError
from lendcore.core.ledger import Account, JournalEntry, Posting, Side, merge_postings, reverse
from lendcore.core.money import Fen

# -- transactions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Disbursement:
    txn_id: str
    value_date: date
    seq: int
    amount: Fen


@dataclass(frozen=True, slots=True)
class Repayment:
    """Money received; allocated by the contract's waterfall (or ``waterfall``), surplus to suspense."""

    txn_id: str
    value_date: date
    seq: int
    amount: Fen
    waterfall: str | None = None


@dataclass(frozen=True, slots=True)
class InterestAccrual:
    """Accrue interest (and scheduled fees falling due) up to ``value_date``, exclusive."""

    txn_id: str
    value_date: date
    seq: int


@dataclass(frozen=True, slots=True)
class PenaltyAccrual:
    """Accrue interest and penalty up to ``value_date`` (the daily close books one per contract)."""

    txn_id: str
    value_date: date
    seq: int


@dataclass(frozen=True, slots=True)
class Fee:
    """A one-off fee charged to the current (or, after maturity, the last) installment."""

    txn_id: str
    value_date: date
    seq: int
    amount: Fen
    reason: str = ""


class WaiverKind(StrEnum):
    PENALTY = "penalty"
    INTEREST = "interest"
    FEE = "fee"


@dataclass(frozen=True, slots=True)
class Waiver:
    """Waive accrued penalty / interest / fee (oldest row first); ``amount=None`` waives all of it."""

    txn_id: str
    value_date: date
    seq: int
    kind: WaiverKind
    reason: str
    amount: Fen | None = None


@dataclass(frozen=True, slots=True)
class Reversal:
    """Undo an earlier transaction as if it never happened (booked through :class:`LoanBook`)."""

    txn_id: str
    value_date: date
    seq: int
    target_txn_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class WriteOff:
    txn_id: str
    value_date: date
    seq: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Recovery:
    """Money recovered on a written-off contract; beyond what was written off goes to suspense."""

    txn_id: str
    value_date: date
    seq: int
    amount: Fen


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """Move ``amount`` of this contract's suspense (customer credit) to another contract of the same
    customer, where a :class:`CreditApplication` naming this contract receives it. Refused
    (``INSUFFICIENT_CREDIT``) beyond the suspense held: a balance never goes negative."""

    txn_id: str
    value_date: date
    seq: int
    amount: Fen
    to_contract_id: str


@dataclass(frozen=True, slots=True)
class CreditApplication:
    """Apply ``amount`` of customer credit to what is *due* on the value date (rows due on or before
    it, the contract's waterfall, no prepayment). The credit is this contract's own suspense, or
    (``from_contract_id``) credit moved in by a :class:`CreditTransfer` on that contract. Whatever
    is not due stays in this contract's suspense, still the customer's."""

    txn_id: str
    value_date: date
    seq: int
    amount: Fen
    from_contract_id: str | None = None


Transaction = (
    Disbursement
    | Repayment
    | InterestAccrual
    | PenaltyAccrual
    | Fee
    | Waiver
    | Reversal
    | WriteOff
    | Recovery
    | CreditTransfer
    | CreditApplication
)

_NOT_REVERSIBLE = (InterestAccrual, PenaltyAccrual, Reversal)


def sort_key(txn: Transaction) -> tuple[date, int]:
    return (txn.value_date, txn.seq)


# -- the fold step -------------------------------------------------------------------------------


class _Poster:
    def __init__(self, terms: LoanTerms) -> None:
        self.contract_id = terms.contract_id
        self.customer_id = terms.customer_id
        self.lines: list[Posting] = []

    def __call__(self, debit: Account, credit: Account, amount: Fen) -> None:
        if amount > 0:
            self.lines.append(Posting(debit, Side.DEBIT, amount, self.contract_id, self.customer_id))
            self.lines.append(Posting(credit, Side.CREDIT, amount, self.contract_id, self.customer_id))
        elif amount < 0:
            raise InvariantViolationError("negative amount to post", code="NEGATIVE_POSTING", amount=amount)

    def done(self) -> tuple[Posting, ...]:
        return merge_postings(self.lines)


def _positive(amount: Fen, what: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(
            f"{what} must be a positive int of fen, got {amount!r}", code="AMOUNT_NOT_POSITIVE"
        )


def _post_accrued(post: _Poster, a: Accrued) -> None:
    post(Account.INTEREST_RECEIVABLE, Account.INTEREST_INCOME, a.interest)
    post(Account.PENALTY_RECEIVABLE, Account.PENALTY_INCOME, a.penalty)
    post(Account.FEE_RECEIVABLE, Account.FEE_INCOME, a.fee)


def _require_active(state: LoanState, txn: Transaction) -> None:
    if state.status is Status.PENDING:
        raise BusinessRuleError("the contract has not been disbursed", code="CONTRACT_NOT_DISBURSED")
    if state.status is Status.CLOSED:
        raise BusinessRuleError("the contract is closed", code="CONTRACT_CLOSED", txn_id=txn.txn_id)
    if state.status is Status.WRITTEN_OFF:
        raise BusinessRuleError("the contract is written off", code="CONTRACT_WRITTEN_OFF", txn_id=txn.txn_id)


def _maybe_close(state: LoanState) -> LoanState:
    if state.status is Status.ACTIVE and not any(r.outstanding for r in state.rows):
        return replace(state, status=Status.CLOSED)
    return state


def apply(state: LoanState, txn: Transaction) -> tuple[LoanState, tuple[Posting, ...]]:
    """Apply one transaction in value-date order. Pure: returns the new state and its postings.

    Refuses a transaction dated before what the state already reflects (``BACKDATED``: book it
    through :class:`LoanBook`, which replays) and reversals (``REVERSAL_NEEDS_BOOK``).
    """
    if state.last_value_date is not None and txn.value_date < state.last_value_date:
        raise BusinessRuleError(
            "transaction is dated before the contract's latest one; book it through LoanBook",
            code="BACKDATED",
            txn_id=txn.txn_id,
        )
    post = _Poster(state.terms)
    terms = state.terms
    on = txn.value_date
    if isinstance(txn, Reversal):
        raise BusinessRuleError("a reversal is booked through LoanBook", code="REVERSAL_NEEDS_BOOK")
    if isinstance(txn, Disbursement):
        _positive(txn.amount, "a disbursement")
        if state.status is not Status.PENDING:
            raise BusinessRuleError("the contract is already disbursed", code="ALREADY_DISBURSED")
        if txn.amount != terms.principal:
            raise BusinessRuleError(
                "disbursement must equal the contract principal", code="DISBURSEMENT_AMOUNT_MISMATCH"
            )
        if on != terms.start_date:
            raise BusinessRuleError(
                "disbursement must be value-dated on the contract start date",
                code="DISBURSEMENT_DATE_MISMATCH",
            )
        post(Account.LOAN_PRINCIPAL, Account.CASH, txn.amount)
        state = replace(
            state,
            status=Status.ACTIVE,
            principal_disbursed=txn.amount,
            accrued_through=on,
            penalty_through=on,
        )
    elif isinstance(txn, Repayment | Recovery):
        _positive(txn.amount, "a payment")
        if state.status is Status.PENDING:
            raise BusinessRuleError("the contract has not been disbursed", code="CONTRACT_NOT_DISBURSED")
        if isinstance(txn, Recovery):
            state = _recover(state, txn, post)
        elif state.status is Status.WRITTEN_OFF:
            raise BusinessRuleError(
                "the contract is written off; book a recovery", code="CONTRACT_WRITTEN_OFF"
            )
        else:
            state, a = accrue(state, on)
            _post_accrued(post, a)
            state = _repay(state, txn, post)
    elif isinstance(txn, CreditTransfer):
        _positive(txn.amount, "a credit transfer")
        if state.status is Status.PENDING:
            raise BusinessRuleError("the contract has not been disbursed", code="CONTRACT_NOT_DISBURSED")
        _require_credit(state, txn)
        post(Account.SUSPENSE, Account.CREDIT_TRANSFER, txn.amount)
        state = replace(state, suspense=state.suspense - txn.amount, credit_out=state.credit_out + txn.amount)
    elif isinstance(txn, CreditApplication):
        _positive(txn.amount, "a credit application")
        if state.status is Status.PENDING:
            raise BusinessRuleError("the contract has not been disbursed", code="CONTRACT_NOT_DISBURSED")
        if state.status is Status.WRITTEN_OFF:
            raise BusinessRuleError("the contract is written off", code="CONTRACT_WRITTEN_OFF")
        if txn.from_contract_id and txn.from_contract_id != terms.contract_id:
            post(Account.CREDIT_TRANSFER, Account.SUSPENSE, txn.amount)
            state = replace(
                state, suspense=state.suspense + txn.amount, credit_in=state.credit_in + txn.amount
            )
        else:
            _require_credit(state, txn)
        if state.status is Status.ACTIVE:
            state, a = accrue(state, on)
            _post_accrued(post, a)
            alloc = allocate(state, txn.amount, on, due_only=True)
            state = apply_allocation(state, alloc, on, post, source=Account.SUSPENSE)
            state = forgive_within_grace(state, on)
    elif isinstance(txn, InterestAccrual | PenaltyAccrual):
        state, a = accrue(state, on, penalty=isinstance(txn, PenaltyAccrual))
        _post_accrued(post, a)
    elif isinstance(txn, Fee):
        _positive(txn.amount, "a fee")
        _require_active(state, txn)
        state, a = accrue(state, on)
        _post_accrued(post, a)
        state = _charge_fee(state, txn)
        post(Account.FEE_RECEIVABLE, Account.FEE_INCOME, txn.amount)
    elif isinstance(txn, Waiver):
        if txn.amount is not None:
            _positive(txn.amount, "a waiver")
        _require_active(state, txn)
        state, a = accrue(state, on)
        _post_accrued(post, a)
        state = _waive(state, txn, post)
    elif isinstance(txn, WriteOff):
        _require_active(state, txn)
        state, a = accrue(state, on)
        _post_accrued(post, a)
        post(Account.WRITE_OFF_EXPENSE, Account.LOAN_PRINCIPAL, state.principal_outstanding)
        post(Account.WRITE_OFF_EXPENSE, Account.INTEREST_RECEIVABLE, state.interest_outstanding)
        post(Account.WRITE_OFF_EXPENSE, Account.PENALTY_RECEIVABLE, state.penalty_outstanding)
        post(Account.WRITE_OFF_EXPENSE, Account.FEE_RECEIVABLE, state.fee_outstanding)
        state = replace(state, status=Status.WRITTEN_OFF, written_off=state.total_outstanding)
    else:  # pragma: no cover - exhaustive over Transaction
        raise ValidationError(f"unknown transaction {txn!r}", code="UNKNOWN_TRANSACTION")
    state = replace(
        _maybe_close(state),
        last_value_date=on,
        transactions_applied=state.transactions_applied + 1,
    )
    return state, post.done()


def _require_credit(state: LoanState, txn: CreditTransfer | CreditApplication) -> None:
    if txn.amount > state.suspense:
        raise BusinessRuleError(
            f"the contract holds {state.suspense} fen of customer credit, not {txn.amount}",
            code="INSUFFICIENT_CREDIT",
            suspense=state.suspense,
            amount=txn.amount,
            txn_id=txn.txn_id,
        )


def _set_row(rows: list[InstallmentState], period: int, **changes: int) -> None:
    for i, row in enumerate(rows):
        if row.period == period:
            rows[i] = replace(row, **changes)  # type: ignore[arg-type]
            return
    raise InvariantViolationError(f"no installment {period}", code="NO_SUCH_INSTALLMENT")  # pragma: no cover


def apply_allocation(
    state: LoanState, alloc: Allocation, on: date, post: _Poster, *, source: Account = Account.CASH
) -> LoanState:
    """Book ``alloc``: ``source`` is cash (a repayment; the unapplied rest goes to suspense) or
    suspense (customer credit; what is applied leaves suspense, the rest simply stays there)."""
    rows = list(state.rows)
    by_period = {r.period: i for i, r in enumerate(rows)}
    for period in alloc.settled:
        # settled early: its scheduled fee is charged now (the fee line below pays it), and it owes
        # nothing more (accrual moves the rest of its period's interest to the next row)
        row = rows[by_period[period]]
        post(Account.FEE_RECEIVABLE, Account.FEE_INCOME, row.scheduled_fee)
        rows[by_period[period]] = replace(row, fee_charged=row.fee_charged + row.scheduled_fee, settled_on=on)
    for line in alloc.lines:
        if line.component is Component.PRINCIPAL and line.bucket is Bucket.ADVANCE:
            continue  # the prepayment, handled below
        i = by_period[line.period]
        row = rows[i]
        if line.component is Component.PENALTY:
            rows[i] = replace(row, penalty_paid=row.penalty_paid + line.amount)
            post(source, Account.PENALTY_RECEIVABLE, line.amount)
        elif line.component is Component.FEE:
            rows[i] = replace(row, fee_paid=row.fee_paid + line.amount)
            post(source, Account.FEE_RECEIVABLE, line.amount)
        elif line.component is Component.INTEREST:
            rows[i] = replace(row, interest_paid=row.interest_paid + line.amount)
            post(source, Account.INTEREST_RECEIVABLE, line.amount)
        else:
            rows[i] = replace(row, principal_paid=row.principal_paid + line.amount)
            post(source, Account.LOAN_PRINCIPAL, line.amount)
    state = replace(state, rows=tuple(rows))
    if alloc.prepaid_principal:
        not_due = sum(r.principal_outstanding for r in state.rows if r.due_date > on)
        state = replace(
            state,
            rows=recompute_plan(state, on, not_due - alloc.prepaid_principal),
            principal_prepaid=state.principal_prepaid + alloc.prepaid_principal,
            prepayment_fees=state.prepayment_fees + alloc.prepayment_fee,
        )
        post(source, Account.LOAN_PRINCIPAL, alloc.prepaid_principal)
        post(source, Account.FEE_INCOME, alloc.prepayment_fee)
    if source is Account.SUSPENSE:
        return replace(state, suspense=state.suspense - (alloc.amount - alloc.unapplied))
    post(source, Account.SUSPENSE, alloc.unapplied)
    return replace(state, suspense=state.suspense + alloc.unapplied)


def _repay(state: LoanState, txn: Repayment, post: _Poster) -> LoanState:
    state = replace(state, cash_in=state.cash_in + txn.amount)
    if state.status is Status.CLOSED:
        post(Account.CASH, Account.SUSPENSE, txn.amount)
        return replace(state, suspense=state.suspense + txn.amount)
    alloc = allocate(state, txn.amount, txn.value_date, txn.waterfall)
    state = apply_allocation(state, alloc, txn.value_date, post)
    return forgive_within_grace(state, txn.value_date)


def _recover(state: LoanState, txn: Recovery, post: _Poster) -> LoanState:
    if state.status is not Status.WRITTEN_OFF:
        raise BusinessRuleError("only a written-off contract takes recoveries", code="NOT_WRITTEN_OFF")
    recoverable = state.written_off - state.recovered
    take = min(recoverable, txn.amount)
    post(Account.CASH, Account.RECOVERY_INCOME, take)
    post(Account.CASH, Account.SUSPENSE, txn.amount - take)
    return replace(
        state,
        cash_in=state.cash_in + txn.amount,
        recovered=state.recovered + take,
        suspense=state.suspense + txn.amount - take,
    )


def _charge_fee(state: LoanState, txn: Fee) -> LoanState:
    rows = list(state.rows)
    target = next((r for r in rows if r.due_date >= txn.value_date), rows[-1])
    _set_row(rows, target.period, fee_charged=target.fee_charged + txn.amount)
    return replace(state, rows=tuple(rows))


_WAIVE_FIELDS = {
    WaiverKind.PENALTY: ("penalty_outstanding", "penalty_waived", Account.PENALTY_RECEIVABLE),
    WaiverKind.INTEREST: ("interest_outstanding", "interest_waived", Account.INTEREST_RECEIVABLE),
    WaiverKind.FEE: ("fee_outstanding", "fee_waived", Account.FEE_RECEIVABLE),
}


def _waive(state: LoanState, txn: Waiver, post: _Poster) -> LoanState:
    outstanding_attr, waived_attr, account = _WAIVE_FIELDS[txn.kind]
    available = sum(getattr(r, outstanding_attr) for r in state.rows)
    if available == 0:
        raise BusinessRuleError(f"no {txn.kind} to waive", code="NOTHING_TO_WAIVE", kind=str(txn.kind))
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
    post(Account.WAIVER_EXPENSE, account, amount)
    return replace(state, rows=tuple(rows))


# -- replay ------------------------------------------------------------------------------------


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


def replay(terms: LoanTerms, txns: Iterable[Transaction]) -> LoanState:
    """The contract's state from nothing: the fold of :func:`apply` over its transactions."""
    state = LoanState.new(terms)
    for txn in effective_transactions(txns):
        state, _ = apply(state, txn)
    return state


def replay_postings(terms: LoanTerms, txns: Iterable[Transaction]) -> tuple[LoanState, tuple[Posting, ...]]:
    state = LoanState.new(terms)
    out: list[Posting] = []
    for txn in effective_transactions(txns):
        state, postings = apply(state, txn)
        out.extend(postings)
    return state, tuple(out)


# -- the aggregate: transactions, snapshots, journal ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    """One applied transaction with the state after it (a snapshot) and the entry it booked."""

    txn: Transaction
    state: LoanState
    entry: JournalEntry | None


@dataclass(frozen=True, slots=True)
class LoanBook:
    """A contract's transactions, a state snapshot after each, and its journal (append-only)."""

    terms: LoanTerms
    applied: tuple[Applied, ...] = ()
    reversals: tuple[Reversal, ...] = ()
    reversed_txns: tuple[Transaction, ...] = ()  # targets of the reversals, no longer applied
    journal: tuple[JournalEntry, ...] = ()

    @property
    def state(self) -> LoanState:
        return self.applied[-1].state if self.applied else LoanState.new(self.terms)

    @property
    def transactions(self) -> tuple[Transaction, ...]:
        """Every transaction ever booked: what :func:`replay` needs to rebuild :attr:`state`."""
        return tuple(a.txn for a in self.applied) + self.reversed_txns + self.reversals

    def book(self, txn: Transaction) -> tuple[LoanBook, tuple[JournalEntry, ...]]:
        """Book one transaction; returns the new book and the journal entries it appended.

        On-time transactions cost one :func:`apply`. A backdated transaction or a reversal rewinds to
        the snapshot before the first affected transaction, mirrors the entries booked since, and
        re-applies; any error leaves the book unchanged.
        """
        if any(t.txn_id == txn.txn_id for t in self.transactions):
            raise BusinessRuleError(
                f"transaction {txn.txn_id} is already booked", code="DUPLICATE_TRANSACTION"
            )
        if isinstance(txn, Reversal):
            return self._reverse(txn)
        key = sort_key(txn)
        if not self.applied or sort_key(self.applied[-1].txn) <= key:
            index = len(self.applied)
        else:
            index = bisect_right([sort_key(a.txn) for a in self.applied], key)
        redo = [txn, *(a.txn for a in self.applied[index:])]
        return self._rebook(index, redo, memo=f"rebooked for backdated {txn.txn_id}")

    def _reverse(self, txn: Reversal) -> tuple[LoanBook, tuple[JournalEntry, ...]]:
        index = next((i for i, a in enumerate(self.applied) if a.txn.txn_id == txn.target_txn_id), None)
        if index is None:
            if any(t.txn_id == txn.target_txn_id for t in self.reversed_txns):
                raise BusinessRuleError("that transaction is already reversed", code="ALREADY_REVERSED")
            raise NotFoundError(
                f"no transaction {txn.target_txn_id} to reverse",
                code="REVERSAL_TARGET_NOT_FOUND",
                target=txn.target_txn_id,
            )
        target = self.applied[index].txn
        if isinstance(target, _NOT_REVERSIBLE):
            raise BusinessRuleError(
                "accruals are recomputed, not reversed", code="REVERSAL_NOT_ALLOWED", target=target.txn_id
            )
        redo = [a.txn for a in self.applied[index + 1 :]]
        book, entries = self._rebook(index, redo, memo=f"reversal {txn.txn_id} of {target.txn_id}")
        book = replace(book, reversals=(*self.reversals, txn), reversed_txns=(*self.reversed_txns, target))
        return book, entries

    def _rebook(
        self, index: int, redo: Sequence[Transaction], memo: str
    ) -> tuple[LoanBook, tuple[JournalEntry, ...]]:
        counter = len(self.journal)
        new_entries: list[JournalEntry] = []
        for a in reversed(self.applied[index:]):
            if a.entry is not None:
                new_entries.append(
                    reverse(
                        a.entry, f"{self.terms.contract_id}:je{counter + len(new_entries) + 1}", memo=memo
                    )
                )
        state = self.applied[index - 1].state if index > 0 else LoanState.new(self.terms)
        applied = list(self.applied[:index])
        for t in redo:
            state, postings = apply(state, t)
            entry = None
            if postings:
                entry = JournalEntry(
                    entry_id=f"{self.terms.contract_id}:je{counter + len(new_entries) + 1}",
                    value_date=t.value_date,
                    postings=postings,
                    txn_id=t.txn_id,
                    memo=type(t).__name__,
                )
                new_entries.append(entry)
            applied.append(Applied(t, state, entry))
        entries = tuple(new_entries)
        return replace(self, applied=tuple(applied), journal=self.journal + entries), entries


def open_book(terms: LoanTerms) -> LoanBook:
    return LoanBook(terms)


def book_all(terms: LoanTerms, txns: Iterable[Transaction]) -> LoanBook:
    """Book transactions one by one in the order given (arrival order, backdated ones included)."""
    book = LoanBook(terms)
    for t in txns:
        book, _ = book.book(t)
    return book
