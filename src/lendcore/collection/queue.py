"""The collection queue: every contract past due on a date, by bucket (M1, M2, M3+), worst first.

DPD comes from the contract's state as of the date (its transactions value-dated on or before it),
never from a cached column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.bureau_status import overdue_amount
from lendcore.core.collection_rules import QueueBucket, queue_bucket
from lendcore.core.delinquency import days_past_due
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.servicing.repository import state_as_of
from lendcore.store.models import Contract

_ORDER = {QueueBucket.M3_PLUS: 0, QueueBucket.M2: 1, QueueBucket.M1: 2}


@dataclass(frozen=True, slots=True)
class QueueEntry(JsonRecord):
    contract_id: str
    customer_id: str
    bucket: str
    dpd: int
    overdue: Fen


def collection_queue(session: Session, on: date, only: QueueBucket | None = None) -> list[QueueEntry]:
    entries: list[tuple[QueueBucket, QueueEntry]] = []
    for contract in session.scalars(
        select(Contract).where(Contract.status.in_(("active", "written-off"))).order_by(Contract.id)
    ):
        state = state_as_of(session, contract, on)
        dpd = days_past_due(state, on)
        queue = queue_bucket(dpd)
        if queue is None or (only is not None and queue is not only):
            continue
        entry = QueueEntry(contract.id, contract.customer_id, queue.value, dpd, overdue_amount(state, on))
        entries.append((queue, entry))
    entries.sort(key=lambda e: (_ORDER[e[0]], -e[1].dpd, e[1].contract_id))
    return [e for _, e in entries]
