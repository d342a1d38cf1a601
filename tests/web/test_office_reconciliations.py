"""The back office lists each channel statement's reconciliation, every fen in a column (matched,
resolved, unexplained) and the issues per kind; signed-out visitors are sent to sign in. Over HTTP on
the real server (no browser needed)."""

from __future__ import annotations

import httpx

from lendcore.api.settings import ApiSettings
from lendcore.auth.principal import StaffRole
from lendcore.auth.tokens import AccessTokens
from lendcore.payments.reconcile import reconcile_statement
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.statement import Statement, StatementRow
from lendcore.web.session import SESSION_COOKIE
from tests.api.support import staff_principal
from tests.payments.support import NOW, TODAY, recorded_payment
from tests.web.conftest import Site


def test_the_reconciliations_list_shows_every_fen_and_the_issues_to_staff_only(site: Site) -> None:
    paid = recorded_payment(site.factory, amount=12_345)
    rows = (
        StatementRow("ref_1", paid, PaymentDirection.INBOUND, 12_345, PaymentState.SUCCEEDED, NOW),
        StatementRow("ref_x", "pay_UNKNOWN", PaymentDirection.INBOUND, 5_000, PaymentState.SUCCEEDED, NOW),
    )
    reconcile_statement(site.factory, Statement("simulator", TODAY, rows), now=NOW)
    token = AccessTokens(ApiSettings().jwt_secret, ApiSettings().access_token_ttl).issue(
        staff_principal(StaffRole.VIEWER), site.clock()
    )
    with httpx.Client(base_url=site.base_url) as client:
        anonymous = client.get("/office/reconciliations")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/office/login"
    with httpx.Client(base_url=site.base_url, cookies={SESSION_COOKIE: token}) as client:
        shown = client.get("/office/reconciliations")
        home = client.get("/office")
    assert shown.status_code == 200
    text = " ".join(shown.text.split())
    assert "对账" in text and TODAY.isoformat() in text and "simulator" in text
    assert "¥173.45" in text and "1 (¥123.45)" in text and "¥50.00" in text  # total, resolved, unexplained
    assert "对账单多出: 1 (¥50.00)" in text
    assert "渠道待查款" in text and "pay_UNKNOWN" in text  # the unknown row's money, held apart
    assert 'href="/office/propose/channel-suspense?target=sus_' in shown.text
    assert 'href="/office/reconciliations"' in home.text
