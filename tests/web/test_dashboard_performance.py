"""The dashboard's vintage curves and roll rates in a real browser: the charts are drawn and the
tables beside them show the same figures as :mod:`lendcore.queries.performance`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lendcore.auth.principal import StaffRole
from tests.queries.test_performance import _book
from tests.web.conftest import Site
from tests.web.test_customer_story import shoot
from tests.web.test_office_approvals import staff_page


def test_the_dashboard_charts_vintage_curves_and_roll_rates(site: Site, new_page: Any) -> None:
    _book(site.factory)
    site.clock.now = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)  # the business date: 06-30
    office = staff_page(site, new_page, "viewer", StaffRole.VIEWER)
    office.goto("/office/dashboard")
    vintages = [r.split("\t") for r in office.locator("#vintages").inner_text().split("\n")[1:]]
    assert vintages == [
        ["2026-03", "1", "0/2", "0.00%"],
        ["2026-03", "2", "1/2", "33.33%"],
        ["2026-03", "3", "1/2", "33.33%"],
        ["2026-04", "1", "0/2", "0.00%"],
        ["2026-04", "2", "1/2", "80.00%"],
    ]
    rolls = office.locator("#rolls").inner_text()
    assert "2026-05-31\tM0→M1\t1/2\t80.00%" in rolls
    assert "2026-06-30\tM2→M3\t1/1\t100.00%" in rolls
    for chart in ("chart-vintages", "chart-rolls"):
        assert office.evaluate(f"Chart.getChart(document.getElementById('{chart}')) !== undefined")
    assert (
        office.evaluate("Chart.getChart(document.getElementById('chart-vintages')).data.datasets.length") == 2
    )
    office.locator("#chart-vintages").scroll_into_view_if_needed()
    shoot(office, "dashboard-performance-en")
    assert site.console_errors == []
