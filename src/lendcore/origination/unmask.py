"""Unmask one personal field of a customer for a member of staff who may see it, with a reason,
audited (who, which field, when, why, from where) in the same transaction as the read.

Everywhere else staff see customers masked (:func:`lendcore.origination.onboarding.customer_view`).
Who may unmask: :data:`UNMASK_ROLES`, ``risk`` (fraud and identity investigations, blacklisting,
disputes about who applied) and ``admin``; operators, finance and viewers work with masked data
(``PERMISSION_DENIED``). One field at a time (:data:`FIELDS`: ``name``, ``id_number``, ``phone``, or
``card`` with the card's id), so the audit log says exactly what was seen. The reason is required
(``REASON_REQUIRED``, 1-500 characters); an unknown field is ``INVALID_UNMASK_FIELD``; a card that is
not the customer's ``CARD_NOT_FOUND``. The value is returned, never logged or stored; the audit
record holds the field name, not the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from lendcore.auth.errors import PermissionDeniedError
from lendcore.auth.principal import StaffRole
from lendcore.core.errors import NotFoundError, ValidationError
from lendcore.origination.onboarding import F_CARD, F_ID, F_NAME, F_PHONE
from lendcore.security.pii import PiiCipher
from lendcore.servicing.common import check_text
from lendcore.store.audit import record_audit
from lendcore.store.models import BankCard, Customer

#: Roles that may see a customer's personal data in clear (admin passes every check).
UNMASK_ROLES: Final = frozenset({StaffRole.RISK, StaffRole.ADMIN})
#: What can be unmasked: the customer's columns, and a card (named by ``card_id``).
FIELDS: Final = ("name", "id_number", "phone", "card")
_COLUMNS: Final = {"name": F_NAME, "id_number": F_ID, "phone": F_PHONE}


@dataclass(frozen=True, slots=True)
class UnmaskRequest:
    customer_id: str
    field: str
    reason: str
    staff: str  # the staff id (stf_…)
    roles: frozenset[StaffRole]
    client_ip: str | None
    card_id: str | None = None


@dataclass(frozen=True, slots=True)
class Unmasked:
    customer_id: str
    field: str
    card_id: str | None
    value: str | None  # None: the customer has no such value stored


def may_unmask(roles: frozenset[StaffRole]) -> bool:
    return bool(roles & UNMASK_ROLES)


def _ciphertext(session: Session, customer: Customer, request: UnmaskRequest) -> tuple[str, bytes | None]:
    if request.field == "card":
        card = session.get(BankCard, request.card_id) if request.card_id else None
        if card is None or card.customer_id != customer.id:
            raise NotFoundError("no such card of this customer", code="CARD_NOT_FOUND")
        return F_CARD, card.card_number_ciphertext
    column = _COLUMNS[request.field]
    blob = {F_NAME: customer.name_ciphertext, F_ID: customer.id_number_ciphertext}.get(
        column, customer.phone_ciphertext
    )
    return column, blob


def unmask(session: Session, request: UnmaskRequest, *, cipher: PiiCipher, at: datetime) -> Unmasked:
    """The clear value of one field (checks: module docstring), audited as ``customer.unmasked``."""
    if not may_unmask(request.roles):
        names = ", ".join(sorted(r.value for r in UNMASK_ROLES))
        raise PermissionDeniedError(
            f"seeing personal data in clear needs a staff role: {names}", code="PERMISSION_DENIED"
        )
    if request.field not in FIELDS:
        raise ValidationError(f"field must be one of {', '.join(FIELDS)}", code="INVALID_UNMASK_FIELD")
    why = check_text(request.reason, "REASON_REQUIRED", "a reason")
    customer = session.get(Customer, request.customer_id) if request.customer_id else None
    if customer is None:
        raise NotFoundError("no such customer", code="CUSTOMER_NOT_FOUND")
    column, blob = _ciphertext(session, customer, request)
    value = None if blob is None else cipher.decrypt(column, blob)
    card_id = request.card_id if request.field == "card" else None
    record_audit(
        session,
        actor=request.staff,
        action="customer.unmasked",
        target_type="customer",
        target_id=customer.id,
        details={"field": request.field, "card_id": card_id, "client_ip": request.client_ip},
        reason=why,
        at=at,
    )
    return Unmasked(customer.id, request.field, card_id, value)
