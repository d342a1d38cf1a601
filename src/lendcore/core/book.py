"""The aggregate a servicing use case keeps: a contract's transactions, a snapshot after each, and
its journal.

:meth:`LoanBook.book` appends a transaction; a backdated one (or a reversal) rewinds to the snapshot
kept just before the first affected transaction, reverses the journal entries of everything from there
on (mirror entries, never deletes), and re-applies through :func:`~lendcore.core.loan.fold`, so the
book's state is always exactly :func:`~lendcore.core.loan.replay` of its transactions and its journal
nets to the replayed postings.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from lendcore.core.contract import LoanState, LoanTerms
from lendcore.core.errors import BusinessRuleError, InvariantViolationError, NotFoundError
from lendcore.core.ledger import JournalEntry, reverse
from lendcore.core.loan import Outcome, effective_transactions, fold
from lendcore.core.transactions import NOT_REVERSIBLE, Reversal, Transaction, sort_key


@dataclass(frozen=True, slots=True)
class Applied:
    """One applied transaction with what it did (the state after it: a snapshot) and its entry."""

    txn: Transaction
    outcome: Outcome
    entry: JournalEntry | None

    @property
    def state(self) -> LoanState:
        return self.outcome.state


@dataclass(frozen=True, slots=True)
class LoanBook:
    """A contract's transactions, a state snapshot after each, and its journal (append-only)."""

    terms: LoanTerms
    applied: tuple[Applied, ...] = ()
    reversals: tuple[Reversal, ...] = ()
    reversed_txns: tuple[Transaction, ...] = ()  # targets of the reversals, no longer applied
    journal: tuple[JournalEntry, ...] = ()

    @classmethod
    def rebuild(
        cls, terms: LoanTerms, txns: Iterable[Transaction], entry_id: Callable[[Transaction], str | None]
    ) -> LoanBook:
        """The book of stored transactions (any order, reversals included), replayed once.
        ``entry_id`` names the live journal entry each transaction booked (the store's ids), so the
        mirrors of a later rebooking can name the entries they reverse."""
        txns = list(txns)
        reversals = tuple(t for t in txns if isinstance(t, Reversal))
        targets = {r.target_txn_id for r in reversals}
        applied: list[Applied] = []
        journal: list[JournalEntry] = []
        for t, outcome in fold(LoanState.new(terms), effective_transactions(txns)):
            entry = None
            if outcome.postings:
                live = entry_id(t)
                if live is None:
                    raise InvariantViolationError(
                        f"transaction {t.txn_id} has postings but no live journal entry",
                        code="LEDGER_INCONSISTENT",
                    )
                entry = JournalEntry(live, t.value_date, outcome.postings, t.txn_id, type(t).__name__)
                journal.append(entry)
            applied.append(Applied(t, outcome, entry))
        reversed_txns = tuple(t for t in txns if t.txn_id in targets)
        return cls(terms, tuple(applied), reversals, reversed_txns, tuple(journal))

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
        if isinstance(target, NOT_REVERSIBLE):
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
        for t, outcome in fold(state, redo):
            entry = None
            if outcome.postings:
                entry = JournalEntry(
                    entry_id=f"{self.terms.contract_id}:je{counter + len(new_entries) + 1}",
                    value_date=t.value_date,
                    postings=outcome.postings,
                    txn_id=t.txn_id,
                    memo=type(t).__name__,
                )
                new_entries.append(entry)
            applied.append(Applied(t, outcome, entry))
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
