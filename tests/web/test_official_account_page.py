"""The official repayment account check as a page (public, no sign-in): "official" with the bank and
holder, or "not official — do not pay"; a malformed number is refused with its reason, never
answered "not official"; an entry that has expired is not official."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from lendcore.payments.official_accounts import AddOfficialAccountRequest, add_official_account
from lendcore.store.engine import unit_of_work
from tests.web.conftest import Site

OFFICIAL = "6222 0200 0000 0000 018"
EXPIRED = "6222-0200-0000-0000-026"


def _register(site: Site) -> None:
    today = site.clock().date()
    with unit_of_work(site.factory) as session:
        add_official_account(
            session,
            AddOfficialAccountRequest(
                OFFICIAL, "中国工商银行", "随星借还款专户", "repayment", today - timedelta(days=30)
            ),
            actor="staff:test",
        )
        add_official_account(
            session,
            AddOfficialAccountRequest(
                EXPIRED,
                "中国银行",
                "旧还款户",
                "repayment",
                today - timedelta(days=90),
                today - timedelta(days=31),
            ),
            actor="staff:test",
        )


def _check(page: Any, number: str) -> None:
    page.goto("/app/official-account")
    page.fill("#number", number)
    page.locator("#check-account").click()
    page.wait_for_load_state()


def test_a_customer_checks_an_account_before_paying_into_it(site: Site, new_page: Any) -> None:
    _register(site)
    page = new_page("zh")
    page.goto("/app/login")
    page.locator("#go-official-account").click()  # reachable without signing in
    page.wait_for_url("**/app/official-account")

    _check(page, OFFICIAL)  # spaces as printed on a statement
    assert "中国工商银行" in page.locator("#account-official").inner_text()

    _check(page, EXPIRED)  # an old account a fraudster might quote
    assert "请勿向其付款" in page.locator("#account-not-official").inner_text()

    _check(page, "6222020000000000034")  # never registered
    expect(page.locator("#account-not-official")).to_be_visible()
    expect(page.locator("#account-official")).to_have_count(0)

    labels = page.evaluate(
        "[...document.querySelectorAll('input')].filter(e => e.labels.length === 0).length"
    )
    assert labels == 0


def test_a_malformed_number_is_refused_with_its_reason_not_answered(site: Site, new_page: Any) -> None:
    page = new_page("en")
    response = page.goto("/app/official-account?number=62ab")
    assert response.status == 422
    expect(page.locator("#account-error")).to_be_visible()
    assert (
        page.locator("#account-official").count() == 0 and page.locator("#account-not-official").count() == 0
    )
    site.console_errors.clear()  # Chromium logs the 422 document itself as a console error
