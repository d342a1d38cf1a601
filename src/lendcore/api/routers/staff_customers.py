"""``/api/v1/staff/customers``: customers for the back office, always masked, and the one audited way
to see a field in clear (:mod:`lendcore.origination.unmask`).

* ``GET /staff/customers[?phone=]``: every member of staff; masked name and phone, by id; ``phone``
  finds a customer by the number's blind index (never compared in clear).
* ``GET /staff/customers/{id}``: the customer as the customer sees themselves (masked), with cards,
  consents and lines.
* ``POST /staff/customers/{id}/unmask`` ``{"field", "reason", "card_id"?}``: risk (admin); the
  value in clear, audited with who, which field, when, why and the client address; at most
  30 an hour per member of staff (rule ``unmask:principal``, 429 ``RATE_LIMITED``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from lendcore.api.auth import require_roles
from lendcore.api.pagination import Page, PageRequest, page_request, paginate
from lendcore.api.problems import problem_responses
from lendcore.api.ratelimit import client_address, limiter_of
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.customers import CustomerView
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel, CustomerId, IdOf
from lendcore.auth.principal import Principal, StaffRole
from lendcore.core.identity import normalize_phone
from lendcore.origination.onboarding import customer_view
from lendcore.origination.unmask import UnmaskRequest, unmask
from lendcore.queries.customers import CustomerRow
from lendcore.store.models import Customer

router = APIRouter(prefix=f"{API_PREFIX}/staff/customers", tags=["staff: customers"])

_READERS = require_roles(StaffRole.VIEWER, StaffRole.OPERATOR, StaffRole.RISK, StaffRole.FINANCE)
Reader = Annotated[Principal, Depends(_READERS)]
Unmasker = Annotated[Principal, Depends(require_roles(StaffRole.RISK))]


class CustomerRowOut(BaseModel):
    """A customer in a list: name ``张*`` and phone ``138****5678`` masked."""

    id: str
    name: str | None
    phone: str | None
    status: str
    created_at: datetime


class UnmaskBody(ApiModel):
    field: Literal["name", "id_number", "phone", "card"]
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    card_id: Annotated[str, IdOf("card")] | None = Field(default=None, description="with field card")


class UnmaskedOut(BaseModel):
    customer_id: str
    field: str
    card_id: str | None
    value: str | None


@router.get(
    "",
    response_model=Page[CustomerRowOut],
    summary="Customers (masked), by id; ?phone= finds one by its number",
    responses=problem_responses(401, 403, 422),
)
def list_customers(
    _principal: Reader,
    state: StateDep,
    page: Annotated[PageRequest, Depends(page_request)],
    phone: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> Page[CustomerRowOut]:
    statement = select(Customer)
    if phone is not None:
        statement = statement.where(
            Customer.phone_hash.in_(state.cipher.blind_indexes("phone", normalize_phone(phone)))
        )
    with state.database.read() as session:
        return paginate(
            session, statement, key=Customer.id, page=page,
            to_item=lambda row: CustomerRowOut.model_validate(CustomerRow.of(row, state.cipher).to_json()),
            list_name="staff-customers" if phone is None else "staff-customers:phone",
        )  # fmt: skip


@router.get(
    "/{customer_id}",
    response_model=CustomerView,
    summary="One customer, masked, with cards, consents and lines",
    responses=problem_responses(401, 403, 404, 422),
)
def show_customer(customer_id: CustomerId, _principal: Reader, state: StateDep) -> CustomerView:
    with state.database.read() as session:
        return CustomerView.of(customer_view(session, customer_id, state.cipher))


@router.post(
    "/{customer_id}/unmask",
    response_model=UnmaskedOut,
    summary="See one personal field in clear (risk; a reason; audited)",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def unmask_field(
    customer_id: CustomerId, body: UnmaskBody, principal: Unmasker, request: Request, state: StateDep
) -> UnmaskedOut:
    ask = UnmaskRequest(
        customer_id,
        body.field,
        body.reason,
        principal.subject,
        principal.roles,
        client_address(request),
        body.card_id,
    )
    limiter_of(request).check("unmask:principal", principal.subject)  # bulk reading stops here
    with state.database.write() as session:
        seen = unmask(session, ask, cipher=state.cipher, at=state.clock())
    return UnmaskedOut(customer_id=seen.customer_id, field=seen.field, card_id=seen.card_id, value=seen.value)
