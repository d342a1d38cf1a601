"""Every customer page needs a session: without one, the browser is sent to sign in (one rule, the
application's SignInNeededError handler), and nothing is read or written."""

from __future__ import annotations

import re

import httpx
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from lendcore.store.models import Payment
from lendcore.web.app import PAGE_ROUTERS
from tests.web.conftest import Site

#: Customer pages open to anyone (signing in, registering, checking an account number).
PUBLIC = re.compile(r"^/app/(login|register|lang|static|official-account)")


def _customer_pages() -> list[tuple[str, str]]:
    pages = []
    for router in PAGE_ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.path.startswith("/app") and not PUBLIC.match(route.path):
                path = re.sub(r"\{[^}]+\}", "x1", route.path)
                pages.extend((method, path) for method in sorted(route.methods or ()) if method in {"GET"})
    return pages


def test_every_customer_page_without_a_session_sends_the_browser_to_sign_in(site: Site) -> None:
    pages = _customer_pages()
    assert len(pages) >= 5, pages  # the rule is checked over the real routes, not an empty list
    with httpx.Client(base_url=site.base_url, follow_redirects=False) as client:
        for method, path in pages:
            response = client.request(method, path)
            assert (response.status_code, response.headers.get("location")) == (303, "/app/login"), path


def test_a_form_posted_without_a_session_is_sent_to_sign_in_and_books_nothing(site: Site) -> None:
    form = {"csrf_token": "t", "mode": "pay-off-all", "idempotency_key": "k-1"}
    with httpx.Client(base_url=site.base_url, follow_redirects=False) as client:
        response = client.post("/app/repay/pay", data=form)
    assert (response.status_code, response.headers.get("location")) == (303, "/app/login")
    with site.factory() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 0
