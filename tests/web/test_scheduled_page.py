"""``/app/scheduled`` (预约还款) in a real browser: reached from home and the repay page, the next
installment offered with the amount that will be due on its due date; a take date outside the window
is stopped by the browser's date bounds and, forced past them, refused by the use case with its code
(nothing written), as are a replayed key with another date, a date that is not one and an unknown
contract; booking lists it, a double submit of the same form books once; cancelling before
the take date shows it cancelled (twice: still once), the installment can be booked again;
an unknown booking is not found; on its take date a booking cannot be cancelled and, taken, shows
so. Every input labelled, the form usable from the keyboard, no
console error; screenshots in Chinese and English."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import close_business_days
from lendcore.core.allocation import amount_due
from lendcore.core.errors import LendcoreError
from lendcore.servicing.codecs import contract_state
from lendcore.servicing.repository import state_as_of
from lendcore.servicing.scheduled import ScheduleRepaymentRequest, book_scheduled, take_scheduled
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from lendcore.store.models_notify import ScheduledRepayment
from lendcore.web.scheduled_pages import offer_of
from tests.servicing.support import D0, do_draw, key, open_line
from tests.web.conftest import Site
from tests.web.test_card_pages import UNLABELLED
from tests.web.test_customer_story import shoot, sign_in, yuan
from tests.web.test_office_approvals import refused

TODAY = date(2026, 3, 25)  # a one-month bullet drawn on 2026-03-01 falls due on 2026-04-01
TAKE = date(2026, 3, 28)


def _borrower_within_the_window(site: Site) -> tuple[str, str, str, date]:
    """A customer with a one-installment loan whose due date is within the window; the app on TODAY."""
    customer_id, phone = site.customer()
    _, line = open_line(site.factory, customer_id=customer_id)
    contract_id = do_draw(site.factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    close_business_days(site.factory, TODAY - timedelta(days=1))
    site.clock.now = datetime.combine(TODAY, time(2), tzinfo=UTC)
    with unit_of_work(site.factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        due = contract_state(contract).rows[0].due_date
    assert TODAY < due <= TODAY + timedelta(days=10)  # the premise: bookable today
    return customer_id, phone, contract_id, due


def _will_be_due(site: Site, contract_id: str, due: date) -> int:
    with unit_of_work(site.factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return amount_due(contract_state(contract), due)


def _bookings(site: Site) -> list[tuple[str, date, str]]:
    with unit_of_work(site.factory, read_only=True) as session:
        stmt = select(ScheduledRepayment).order_by(ScheduledRepayment.created_at, ScheduledRepayment.id)
        rows = session.scalars(stmt)
        return [(r.id, r.take_on, r.status) for r in rows]


def _form(page: Any, selector: str) -> dict[str, str]:
    fields = page.locator(f"{selector} input[name]")
    return {fields.nth(i).get_attribute("name"): fields.nth(i).input_value() for i in range(fields.count())}


def test_a_customer_books_sees_it_listed_double_submits_once_cancels_and_is_refused_outside_the_window(
    site: Site, new_page: Any
) -> None:
    _, phone, contract_id, due = _borrower_within_the_window(site)
    page = new_page("zh")
    sign_in(page, site, phone)
    page.locator("#go-repay").click()  # linked from the repay page (and from home)
    page.locator("#go-scheduled").click()
    page.wait_for_url("**/app/scheduled")
    assert page.evaluate(UNLABELLED) == []
    offer = page.locator(f"#offer-{contract_id}")
    assert yuan(offer.locator(".will-be-due").inner_text()) == _will_be_due(site, contract_id, due)
    take_on = page.get_by_label("扣款日期")
    assert (take_on.get_attribute("min"), take_on.get_attribute("max")) == (
        str(TODAY + timedelta(days=1)), str(due),
    )  # fmt: skip

    # a day after the due date: the browser's bounds stop it; forced past them, the use case refuses
    take_on.fill(str(due + timedelta(days=1)))
    assert take_on.evaluate("e => e.validity.rangeOverflow") is True
    page.locator(f"#book-form-{contract_id}").evaluate("f => { f.noValidate = true; }")
    assert refused(site, page, page.locator(f"#book-{contract_id}").click) == 409
    assert "SCHEDULED_AFTER_DUE_DATE" in page.locator("#error").inner_text()
    assert _bookings(site) == []

    # book from the keyboard: the date field, then Tab to the button, Enter
    form = _form(page, f"#book-form-{contract_id}")
    take_on = page.get_by_label("扣款日期")
    take_on.fill(str(TAKE))
    take_on.focus()
    for _ in range(4):  # Tab walks the date's own fields (year, month, day), then leaves it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") != take_on.get_attribute("id"):
            break
    assert page.evaluate("document.activeElement.id") == f"book-{contract_id}"
    page.keyboard.press("Enter")
    page.locator("#booked").wait_for()
    ((booking_id, booked_on, status),) = _bookings(site)
    assert (booked_on, status) == (TAKE, "booked")
    assert page.locator(f"#booking-{booking_id} .state").inner_text() == "已预约"
    assert "本期已预约" in offer.inner_text()  # no second form for the same installment
    shoot(page, "app-scheduled-zh")

    # the same form submitted again (a double submit): the first booking replayed, still one
    replay = page.request.post("/app/scheduled", form={**form, "take_on": str(TAKE)})
    assert replay.status == 200
    assert _bookings(site) == [(booking_id, TAKE, "booked")]
    # a stranger's forms: the same key with another date, a date that is not one, an unknown
    # contract, an installment that is not a number: each refused with its code, nothing written
    strangers = [
        ({"take_on": str(TAKE + timedelta(days=1))}, "IDEMPOTENCY_KEY_REUSED"),
        ({"take_on": "2026-02-30", "key": "web-sched-other-1"}, "INVALID_INPUT"),
        (
            {"take_on": str(TAKE), "key": "web-sched-other-2", "contract_id": "ln_unknown"},
            "CONTRACT_NOT_FOUND",
        ),
        ({"take_on": str(TAKE), "key": "web-sched-other-3", "period": "0"}, "INVALID_INPUT"),
    ]
    for change, code in strangers:
        answer = page.request.post("/app/scheduled", form={**form, **change})
        assert answer.status >= 400 and code in answer.text(), (change, answer.status)
    assert _bookings(site) == [(booking_id, TAKE, "booked")]

    # cancel before the take date; a second cancel shows it cancelled, nothing more
    cancel_form = _form(page, f"#booking-{booking_id}")
    page.locator(f"#cancel-{booking_id}").click()
    page.locator("#cancelled").wait_for()
    assert page.locator(f"#booking-{booking_id} .state").inner_text() == "已取消"
    expect(page.locator(f"#cancel-{booking_id}")).to_have_count(0)
    again = page.request.post(f"/app/scheduled/{booking_id}/cancel", form=cancel_form)
    assert again.status == 200
    assert _bookings(site) == [(booking_id, TAKE, "cancelled")]
    unknown = page.request.post("/app/scheduled/srp_unknown/cancel", form=cancel_form)
    assert unknown.status == 404
    assert "SCHEDULED_NOT_FOUND" in unknown.text()

    # the installment is free again: booked in English for the due date itself
    page.goto("/app/lang/en?next=/app/scheduled")
    page.wait_for_url("**/app/scheduled")
    page.get_by_label("Take date").fill(str(due))
    page.locator(f"#book-{contract_id}").click()
    page.locator("#booked").wait_for()
    assert [(d, s) for _, d, s in _bookings(site)] == [(TAKE, "cancelled"), (due, "booked")]
    shoot(page, "app-scheduled-en")
    assert site.console_errors == []


def test_before_the_window_opens_the_page_says_when_and_offers_no_form(site: Site, new_page: Any) -> None:
    customer_id, phone = site.customer()
    _, line = open_line(site.factory, customer_id=customer_id, on=site.clock.now.date())
    contract_id = do_draw(site.factory, line, 500_000, 3, on=site.clock.now.date())["contract_id"]
    with unit_of_work(site.factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        due = contract_state(contract).rows[0].due_date
    page = new_page("zh")
    sign_in(page, site, phone)
    page.locator("#go-scheduled").click()  # linked from home
    page.wait_for_url("**/app/scheduled")
    offer = page.locator(f"#offer-{contract_id}").inner_text()
    assert f"此日期起可预约: {due - timedelta(days=10)}" in offer
    expect(page.locator(f"#book-form-{contract_id}")).to_have_count(0)
    assert site.console_errors == []


def test_the_page_offers_a_form_exactly_on_the_days_the_use_case_books_and_for_its_amount(
    session_factory: sessionmaker[Session],
) -> None:
    """The offer (window open, amount) agrees with ``book_scheduled`` on every day from the draw to the
    due date: booking the due date itself succeeds exactly when the page shows a form, for the amount
    shown. Each attempt is rolled back. SQLite and PostgreSQL."""
    customer_id, line = open_line(session_factory)
    contract_id = do_draw(session_factory, line, 1_000_000, 1, method="bullet")["contract_id"]
    with session_factory() as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        due = contract_state(contract).rows[0].due_date
        seen = set()
        for offset in range((due - D0).days + 2):
            today = D0 + timedelta(days=offset)
            offer = offer_of(contract_id, state_as_of(session, contract, today), today)
            request = ScheduleRepaymentRequest(customer_id, contract_id, due, today, key("web-offer"))
            try:
                booked: int | None = book_scheduled(session, request).amount
            except LendcoreError as refusal:
                booked, seen = None, seen | {refusal.code}
            session.rollback()
            assert (offer is not None and offer.bookable) == (booked is not None), today
            assert offer is None or booked is None or offer.amount == booked, today
    # the premise: the walk met the window's refusals and the day after the due date (no offer)
    assert {"SCHEDULED_TOO_EARLY", "SCHEDULED_DATE_NOT_FUTURE", "SCHEDULED_NO_INSTALLMENT"} <= seen


def test_on_its_take_date_a_booking_is_taken_shown_so_and_can_no_longer_be_cancelled(
    site: Site, new_page: Any
) -> None:
    customer_id, phone, contract_id, _ = _borrower_within_the_window(site)
    request = ScheduleRepaymentRequest(customer_id, contract_id, TAKE, TODAY, key("web-take"))
    with unit_of_work(site.factory) as session:
        booking_id = book_scheduled(session, request).id
    close_business_days(site.factory, TAKE - timedelta(days=1))  # the app on the take date …
    site.clock.now = datetime.combine(TAKE, time(2), tzinfo=UTC)
    page = new_page("zh")
    sign_in(page, site, phone)
    page.goto("/app/scheduled")
    expect(page.locator(f"#cancel-{booking_id}")).to_have_count(0)  # on its day: too late to cancel
    cancel_form = {"csrf_token": page.locator("input[name=csrf_token]").first.input_value()}
    forced = page.request.post(f"/app/scheduled/{booking_id}/cancel", form=cancel_form)
    assert forced.status == 409 and "SCHEDULED_NOT_CANCELLABLE" in forced.text()
    with unit_of_work(site.factory) as session:  # … when the scheduled.take job takes it
        assert list(take_scheduled(session, TAKE, now=site.clock.now).taken) == [booking_id]
    page.reload()
    assert page.locator(f"#booking-{booking_id} .state").inner_text() == "已扣款，待还款日入账"
    assert "本期已预约" in page.locator(f"#offer-{contract_id}").inner_text()  # not bookable twice
    assert [s for _, _, s in _bookings(site)] == ["taken"]
    assert site.console_errors == []
