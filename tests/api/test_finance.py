"""``/api/v1/staff/ledger``, ``/api/v1/staff/daily-close``, ``/api/v1/staff/reconciliations`` and
``/api/v1/staff/channel-suspense`` over real HTTP, on both databases: finance (and admin) only; the
trial balance balances; the journal pages; a close runs and reports; a reconciliation reports every
fen; money a channel took that no payment books is listed until a second person clears it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from lendcore.auth.principal import Principal, StaffRole
from lendcore.payments.reconcile import reconcile_statement
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.statement import Statement, StatementRow
from tests.api.conftest import LiveApi
from tests.payments.support import NOW, TODAY, recorded_payment
from tests.servicing.support import do_draw, open_line

STAFF = "/api/v1/staff"


def _as(api: LiveApi, name: str, *roles: StaffRole) -> dict[str, str]:
    return api.auth(Principal("staff", api.staff(name, *roles), frozenset(roles), name))


def test_trial_balance_balances_after_a_drawdown(api: LiveApi) -> None:
    _, line_id = open_line(api.factory)
    do_draw(api.factory, line_id, 1_000_000, 3)
    answer = api.client().get(f"{STAFF}/ledger/trial-balance", headers=_as(api, "fay", StaffRole.FINANCE))
    assert answer.status_code == 200
    body = answer.json()
    assert body["balanced"] is True and body["total_debits"] == body["total_credits"] > 0


@pytest.mark.parametrize("role", [StaffRole.VIEWER, StaffRole.OPERATOR, StaffRole.RISK])
def test_only_finance_reads_the_ledger_and_runs_the_close(api: LiveApi, role: StaffRole) -> None:
    caller = _as(api, "someone", role)
    client = api.client()
    assert client.get(f"{STAFF}/ledger/trial-balance", headers=caller).status_code == 403
    assert client.get(f"{STAFF}/ledger/journal", headers=caller).status_code == 403
    refused = client.post(f"{STAFF}/daily-close", json={}, headers={**caller, "Idempotency-Key": "k1"})
    assert (refused.status_code, refused.json()["code"]) == (403, "PERMISSION_DENIED")


def test_journal_pages_through_every_entry_once(api: LiveApi) -> None:
    _, line_id = open_line(api.factory)
    contract_id = do_draw(api.factory, line_id, 1_000_000, 3)["contract_id"]
    do_draw(api.factory, line_id, 500_000, 3)
    finance = _as(api, "fay", StaffRole.FINANCE)
    client = api.client()
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"{STAFF}/ledger/journal", params=params, headers=finance).json()
        seen += [e["id"] for e in page["items"]]
        for entry in page["items"]:
            assert sum(p["debit"] for p in entry["postings"]) == sum(p["credit"] for p in entry["postings"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 2
    mine = client.get(f"{STAFF}/ledger/journal", params={"contract_id": contract_id}, headers=finance).json()
    assert mine["items"] and {e["contract_id"] for e in mine["items"]} == {contract_id}
    bad = client.get(f"{STAFF}/ledger/journal", params={"contract_id": "cus_x"}, headers=finance)
    assert bad.status_code == 422


def test_daily_close_runs_reports_and_is_skipped_when_repeated(api: LiveApi) -> None:
    _, line_id = open_line(api.factory)
    do_draw(api.factory, line_id, 1_000_000, 3)
    finance = _as(api, "fay", StaffRole.FINANCE)
    client = api.client()
    # no business date stored yet: the close runs on the clock's date
    missing = client.get(f"{STAFF}/daily-close/2026-03-20", headers=finance)
    assert (missing.status_code, missing.json()["code"]) == (404, "CLOSE_NOT_FOUND")
    ran = client.post(
        f"{STAFF}/daily-close", json={}, headers={**finance, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert ran.status_code == 200, ran.text
    report = ran.json()
    assert (report["business_date"], report["status"], report["contracts"]) == ("2026-03-20", "succeeded", 1)
    status = client.get(f"{STAFF}/daily-close/2026-03-20", headers=finance).json()
    assert status["status"] == "succeeded" and status["report"]["contracts"] == 1
    again = client.post(
        f"{STAFF}/daily-close",
        json={"business_date": "2026-03-20"},
        headers={**finance, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert again.json()["status"] == "skipped"
    future = client.post(
        f"{STAFF}/daily-close",
        json={"business_date": "2026-12-31"},
        headers={**finance, "Idempotency-Key": "k2"},
    )
    assert (future.status_code, future.json()["code"]) == (422, "BUSINESS_DATE_IN_FUTURE")
    bad_date = client.post(
        f"{STAFF}/daily-close",
        json={"business_date": "2026-02-30"},
        headers={**finance, "Idempotency-Key": "k3"},
    )
    assert bad_date.status_code == 422


def test_the_close_takes_a_replay_sample_of_0_to_10000(api: LiveApi) -> None:
    """``replay_sample``: active contracts the close replays against their snapshots; refused
    (problem+json, ``INVALID_ARGUMENT``, nothing closed) outside 0–10,000 or when not a whole number."""
    for _ in range(3):
        _, line_id = open_line(api.factory)
        do_draw(api.factory, line_id, 1_000_000, 3)
    finance = _as(api, "fay", StaffRole.FINANCE)
    client = api.client()

    def close(body: dict[str, Any]) -> httpx.Response:
        return client.post(
            f"{STAFF}/daily-close", json=body, headers={**finance, "Idempotency-Key": uuid.uuid4().hex}
        )

    for bad in (-1, 10_001, True, 2.5, "5", None):
        refused = close({"replay_sample": bad})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "INVALID_ARGUMENT", refused.json()
    assert client.get(f"{STAFF}/daily-close/2026-03-20", headers=finance).status_code == 404
    ran = close({"replay_sample": 2})
    assert ran.status_code == 200, ran.text
    report = ran.json()
    assert (report["status"], report["invariants"]["replay_sampled"]) == ("succeeded", 2)


def test_reconciliations_report_every_fen_to_finance_only_and_filter_by_date_and_channel(
    api: LiveApi,
) -> None:
    paid = recorded_payment(api.factory, amount=12_345)
    rows = (
        StatementRow("ref_1", paid, PaymentDirection.INBOUND, 12_345, PaymentState.SUCCEEDED, NOW),
        StatementRow("ref_x", "pay_UNKNOWN", PaymentDirection.INBOUND, 5_000, PaymentState.SUCCEEDED, NOW),
    )
    reconcile_statement(api.factory, Statement("simulator", TODAY, rows), now=NOW)
    reconcile_statement(api.factory, Statement("simulator", TODAY - timedelta(days=1), ()), now=NOW)
    client = api.client()
    finance = _as(api, "fay", StaffRole.FINANCE)
    listed = client.get(
        f"{STAFF}/reconciliations", params={"statement_date": TODAY.isoformat()}, headers=finance
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["rows"], item["total"], item["resolved"], item["discrepancies"]) == (
        2, {"fen": 17_345, "display": "¥173.45"}, 1, 1,
    )  # fmt: skip
    assert (
        item["matched_amount"]["fen"] + item["resolved_amount"]["fen"] + item["unexplained_amount"]["fen"]
        == 17_345
    )
    assert item["issues"] == {"statement_extra": {"count": 1, "amount": {"fen": 5_000, "display": "¥50.00"}}}
    assert item["suspense_amount"] == {"fen": 5_000, "display": "¥50.00"}  # the unknown row's money
    every = client.get(
        f"{STAFF}/reconciliations", params={"channel": "simulator", "limit": 1}, headers=finance
    ).json()
    assert len(every["items"]) == 1 and every["next_cursor"]
    other = client.get(f"{STAFF}/reconciliations", params={"channel": "unionpay"}, headers=finance).json()
    assert other["items"] == []
    for bad in ({"statement_date": "2026-13-01"}, {"channel": "Bad Channel!"}, {"channel": ""}):
        refused = client.get(f"{STAFF}/reconciliations", params=bad, headers=finance)
        assert refused.status_code == 422, bad
    viewer = client.get(f"{STAFF}/reconciliations", headers=_as(api, "vic", StaffRole.VIEWER))
    assert (viewer.status_code, viewer.json()["code"]) == (403, "PERMISSION_DENIED")


def test_channel_suspense_is_listed_until_a_second_person_has_it_returned(api: LiveApi) -> None:
    rows = (
        StatementRow("ref_x", "pay_UNKNOWN", PaymentDirection.INBOUND, 5_000, PaymentState.SUCCEEDED, NOW),
    )
    reconcile_statement(api.factory, Statement("simulator", TODAY, rows), now=NOW)
    client = api.client()
    finance = _as(api, "fay", StaffRole.FINANCE)
    operator = _as(api, "olga", StaffRole.OPERATOR)
    [item] = client.get(f"{STAFF}/channel-suspense", params={"status": "open"}, headers=finance).json()[
        "items"
    ]
    assert (item["status"], item["amount"]["fen"], item["named_payment_id"], item["customer_id"]) == (
        "open", 5_000, "pay_UNKNOWN", None,
    )  # fmt: skip
    body = {
        "kind": "channel-suspense", "target_id": item["id"], "reason": "the channel sent it back",
        "payload": {"action": "return", "reference": "RTN-1"},
    }  # fmt: skip
    key = {"Idempotency-Key": uuid.uuid4().hex}
    proposed = client.post(f"{STAFF}/proposals", json=body, headers={**operator, **key})
    assert proposed.status_code == 201, proposed.text
    own = client.post(
        f"{STAFF}/proposals/{proposed.json()['id']}/approve", json={}, headers={**operator, **key}
    )
    assert own.status_code == 403  # an operator may not approve it (nor anyone their own proposal)
    approved = client.post(
        f"{STAFF}/proposals/{proposed.json()['id']}/approve",
        json={},
        headers={**finance, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert approved.status_code == 200, approved.text
    assert (
        client.get(f"{STAFF}/channel-suspense", params={"status": "open"}, headers=finance).json()["items"]
        == []
    )
    [done] = client.get(f"{STAFF}/channel-suspense", params={"status": "returned"}, headers=finance).json()[
        "items"
    ]
    assert (done["clearing_reference"], done["cleared_by"]) == ("RTN-1", approved.json()["decided_by"])
    for bad in ({"status": "lost"}, {"limit": 0}):
        assert client.get(f"{STAFF}/channel-suspense", params=bad, headers=finance).status_code == 422, bad
    viewer = client.get(f"{STAFF}/channel-suspense", headers=_as(api, "vic", StaffRole.VIEWER))
    assert (viewer.status_code, viewer.json()["code"]) == (403, "PERMISSION_DENIED")
