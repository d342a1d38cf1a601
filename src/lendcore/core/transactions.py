"""The transactions a contract's life is folded over (plain frozen values).

Money in fen (> 0); ``value_date`` is when the transaction takes effect; ``seq`` is the contract's
monotonic booking sequence (the store assigns it) and breaks ties between transactions on the same
value date. :data:`TRANSACTION_TYPES` names every type once (the store's codecs are built from it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from lendcore.core.money import Fen


@dataclass(frozen=True, slots=True)
class Disbursement:
    txn_id: str
    value_date: date
    seq: int
    amount: Fen


@dataclass(frozen=True, slots=True)
class Repayment:
    """Money received; allocated by the contract's waterfall (or ``waterfall``), surplus to suspense.
    ``hold``: all of it is held as customer credit (suspense), paid out by the close's credit step on
    what falls due (a scheduled repayment taken before its due date, 预约还款)."""

    txn_id: str
    value_date: date
    seq: int
    amount: Fen
    waterfall: str | None = None
    hold: bool = False


@dataclass(frozen=True, slots=True)
class InterestAccrual:
    """Accrue interest (and scheduled fees falling due) up to ``value_date``, exclusive."""

    txn_id: str
    value_date: date
    seq: int


@dataclass(frozen=True, slots=True)
class PenaltyAccrual:
    """Accrue interest and penalty up to ``value_date`` (the daily close books one per contract).

    ``covered_by_payment`` is the money of the customer's repayments still in flight (value-dated on
    or before this date) that this contract's share would receive (:mod:`lendcore.core.in_flight`).
    While it is positive the penalty is *held*: interest accrues, penalty does not, and
    ``penalty_through`` stays where it was. When the payment is final the next accrual without cover
    brings penalty up to date in one step (accrual is path-independent): after a success, booked at its
    value date, only what the payment left unpaid bears penalty; after a failure, everything does, as
    if the payment had never been made."""

    txn_id: str
    value_date: date
    seq: int
    covered_by_payment: Fen = 0


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
    """Waive accrued penalty / interest / fee (oldest row first); ``amount=None`` waives all of it.

    ``at_most``: waive ``amount`` or what is outstanding, whichever is less, and nothing (no refusal)
    when nothing is. The system's lender-fault waivers are such: a payment confirmed late and
    value-dated before one is replayed ahead of it and may have paid what it waived.

    ``refund_paid`` (penalty only, with ``at_most``): waive penalty the customer has already *paid*
    and give the money back as customer credit (suspense): a lender-fault window opened after the
    customer paid the penalty of its days (a reminder found undelivered in the afternoon of a due
    date the customer paid that morning) owes them that penalty back. Also on a closed contract
    (the credit stays the customer's); oldest row first, at most what was paid."""

    txn_id: str
    value_date: date
    seq: int
    kind: WaiverKind
    reason: str
    amount: Fen | None = None
    at_most: bool = False
    refund_paid: bool = False


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


@dataclass(frozen=True, slots=True)
class Restructure:
    """A hardship plan accepted by the customer: re-plan the remaining schedule from ``value_date``
    (``kind`` is a :class:`~lendcore.core.restructure.RestructureKind` value, ``periods`` its k).
    ``offer_id`` names the offer it books."""

    txn_id: str
    value_date: date
    seq: int
    kind: str
    periods: int
    offer_id: str = ""


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
    | Restructure
)

#: Accruals are recomputed, never reversed; a reversal is not itself reversed; a restructure the
#: customer accepted changes their contract and is undone only by another plan they accept.
NOT_REVERSIBLE: Final = (InterestAccrual, PenaltyAccrual, Reversal, Restructure)

#: Every transaction type and its stable name (the ``loan_transactions.type`` column).
TRANSACTION_TYPES: Final[Mapping[type[Transaction], str]] = {
    Disbursement: "disbursement",
    Repayment: "repayment",
    InterestAccrual: "interest-accrual",
    PenaltyAccrual: "penalty-accrual",
    Fee: "fee",
    Waiver: "waiver",
    Reversal: "reversal",
    WriteOff: "write-off",
    Recovery: "recovery",
    CreditTransfer: "credit-transfer",
    CreditApplication: "credit-application",
    Restructure: "restructure",
}


def sort_key(txn: Transaction) -> tuple[date, int]:
    return (txn.value_date, txn.seq)
