"""What the customer pages share: who is signed in, the business date, the product offered."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from lendcore.api.state import AppState
from lendcore.auth.principal import Principal
from lendcore.servicing.business_day import resolve_business_date
from lendcore.web.render import page
from lendcore.web.session import session_principal

#: The product the customer app offers (the quick-loan credit line, 随借随还).
PRODUCT: Final = "quick"
Csrf = Annotated[str, Form(alias="csrf_token", max_length=128)]


class SignInNeededError(Exception):
    """No valid customer session: the page redirects to sign-in."""


def customer_of(state: AppState, request: Request) -> str:
    """The signed-in customer's id (:class:`SignInNeededError` if none)."""
    principal: Principal | None = session_principal(state, request)
    if principal is None or principal.customer_id is None:
        raise SignInNeededError
    return principal.customer_id


def business_date(state: AppState, session: Session) -> date:
    return resolve_business_date(session, None, today=state.clock().date())


def signed_in_page(state: AppState, request: Request, template: str, title: str, **context: Any) -> Response:
    return page(state, request, template, title, signed_in=True, **context)


def to_login() -> RedirectResponse:
    return RedirectResponse("/app/login", status_code=303)
