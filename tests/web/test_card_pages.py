"""``/app/cards`` in a real browser: the customer sees their cards masked, binds another debit card
(made the default), a double submit binds it once, a bad number is refused with its reason and not
echoed back, the last card cannot be unbound and unbinding the default passes it on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from lendcore.store.engine import unit_of_work
from lendcore.store.models import BankCard
from tests.origination.helpers import make_card
from tests.web.conftest import Site
from tests.web.test_customer_story import shoot, sign_in
from tests.web.test_office_approvals import refused

UNLABELLED = (
    "[...document.querySelectorAll('input:not([type=hidden]), select')]"
    ".filter(e => e.labels.length === 0).map(e => e.name)"
)


@dataclass(frozen=True)
class Card:
    id: str
    last4: str
    bank_name: str
    is_default: bool


def _active_cards(site: Site, customer_id: str) -> list[Card]:
    with unit_of_work(site.factory, read_only=True) as session:
        rows = session.scalars(
            select(BankCard)
            .where(BankCard.customer_id == customer_id, BankCard.status == "active")
            .order_by(BankCard.created_at)
        )
        return [Card(r.id, r.last4, r.bank_name, r.is_default) for r in rows]


def _rows(site: Site) -> int:
    with unit_of_work(site.factory, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(BankCard)) or 0


def test_a_customer_binds_a_card_makes_it_the_default_and_unbinds_the_old_one(
    site: Site, new_page: Any
) -> None:
    customer_id, phone = site.customer()
    page = new_page()
    sign_in(page, site, phone)
    page.locator("#go-cards").click()
    page.wait_for_url("**/app/cards")
    assert page.evaluate(UNLABELLED) == []
    (onboarding_card,) = _active_cards(site, customer_id)
    expect(page.locator("#cards .default")).to_have_count(1)
    assert onboarding_card.last4 in page.locator("#cards").inner_text()

    number = make_card("621700")
    page.get_by_label("借记卡卡号").fill(number)
    page.get_by_label("设为默认卡（借款放款到此卡）").check()
    page.locator("#bind-card").click()
    assert "中国建设银行" in page.locator("#bound").inner_text()
    assert number not in page.content()  # masked everywhere
    assert number[:6] in page.locator("#cards").inner_text()
    shoot(page, "app-cards-zh")
    new_card = next(c for c in _active_cards(site, customer_id) if c.id != onboarding_card.id)
    assert new_card.is_default and new_card.bank_name == "中国建设银行"
    expect(page.locator(f"#card-{new_card.id} .default")).to_have_count(1)

    page.locator(f"#unbind-{onboarding_card.id}").click()
    assert onboarding_card.last4 in page.locator("#unbound").inner_text()
    assert [c.id for c in _active_cards(site, customer_id)] == [new_card.id]

    # the last card stays: refused with its reason, nothing changed
    assert refused(site, page, page.locator(f"#unbind-{new_card.id}").click) == 409
    assert "CARD_LAST_ACTIVE" in page.locator("#error").inner_text()
    assert [c.id for c in _active_cards(site, customer_id)] == [new_card.id]
    assert site.console_errors == []


def test_a_double_submit_binds_once_and_a_bad_number_is_refused_and_not_echoed(
    site: Site, new_page: Any
) -> None:
    customer_id, phone = site.customer()
    page = new_page()
    sign_in(page, site, phone)
    page.goto("/app/lang/en?next=/app/cards")
    form = {
        "csrf_token": page.locator("#bind-form input[name=csrf_token]").input_value(),
        "key": page.locator("#bind-form input[name=key]").input_value(),
        "number": make_card(),
    }
    answers = [page.request.post("/app/cards", form=form) for _ in range(2)]
    assert [a.status for a in answers] == [200, 200]
    assert len(_active_cards(site, customer_id)) == 2

    before = _rows(site)
    page.reload()  # a new form, with a new key (the old key is spent on the number above)
    page.get_by_label("Debit card number").fill(make_card()[:10])
    assert refused(site, page, page.locator("#bind-card").click) == 422
    assert "INVALID_CARD_NUMBER" in page.locator("#error").inner_text()
    assert page.get_by_label("Debit card number").input_value() == ""  # never echoed
    shoot(page, "app-cards-refused-en")
    assert _rows(site) == before
    assert site.console_errors == []
