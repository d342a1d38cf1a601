"""A customer's contracts as the servicing use cases and read models find them."""

from __future__ import annotations

from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lendcore.core.contract import Status
from lendcore.core.errors import NotFoundError
from lendcore.store.engine import for_update
from lendcore.store.models import Contract, Customer


def open_contracts(session: Session, customer_id: str, *, lock: bool) -> list[Contract]:
    """The customer's active contracts in id order (locked with ``lock``: the documented order)."""
    return list(session.scalars(_LOCKED if lock else _UNLOCKED, {"customer_id": customer_id}).all())


# built once (issue 12's hot path: every repayment runs the locked one)
_UNLOCKED: Final = (
    select(Contract)
    .where(Contract.customer_id == bindparam("customer_id"), Contract.status == Status.ACTIVE.value)
    .order_by(Contract.id)
)
_LOCKED: Final = for_update(_UNLOCKED)


def check_customer(session: Session, customer_id: str) -> None:
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
