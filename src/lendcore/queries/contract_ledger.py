"""A contract's ledger postings and its days-past-due history, for the back office's contract page.

:func:`contract_postings` lists every posting of the contract's journal entries, oldest entry first
(the general ledger's own rows: what finance reconciles). :func:`dpd_history` is the DPD the contract
had after each day something was booked on it, from the **replayed** history (never from the stored
column, which holds only today's): a payment confirmed late but value-dated on time shows as on time
once it is booked, as everywhere else (invariant 6). Only the days on which the DPD changed are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.delinquency import Bucket, bucket, days_past_due
from lendcore.core.errors import NotFoundError
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.servicing.repository import load_book
from lendcore.store.models import Contract, JournalEntry, Posting

#: Postings shown on the page (a long contract has thousands; the page says when it is cut).
MAX_POSTINGS: Final = 500


@dataclass(frozen=True, slots=True)
class PostingLine(JsonRecord):
    entry_id: str
    value_date: date
    description: str
    account: str
    debit: Fen
    credit: Fen


@dataclass(frozen=True, slots=True)
class DpdPoint(JsonRecord):
    on: date  # from this value date on
    days_past_due: int
    bucket: Bucket


def _contract(session: Session, contract_id: str) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError("no such contract", code="CONTRACT_NOT_FOUND")
    return contract


def contract_postings(
    session: Session, contract_id: str, *, limit: int = MAX_POSTINGS
) -> tuple[PostingLine, ...]:
    """The contract's postings, oldest entry first, at most ``limit``."""
    _contract(session, contract_id)
    rows = session.execute(
        select(
            JournalEntry.id,
            JournalEntry.value_date,
            JournalEntry.description,
            Posting.account_code,
            Posting.debit,
            Posting.credit,
        )
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.contract_id == contract_id)
        .order_by(JournalEntry.created_at, JournalEntry.id, Posting.id)
        .limit(limit)
    ).all()
    return tuple(PostingLine(*row) for row in rows)


def dpd_history(session: Session, contract_id: str) -> tuple[DpdPoint, ...]:
    """The DPD after each value date on which it changed, from the replay (see the module docstring)."""
    contract = _contract(session, contract_id)
    points: list[DpdPoint] = []
    for applied in load_book(session, contract).applied:
        on = applied.txn.value_date
        dpd = days_past_due(applied.state, on)
        if points and points[-1].on == on:
            points.pop()  # the day's last transaction says how the day ended
        if not points or points[-1].days_past_due != dpd:
            points.append(DpdPoint(on, dpd, bucket(dpd)))
    return tuple(points)
