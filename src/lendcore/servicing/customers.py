"""A customer's contracts as the servicing use cases and read models find them."""

from __future__ import annotations

from datetime import date
from typing import Final

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from lendcore.core.contract import Status
from lendcore.core.errors import NotFoundError
from lendcore.servicing.faults import covering
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
_LOCKED_NOTING_FAULTS: Final = for_update(
    _UNLOCKED.add_columns(exists().where(covering(bindparam("on"))).label("fault"))
)


def lock_open_contracts_noting_faults(
    session: Session, customer_id: str, on: date
) -> tuple[list[Contract], bool]:
    """The customer's active contracts, locked as :func:`open_contracts` locks them, and whether any
    lender-fault window covers ``on``, in one statement (issue 12: a repayment's hot path asks both;
    with no contract there is nothing a window could waive, and the answer is ``False``)."""
    rows = session.execute(_LOCKED_NOTING_FAULTS, {"customer_id": customer_id, "on": on}).all()
    return [row[0] for row in rows], any(row.fault for row in rows)


def check_customer(session: Session, customer_id: str) -> None:
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
