"""The customer's story in a real browser: sign in by one-time code, apply, borrow, pay the current
bill a day early, prepay by amount, pay off everything; no console error on any page; screenshots of
the main pages in Chinese and English (docs/screenshots/, shown in the README)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from lendcore.auth.principal import StaffRole
from lendcore.batch.close import close_business_days
from lendcore.core.money import format_fen
from lendcore.queries.loans import loan_view
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract, Payment
from tests.web.conftest import Site, register_in_browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def sign_in(page: Any, site: Site, phone: str) -> None:
    page.goto("/app/login")
    page.get_by_label("手机号").fill(phone)
    page.locator("#send-code").click()
    page.get_by_label("验证码").fill(site.last_code(phone))
    page.locator("#sign-in").click()
    page.wait_for_url("**/app")


def yuan(text: str) -> int:
    """Fen from a page's ``¥1,234.56``."""
    digits = text.replace("¥", "").replace(",", "").strip()
    whole, _, cents = digits.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def the_contract(site: Site) -> Contract:
    with unit_of_work(site.factory, read_only=True) as session:
        contract = session.scalars(select(Contract)).one()
        session.expunge(contract)
    return contract


def test_a_customer_signs_in_applies_borrows_and_repays_early_then_pays_off(
    site: Site, new_page: Any
) -> None:
    page = new_page("zh")
    phone = register_in_browser(page)  # a new customer, through the registration page
    page.goto("/app")
    page.wait_for_url("**/app/login")  # no session: the sign-in page
    shoot(page, "login-zh")
    sign_in(page, site, phone)
    expect(page.locator("#go-apply")).to_be_visible()

    # apply: each consent its own box, 征信授权 separate and optional (left unticked here)
    page.locator("#go-apply").click()
    page.get_by_label("申请金额（元）").fill("5000")
    page.get_by_label("月收入（元）").fill("25000")
    for kind in ("terms", "privacy", "sensitive_personal_info"):
        page.locator(f"#consent_{kind}").check()
    assert not page.locator("#consent_credit_bureau_query").is_checked()
    shoot(page, "apply-zh")
    page.locator("#submit-application").click()
    assert page.locator("#outcome").inner_text() == "审批通过"
    limit = yuan(page.locator("#decision-limit").inner_text())
    assert limit > 0
    assert "%" in page.locator("#decision-apr").inner_text()
    shoot(page, "decision-zh")

    # borrow: a live quote with every installment, total interest, APR and the contract text
    page.locator("#go-borrow").click()
    assert yuan(page.locator("#available").inner_text()) == limit
    amount = min(limit, 1_000_00)
    page.get_by_label("金额（元）").fill(f"{amount / 100:.2f}")
    page.get_by_label("期数").select_option("3")
    page.locator("#get-quote").click()
    expect(page.locator("#quote .schedule tr")).to_have_count(1 + 3)
    assert yuan(page.locator("#total-interest").inner_text()) > 0
    assert "借" in page.locator("#contract-text").inner_text()
    shoot(page, "quote-zh")
    page.locator("#confirm-borrow").click()
    assert page.locator("#draw-status").inner_text() == "disbursed"
    contract = the_contract(site)
    assert contract.principal == amount

    # a day before the first due date: the days in between are closed, the customer signs in again
    first_due = loan_view_of(site, contract.id).schedule[0].due_date
    day_before = first_due - timedelta(days=1)
    close_business_days(site.factory, day_before - timedelta(days=1))
    site.clock.now = datetime.combine(day_before, time(2), tzinfo=UTC)
    sign_in(page, site, phone)
    bill = yuan(page.locator("#next-due").inner_text().split("·")[1])
    assert str(first_due) in page.locator("#next-due").inner_text()
    shoot(page, "home-zh")

    # pay the current bill (by amount, its exact amount): the allocation is shown before paying
    page.locator("#go-repay").click()
    assert yuan(page.locator("#current-bill strong").inner_text()) == bill
    shoot(page, "repay-zh")
    page.get_by_label("金额（元）").fill(f"{bill / 100:.2f}")
    page.locator("#preview").click()
    expect(page.locator("#allocation")).to_be_visible()
    assert payments(site) == 1  # the payout only: the preview wrote nothing
    page.locator("#pay").click()
    # recorded, submitted to the in-process channel, confirmed and booked before the page answered
    assert page.locator("#payment-status").inner_text() == "succeeded"
    assert page.locator("#payment-next").inner_text() == "已入账。"
    view = loan_view_of(site, contract.id)
    assert view.installments[0].outstanding == 0  # the first installment is settled early

    # prepay by amount: principal prepaid, shown in the allocation first
    page.goto("/app/repay")
    page.get_by_label("金额（元）").fill("100.00")
    page.locator("#preview").click()
    prepaid = page.locator("#allocation .allocation tr").nth(1).locator("td").nth(4).inner_text()
    assert yuan(prepaid) > 0
    page.locator("#pay").click()
    assert page.locator("#payment-status").inner_text() == "succeeded"

    # pay off everything: today's exact total
    page.goto("/app/repay")
    total = yuan(page.locator("#payoff-total").inner_text())
    page.get_by_label("还款方式").select_option("pay-off-all")
    page.locator("#preview").click()
    page.locator("#pay").click()
    assert page.locator("#payment-status").inner_text() == "succeeded"
    assert format_fen(total) in page.locator("#payment").inner_text()
    assert loan_view_of(site, contract.id).status == "closed"
    assert payments(site) == 1 + 3  # the payout and three repayments
    shoot(page, "paid-zh")

    # an operator sees the contract (schedule, transactions, DPD) and the payments in the back office
    office = new_page("en")
    office.goto("/office")
    office.wait_for_url("**/office/login")
    office.get_by_label("Username").fill("ops")
    office.get_by_label("Password").fill(site.staff("ops", StaffRole.OPERATOR))
    office.locator("#staff-sign-in").click()
    office.wait_for_url("**/office")
    assert contract.id in office.locator("#office-contracts").inner_text()
    expect(office.locator("#office-payments tr")).to_have_count(1 + 4)
    assert "succeeded" in office.locator("#office-payments").inner_text()
    shoot(office, "office-en")
    office.locator(f"a[href='/office/contracts/{contract.id}']").click()
    expect(office.locator("#dpd")).to_have_text("0")
    expect(office.locator("#transactions tr").nth(1)).to_be_attached()
    expect(office.locator("#dpd-history tr").nth(1)).to_be_attached()  # the header, the drawdown day
    expect(office.locator("#postings tr").nth(2)).to_be_attached()
    assert "Disbursement" in office.locator("#postings").inner_text()
    shoot(office, "office-contract-en")
    office.goto("/office/dashboard")  # the portfolio: one closed contract, nothing on the book
    expect(office.locator("#products tr")).to_have_count(1)  # the header only
    assert office.locator("#approvals").inner_text().split("\n")[-1].split() == ["2026-03", "1", "1"]
    for chart in ("chart-products", "chart-dpd", "chart-approvals"):
        assert office.evaluate(f"Chart.getChart(document.getElementById('{chart}')) !== undefined")
    shoot(office, "dashboard-en")
    page.goto("/office")  # a customer's session is not staff's
    page.wait_for_url("**/office/login")

    assert site.console_errors == []


def loan_view_of(site: Site, contract_id: str) -> Any:
    with unit_of_work(site.factory, read_only=True) as session:
        return loan_view(session, contract_id)


def payments(site: Site) -> int:
    with unit_of_work(site.factory, read_only=True) as session:
        return len(session.scalars(select(Payment)).all())


def test_every_input_has_a_label_and_the_sign_in_form_works_from_the_keyboard(
    site: Site, new_page: Any
) -> None:
    _, phone = site.customer()
    page = new_page("en")
    page.goto("/app/login")
    shoot(page, "login-en")
    page.keyboard.press("Tab")  # the language toggle comes first
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "phone"
    page.keyboard.type(phone)
    page.keyboard.press("Enter")  # submits: a code is sent
    page.locator("#code-sent").wait_for()
    # autofocus is applied by the browser after the page has loaded: wait for it (bounded), then check
    # a locator assertion polls from Playwright's side: a string predicate would be evaluated in the
    # page, which its Content-Security-Policy (script-src 'self', no unsafe-eval) rightly refuses
    expect(page.locator("#code")).to_be_focused(timeout=5000)
    assert page.evaluate("document.activeElement.id") == "code"
    page.keyboard.type(site.last_code(phone))
    page.keyboard.press("Enter")
    page.wait_for_url("**/app")
    for path in ("/app", "/app/apply"):
        page.goto(path)
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), select')]"
            ".filter(e => e.labels.length === 0).map(e => e.name)"
        )
        assert unlabelled == [], path
    shoot(page, "apply-en")
    assert site.console_errors == []


def test_a_form_without_the_csrf_token_is_refused_and_nothing_is_sent(site: Site, new_page: Any) -> None:
    _, phone = site.customer()
    page = new_page()
    page.goto("/app/login")
    response = page.request.post("/app/login", form={"phone": phone, "csrf_token": "forged"})
    assert response.status == 403
    with unit_of_work(site.factory, read_only=True) as session:
        from lendcore.auth.otp import outbox_messages
        from tests.origination.helpers import CIPHER

        assert outbox_messages(session, CIPHER, phone) == []


def test_the_session_cookie_is_httponly_and_samesite_strict(site: Site, new_page: Any) -> None:
    _, phone = site.customer()
    page = new_page()
    sign_in(page, site, phone)
    cookie = next(c for c in page.context.cookies() if c["name"] == "lc_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain HTTP on loopback; Secure everywhere else


_ = date


def test_a_customer_sees_why_and_asks_for_a_human_review_which_staff_see_queued(
    site: Site, new_page: Any
) -> None:
    _, phone = site.customer()
    page = new_page("zh")
    sign_in(page, site, phone)
    page.goto("/app/apply")
    for kind in ("terms", "privacy", "sensitive_personal_info"):
        page.locator(f"#consent_{kind}").check()
    page.locator("#submit-application").click()
    page.locator("#explain").click()
    expect(page.locator("#contributions tr").nth(1)).to_be_attached()  # per-feature points, worst first
    page.get_by_label("申请人工复核的理由（可选）").fill("收入已提高")
    page.locator("#request-review").click()
    expect(page.locator("#review-requested")).to_be_visible()
    shoot(page, "explain-zh")
    office = new_page("en")
    office.goto("/office/login")
    office.get_by_label("Username").fill("risk")
    office.get_by_label("Password").fill(site.staff("risk", StaffRole.RISK))
    office.locator("#staff-sign-in").click()
    office.goto("/office/reviews")
    assert "收入已提高" in office.locator("#reviews").inner_text()
    assert "queued" in office.locator("#reviews").inner_text()
    office.goto("/office/applications")  # the application with its decision's score and grade
    expect(office.locator("#applications tr")).to_have_count(1 + 1)
    office.goto("/office/audit")  # the consents granted and the review request, among others
    audit = office.locator("#audit").inner_text()
    assert "consent.granted" in audit
    assert "review" in audit
    assert site.console_errors == []
