"""Back-office customers (``/office/customers``): the list (newest first, or the one with a phone
number, found by blind index) and a customer's page with cards, consents, lines and contracts, always
masked (:func:`lendcore.origination.onboarding.customer_view`).

A role that may (:data:`lendcore.origination.unmask.UNMASK_ROLES`: risk, admin) sees an "unmask" form:
one field, a reason (required); the value is shown once on the page that answers the POST (``no-store``)
and the audit log records who, which field, when, why and from where. Other roles see no form, and a
forced POST is refused (403 ``PERMISSION_DENIED``) and audited nowhere.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from lendcore.api.ratelimit import client_address, limiter_of
from lendcore.api.state import AppState, StateDep
from lendcore.auth.principal import Principal
from lendcore.core.errors import LendcoreError
from lendcore.error_table import spec_for
from lendcore.origination.onboarding import customer_view
from lendcore.origination.unmask import FIELDS, UnmaskRequest, may_unmask, unmask
from lendcore.queries.customers import find_by_phone, recent_customers
from lendcore.store.models import Contract
from lendcore.web.common import Csrf
from lendcore.web.office import PAGE_ROWS, is_staff
from lendcore.web.render import page
from lendcore.web.session import check_csrf, session_principal

router = APIRouter(prefix="/office/customers", include_in_schema=False)


def _staff(state: AppState, request: Request) -> Principal | None:
    principal = session_principal(state, request)
    return principal if principal is not None and is_staff(state, request) else None


def _to_login() -> RedirectResponse:
    return RedirectResponse("/office/login", status_code=303)


@router.get("")
def customers(
    request: Request, state: StateDep, phone: Annotated[str | None, Query(max_length=32)] = None
) -> Response:
    if _staff(state, request) is None:
        return _to_login()
    error, status = None, 200
    with state.database.read() as session:
        try:
            rows = (
                find_by_phone(session, state.cipher, phone)
                if phone
                else recent_customers(session, state.cipher, limit=PAGE_ROWS)
            )
        except LendcoreError as refused:
            rows, error, status = [], f"{refused.message} ({refused.code})", spec_for(refused).http_status
    return page(
        state, request, "office_customers.html", "customers_title", status_code=status, signed_in=True,
        rows=rows, phone=phone or "", error=error,
    )  # fmt: skip


def customer_page(
    state: AppState,
    request: Request,
    staff: Principal,
    customer_id: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    with state.database.read() as session:
        view = customer_view(session, customer_id, state.cipher)
        contracts = session.execute(
            select(Contract.id, Contract.status, Contract.principal, Contract.start_date)
            .where(Contract.customer_id == customer_id)
            .order_by(Contract.start_date.desc(), Contract.id)
        ).all()
    response = page(
        state, request, "office_customer.html", "customer_title", status_code=status_code, signed_in=True,
        c=view, contracts=contracts, may_unmask=may_unmask(staff.roles), fields=FIELDS, **context,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{customer_id}")
def customer(customer_id: str, request: Request, state: StateDep) -> Response:
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    return customer_page(state, request, staff, customer_id)


@router.post("/{customer_id}/unmask")
def unmask_field(
    customer_id: str,
    request: Request,
    state: StateDep,
    csrf: Csrf,
    field: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=500)] = "",
    card_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    check_csrf(state, request, csrf)
    ask = UnmaskRequest(
        customer_id, field, reason, staff.subject, staff.roles, client_address(request), card_id or None
    )
    try:
        limiter_of(request).check("unmask:principal", staff.subject)  # shared with the API's
        with state.database.write() as session:
            seen = unmask(session, ask, cipher=state.cipher, at=state.clock())
    except LendcoreError as error:
        status = spec_for(error).http_status
        return customer_page(
            state, request, staff, customer_id, status_code=status, error=f"{error.message} ({error.code})"
        )
    return customer_page(state, request, staff, customer_id, revealed=seen)
