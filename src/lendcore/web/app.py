"""The application with its pages: the API (:func:`lendcore.api.app.create_app`) plus the customer app.

``lendcore serve`` runs :func:`app_from_env` (uvicorn ``factory=True``)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from lendcore.api import app as api_app
from lendcore.web import (
    account_check_pages,
    approval_pages,
    card_pages,
    close_pages,
    customer,
    money_pages,
    office,
    office_customers,
    office_lists,
    proposal_pages,
    register_pages,
    review_pages,
    scheduled_pages,
)
from lendcore.web.common import SignInNeededError, to_login

#: The pages (each router carries its prefix: ``/app`` or ``/office``).
PAGE_ROUTERS: Final[tuple[APIRouter, ...]] = (
    customer.router,
    money_pages.router,
    office.router,
    office_lists.router,
    review_pages.router,
    approval_pages.router,
    register_pages.router,
    close_pages.router,
    account_check_pages.router,
    card_pages.router,
    office_customers.router,
    proposal_pages.router,
    scheduled_pages.router,
)


async def _sign_in_first(_request: Request, _error: Exception) -> Response:
    """A page that needs a customer session and has none sends the browser to sign in (pages call
    :func:`lendcore.web.common.customer_of`, which raises; no page repeats the redirect)."""
    return to_login()


def _with_pages(app: FastAPI) -> FastAPI:
    app.add_exception_handler(SignInNeededError, _sign_in_first)
    return app


def create_app(*args: Any, extra_routers: tuple[APIRouter, ...] = (), **kwargs: Any) -> FastAPI:
    """:func:`lendcore.api.app.create_app` with the pages mounted."""
    return _with_pages(api_app.create_app(*args, extra_routers=(*PAGE_ROUTERS, *extra_routers), **kwargs))


def app_from_env() -> FastAPI:
    return _with_pages(api_app.app_from_env(extra_routers=PAGE_ROUTERS))
