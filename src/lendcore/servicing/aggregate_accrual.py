"""What the general ledger holds in aggregate for a contract, and moving it onto the contract.

The daily close accrues quiet contracts in aggregate (:mod:`lendcore.batch.close_sql`): per product
and date, Dr 1132.91 (interest accrued in aggregate) / Cr 6011.01 (interest income), with no
contract row written. A contract's share is derivable from its columns (:mod:`lendcore.core.quiet`):
``cumulative_interest(accrual columns, accrued_through → aggregated_through)``.

When the contract's next transaction is folded, the fold's own catch-up accrual books the whole
interest since ``accrued_through`` on the contract (Dr 1132.01 / Cr 6011.01), that share included. So
booking also posts the share back (:func:`transfer_entry`: Dr 6011.01 / Cr 1132.91, on the contract)
and clears ``aggregated_through``: the income is recognised once, and the receivable has moved from
the aggregate account to the contract. The invariant (checked by
:func:`lendcore.servicing.invariants.check_invariants`), per product::

    balance of 1132.91 = Σ over the product's contracts of aggregated_interest(contract)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol

from lendcore.core import ledger
from lendcore.core.ledger import Account, Posting, Side
from lendcore.core.money import Fen
from lendcore.core.quiet import cumulative_interest

__all__ = ["AccrualColumns", "aggregated_interest", "transfer_entry"]


class AccrualColumns(Protocol):
    """A contract row, ORM object or plain selected row, with its quiet-day columns."""

    @property
    def accrual_basis(self) -> int | None: ...
    @property
    def accrual_rate(self) -> str | None: ...
    @property
    def accrual_exact(self) -> str | None: ...
    @property
    def accrual_booked(self) -> int | None: ...
    @property
    def accrued_through(self) -> date | None: ...
    @property
    def aggregated_through(self) -> date | None: ...


def aggregated_interest(row: AccrualColumns) -> Fen:
    """The contract's interest the aggregate account holds (0 if the aggregate covers no day of it)."""
    through, start = row.aggregated_through, row.accrued_through
    if through is None or start is None or row.accrual_basis is None:
        return 0
    if row.accrual_rate is None or row.accrual_exact is None or row.accrual_booked is None:
        return 0
    return cumulative_interest(
        row.accrual_basis,
        Decimal(row.accrual_rate),
        Decimal(row.accrual_exact),
        row.accrual_booked,
        start,
        through,
    )


def transfer_entry(
    amount: Fen, *, contract_id: str, customer_id: str, on: date, txn_id: str
) -> ledger.JournalEntry:
    """The entry that takes a contract's aggregated interest back out of the aggregate (its fold books
    it on the contract itself): Dr interest income, Cr interest accrued in aggregate."""
    return ledger.JournalEntry(
        f"aggregate:{txn_id}",
        on,
        (
            Posting(Account.INTEREST_INCOME, Side.DEBIT, amount, contract_id, customer_id),
            Posting(Account.INTEREST_ACCRUED_AGGREGATE, Side.CREDIT, amount, contract_id, customer_id),
        ),
        "",
        "AggregateAccrualToContract",
    )
