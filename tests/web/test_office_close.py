"""The daily close from the back office, in a real browser: finance closes the open business date
and reads the report with its invariants; a second submit of the same form closes nothing more; a
viewer is refused (``PERMISSION_DENIED``) and nothing is closed."""

from __future__ import annotations

from datetime import date
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from lendcore.auth.principal import StaffRole
from lendcore.batch.close import JOB
from lendcore.store.engine import unit_of_work
from lendcore.store.models import JobRun
from tests.servicing.support import do_draw, open_line
from tests.web.conftest import Site
from tests.web.test_customer_story import shoot
from tests.web.test_office_approvals import refused, staff_page


def closed_dates(site: Site) -> list[date]:
    with unit_of_work(site.factory, read_only=True) as session:
        return list(session.scalars(select(JobRun.business_date).where(JobRun.job == JOB)))


def test_finance_closes_the_open_date_and_reads_the_report_with_its_invariants(
    site: Site, new_page: Any
) -> None:
    _, line_id = open_line(site.factory, on=date(2026, 3, 1))
    do_draw(site.factory, line_id, 1_000_00, 3, on=date(2026, 3, 1))
    fin = staff_page(site, new_page, "fin", StaffRole.FINANCE)
    fin.goto("/office/close")
    assert fin.locator("#next-date").inner_text() == "2026-03-20"  # the app's today on a fresh book
    stale = fin.context.new_page()  # the same form open twice (a double submit)
    stale.goto("/office/close")
    fin.locator("#run-close").click()
    assert fin.locator("#closed").inner_text().endswith("2026-03-20")
    assert fin.locator("#report-status").inner_text() == "succeeded"
    assert fin.locator("#invariants-ok").inner_text() == "all hold"
    assert "trial_balance_balanced\nTrue" in fin.locator("#invariants").inner_text()
    assert fin.locator("#next-date").inner_text() == "2026-03-21"
    expect(fin.locator("#not-yet")).to_be_visible()  # tomorrow cannot be closed today
    shoot(fin, "office-close-en")
    stale.locator("#run-close").click()  # that date is closed already: nothing more is
    assert "already closed" in stale.locator("#closed").inner_text()
    assert closed_dates(site) == [date(2026, 3, 20)]
    assert site.console_errors == []


def test_a_viewer_may_read_the_close_page_but_not_run_the_close(site: Site, new_page: Any) -> None:
    viewer = staff_page(site, new_page, "viewer", StaffRole.VIEWER)
    viewer.goto("/office/close")
    assert refused(site, viewer, viewer.locator("#run-close").click) == 403
    assert "PERMISSION_DENIED" in viewer.locator("#error").inner_text()
    assert closed_dates(site) == []
    assert site.console_errors == []


def test_the_staff_forms_without_the_csrf_token_are_refused_and_nothing_is_written(
    site: Site, new_page: Any
) -> None:
    fin = staff_page(site, new_page, "fin", StaffRole.FINANCE)
    forged = {"csrf_token": "forged", "reason": "r", "kind": "penalty", "business_date": "2026-03-20"}
    for path in ("/office/close", "/office/contracts/ln_x/waive", "/office/approvals/apv_x/approve"):
        assert fin.request.post(path, form=forged).status == 403, path
    register = {
        "csrf_token": "forged",
        "phone": "13900000000",
        "name": "张三",
        "id_number": "x",
        "card_number": "x",
    }
    assert fin.request.post("/app/register", form=register).status == 403
    assert closed_dates(site) == []
