"""Who may read customer records: the customer they belong to, or staff with a reading role.

* :data:`Reader` (a dependency): a customer, or staff with ``viewer`` (or any role that implies
  reading: operator, risk, finance; ``admin`` always); else 403 ``PERMISSION_DENIED``.
* :func:`owned_by`: the filter a list applies so that a customer sees only their own rows (staff: all).
* A single record goes through :func:`lendcore.api.auth.ensure_owner`: another customer's → 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Depends
from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute

from lendcore.api.auth import CurrentPrincipal
from lendcore.auth.errors import PermissionDeniedError
from lendcore.auth.principal import Principal, StaffRole

#: Staff roles that may read customers' lines, contracts and payments.
READING_ROLES: Final = frozenset({StaffRole.VIEWER, StaffRole.OPERATOR, StaffRole.RISK, StaffRole.FINANCE})


async def current_reader(principal: CurrentPrincipal) -> Principal:
    if principal.customer_id is None and not principal.has_any_role(READING_ROLES):
        raise PermissionDeniedError("this needs a staff role: viewer", code="PERMISSION_DENIED")
    return principal


Reader = Annotated[Principal, Depends(current_reader)]


def owned_by(principal: Principal, customer_column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """``customer_column`` is the caller's id for a customer; no restriction for staff."""
    if principal.customer_id is None:
        return true()
    return customer_column == principal.customer_id
