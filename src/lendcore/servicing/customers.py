"""A customer's contracts as the servicing use cases and read models find them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.contract import Status
from lendcore.core.errors import NotFoundError
from lendcore.store.engine import for_update
from lendcore.store.models import Contract, Customer


def open_contracts(session: Session, customer_id: str, *, lock: bool) -> list[Contract]:
    """The customer's active contracts in id order (locked with ``lock``: the documented order)."""
    stmt = (
        select(Contract)
        .where(Contract.customer_id == customer_id, Contract.status == Status.ACTIVE.value)
        .order_by(Contract.id)
    )
    return list(session.scalars(for_update(stmt) if lock else stmt).all())


def check_customer(session: Session, customer_id: str) -> None:
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
