"""The back office lists the undelivered messages (failed, never confirmed) with the fault each opened;
signed-out visitors are sent to sign in. Over HTTP on the real server (no browser needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx

from lendcore.api.settings import ApiSettings
from lendcore.auth.principal import StaffRole
from lendcore.auth.tokens import AccessTokens
from lendcore.notify.delivery import queue_message, record_report, sweep_notifications
from lendcore.notify.sinks import DeliveryReport, DevelopmentSink
from lendcore.store.engine import unit_of_work
from lendcore.web.session import SESSION_COOKIE
from tests.api.support import staff_principal
from tests.web.conftest import Site

AT = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


def test_the_undelivered_list_shows_failed_messages_to_staff_only(site: Site) -> None:
    customer, _ = site.customer()
    with unit_of_work(site.factory) as session:
        row, _ = queue_message(
            session, customer_id=customer, channel="push", template="reminder_due",
            fields={"amount": 88_800, "due_date": date(2026, 3, 20)}, dedupe_key="t:1", now=AT,
            group_key="reminder:x", due_date=date(2026, 3, 20),
        )  # fmt: skip
        record_report(session, row, DeliveryReport(row.id, "failed", AT, "BLOCKED"), "receipt", AT)
    report = sweep_notifications(site.factory, DevelopmentSink(), now=AT)
    assert (report.flagged, report.faults) == (1, 1)
    token = AccessTokens(ApiSettings().jwt_secret, ApiSettings().access_token_ttl).issue(
        staff_principal(StaffRole.VIEWER), site.clock()
    )
    with httpx.Client(base_url=site.base_url) as client:
        anonymous = client.get("/office/notifications")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/office/login"
    with httpx.Client(base_url=site.base_url, cookies={SESSION_COOKIE: token}) as client:
        shown = client.get("/office/notifications")
    assert shown.status_code == 200
    assert "未送达的通知" in shown.text and "BLOCKED" in shown.text and "¥888.00" in shown.text
    assert customer in shown.text and "flt_" in shown.text
