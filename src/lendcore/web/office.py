"""The back office (``/office``): staff sign in with username and password (the API's staff
authentication and roles); the viewer role (or any other, admin always) sees contracts with their
schedule, transactions and days past due, and payments with their state."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from lendcore.api.ratelimit import limiter_of
from lendcore.api.state import AppState, StateDep
from lendcore.auth.principal import StaffRole
from lendcore.auth.staff import authenticate_staff, principal_of
from lendcore.core.errors import LendcoreError
from lendcore.queries.loans import loan_view
from lendcore.queries.portfolio import approvals_by_month, dpd_distribution, outstanding_by_product
from lendcore.store.models import Contract, Payment
from lendcore.web.common import Csrf
from lendcore.web.i18n import translate
from lendcore.web.render import page
from lendcore.web.session import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    csrf_token,
    lang,
    new_pre_session,
    session_principal,
    set_cookie,
)

router = APIRouter(prefix="/office", include_in_schema=False)
#: Every staff role may look (admin passes any check).
READERS: Final = frozenset(StaffRole)
#: How many rows a list shows (newest first).
PAGE_ROWS: Final = 200


def is_staff(state: AppState, request: Request) -> bool:
    principal = session_principal(state, request)
    return principal is not None and principal.is_staff and principal.has_any_role(READERS)


def _login_page(state: AppState, request: Request, error: str | None = None) -> Response:
    pre = request.cookies.get(PRE_SESSION_COOKIE) or new_pre_session()
    response = page(
        state, request, "office_login.html", "office_login_title", csrf=csrf_token(state, pre), error=error
    )
    set_cookie(request, response, PRE_SESSION_COOKIE, pre, max_age=3600)
    return response


@router.get("/login")
def login_page(request: Request, state: StateDep) -> Response:
    return _login_page(state, request)


@router.post("/login")
def login(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    check_csrf(state, request, csrf, signing_in=True)
    try:
        limiter_of(request).check("login:username", username.strip().lower())
        with state.database.write() as session:
            principal = principal_of(
                authenticate_staff(session, username=username, password=password, now=state.clock())
            )
    except LendcoreError as error:
        return _login_page(state, request, error=error.message)
    token = state.access_tokens.issue(principal, state.clock())
    response = RedirectResponse("/office", status_code=303)
    ttl = int(state.settings.access_token_ttl.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, token, max_age=ttl)
    return response


@router.get("")
def office_home(request: Request, state: StateDep) -> Response:
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    with state.database.read() as session:
        ids = session.scalars(
            select(Contract.id).order_by(Contract.start_date.desc(), Contract.id).limit(PAGE_ROWS)
        )
        contracts = [loan_view(session, contract_id) for contract_id in ids]
        payments = session.scalars(
            select(Payment).order_by(Payment.requested_at.desc(), Payment.id).limit(PAGE_ROWS)
        ).all()
        rows = [
            {
                "id": p.id,
                "direction": p.direction,
                "purpose": p.purpose,
                "amount": p.amount,
                "state": p.state,
                "value_date": p.value_date,
                "contract_id": p.contract_id,
            }
            for p in payments
        ]
    return page(
        state, request, "office_home.html", "office_title", signed_in=True, contracts=contracts, payments=rows
    )


@router.get("/dashboard")
def office_dashboard(request: Request, state: StateDep) -> Response:
    """The portfolio dashboard: charts (Chart.js) and tables of the same figures."""
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    with state.database.read() as session:
        products = [p.to_json() for p in outstanding_by_product(session)]
        buckets = [b.to_json() for b in dpd_distribution(session)]
        approvals = [m.to_json() for m in approvals_by_month(session)]
    language = lang(request)
    labels = {k: translate(language, k) for k in ("principal", "decisions", "approved")}
    data = {"products": products, "buckets": buckets, "approvals": approvals, "labels": labels}
    return page(state, request, "office_dashboard.html", "dashboard_title", signed_in=True, data=data)


@router.get("/contracts/{contract_id}")
def office_contract(contract_id: str, request: Request, state: StateDep) -> Response:
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    with state.database.read() as session:
        view = loan_view(session, contract_id)
    return page(state, request, "office_contract.html", "contract_title", signed_in=True, v=view)
