"""Registration in a real browser: the consents one by one, each with its published text and version;
the ID number and card are refused without the sensitive-information consent (the onboarding use case
enforces it: ``SENSITIVE_CONSENT_REQUIRED``, nothing written, the sensitive numbers not echoed back);
with it the customer is registered with exactly the consents ticked and signs in by one-time code."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from lendcore.core.consent import ConsentKind
from lendcore.origination.consent_texts import default_consent_texts
from lendcore.store.engine import unit_of_work
from lendcore.store.models import BankCard, Customer
from lendcore.store.models_origination import Consent
from tests.origination.helpers import make_card, make_id, make_phone
from tests.web.conftest import REGISTRATION_KINDS, Site, fill_identity, register_in_browser
from tests.web.test_customer_story import shoot, sign_in


def customers(site: Site) -> tuple[int, int, list[tuple[str, str]]]:
    with unit_of_work(site.factory, read_only=True) as session:
        consents = session.execute(select(Consent.kind, Consent.text_version).order_by(Consent.kind)).all()
        return (
            session.scalar(select(func.count()).select_from(Customer)) or 0,
            session.scalar(select(func.count()).select_from(BankCard)) or 0,
            [(k, v) for k, v in consents],
        )


def test_the_id_and_card_are_refused_without_the_sensitive_consent_then_accepted_with_it(
    site: Site, new_page: Any
) -> None:
    page = new_page("zh")
    page.goto("/app/login")
    page.locator("#go-register").click()
    page.wait_for_url("**/app/register")
    texts = default_consent_texts()
    for kind in REGISTRATION_KINDS:  # each its own box and published text
        published = texts.latest(ConsentKind(kind))
        details = page.locator(f"#text_{kind}")
        assert f"版本 {published.version}" in details.locator("summary").inner_text()
        details.locator("summary").click()
        assert details.locator("pre").inner_text().strip() == published.text.strip()
        assert not page.locator(f"#consent_{kind}").is_checked()
    shoot(page, "register-zh")

    phone, id_number, card = make_phone(), make_id(), make_card()
    page.locator("#consent_terms").check()
    page.locator("#consent_privacy").check()
    fill_identity(page, phone, id_number, card)
    page.locator("#register").click()
    assert "SENSITIVE_CONSENT_REQUIRED" in page.locator("#error").inner_text()
    assert customers(site) == (0, 0, [])  # nothing written
    assert page.get_by_label("手机号").input_value() == phone  # what was typed comes back...
    assert page.get_by_label("身份证号").input_value() == ""  # ...but not the sensitive numbers
    assert page.get_by_label("借记卡卡号").input_value() == ""
    assert page.locator("#consent_terms").is_checked()
    assert not page.locator("#consent_sensitive_personal_info").is_checked()

    page.locator("#consent_sensitive_personal_info").check()
    page.get_by_label("身份证号").fill(id_number)
    page.get_by_label("借记卡卡号").fill(card)
    page.locator("#register").click()
    page.wait_for_url("**/app/login?registered=1")
    expect(page.locator("#registered")).to_be_visible()
    granted = sorted((kind, texts.latest(ConsentKind(kind)).version) for kind in REGISTRATION_KINDS)
    assert customers(site) == (1, 1, granted)  # exactly the consents ticked, at the versions shown
    sign_in(page, site, phone)  # the one-time code goes to the phone just registered
    assert site.console_errors == []


def test_every_bad_field_is_reported_at_once_and_a_phone_registers_once(site: Site, new_page: Any) -> None:
    page = new_page("zh")
    phone = register_in_browser(page)
    page.goto("/app/register")
    for kind in REGISTRATION_KINDS:
        page.locator(f"#consent_{kind}").check()
    fill_identity(page, "12345", "110105199005050000", "6222020000000000000")
    page.locator("#register").click()
    error = page.locator("#error").inner_text()
    assert "ONBOARDING_INVALID" in error and "phone" in error and "id_number" in error
    assert "110105199005050000" not in page.content()  # a refused ID number is not echoed
    fill_identity(page, phone, make_id(), make_card())  # the same phone again
    page.locator("#register").click()
    assert "DUPLICATE_PHONE" in page.locator("#error").inner_text()
    assert customers(site)[0] == 1
    assert site.console_errors == []
