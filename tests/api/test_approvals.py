"""``/api/v1/staff/proposals`` and ``/api/v1/staff/audit-log`` over real HTTP, on both databases:
maker-checker by role, self-approval refused, retried decisions replayed, bad input per field."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lendcore.auth.principal import Principal, StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.models import CreditLine
from tests.api.conftest import LiveApi
from tests.servicing.support import open_line

PROPOSALS = "/api/v1/staff/proposals"


def _staff(api: LiveApi, name: str, *roles: StaffRole) -> dict[str, str]:
    subject = api.staff(name, *roles)
    return api.auth(Principal("staff", subject, frozenset(roles), name))


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _freeze_body(line_id: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "line-freeze", "target_id": line_id, "reason": "fraud signal", **extra}


def test_operator_proposes_risk_approves_and_the_line_freezes(api: LiveApi) -> None:
    operator = _staff(api, "olga", StaffRole.OPERATOR)
    risk = _staff(api, "rita", StaffRole.RISK)
    _, line_id = open_line(api.factory)
    client = api.client()
    created = client.post(PROPOSALS, json=_freeze_body(line_id), headers={**operator, **_key()})
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert (proposal["status"], proposal["kind"], proposal["target_type"]) == (
        "proposed",
        "line-freeze",
        "credit-line",
    )
    approved = client.post(f"{PROPOSALS}/{proposal['id']}/approve", json={}, headers={**risk, **_key()})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "executed"
    with unit_of_work(api.factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and line.status == "frozen"
    listed = client.get(PROPOSALS, params={"status": "executed"}, headers=risk).json()
    assert [p["id"] for p in listed["items"]] == [proposal["id"]]
    shown = client.get(f"{PROPOSALS}/{proposal['id']}", headers=operator).json()
    assert shown["decided_by"] == approved.json()["decided_by"]


def test_audit_log_records_both_steps_with_the_client_address(api: LiveApi) -> None:
    operator = _staff(api, "olga", StaffRole.OPERATOR)
    risk = _staff(api, "rita", StaffRole.RISK)
    _, line_id = open_line(api.factory)
    client = api.client()
    proposal = client.post(PROPOSALS, json=_freeze_body(line_id), headers={**operator, **_key()}).json()
    client.post(
        f"{PROPOSALS}/{proposal['id']}/approve", json={"reason": "checked"}, headers={**risk, **_key()}
    )
    page = client.get(
        "/api/v1/staff/audit-log", params={"target_type": "proposal", "limit": 1}, headers=risk
    ).json()
    assert [r["action"] for r in page["items"]] == ["approval.propose"]
    assert page["items"][0]["details"]["client_ip"] == "127.0.0.1"
    rest = client.get(
        "/api/v1/staff/audit-log",
        params={"target_type": "proposal", "cursor": page["next_cursor"]},
        headers=risk,
    ).json()
    assert [(r["action"], r["reason"]) for r in rest["items"]] == [("approval.approve", "checked")]
    assert rest["next_cursor"] is None


def test_self_approval_is_403_and_the_line_is_untouched(api: LiveApi) -> None:
    admin = _staff(api, "ada", StaffRole.ADMIN)
    _, line_id = open_line(api.factory)
    client = api.client()
    proposal = client.post(PROPOSALS, json=_freeze_body(line_id), headers={**admin, **_key()}).json()
    refused = client.post(f"{PROPOSALS}/{proposal['id']}/approve", json={}, headers={**admin, **_key()})
    assert refused.status_code == 403
    assert refused.json()["code"] == "SELF_APPROVAL"
    with unit_of_work(api.factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and line.status == "active"


def test_a_retried_approval_replays_and_a_new_one_is_a_conflict(api: LiveApi) -> None:
    operator = _staff(api, "olga", StaffRole.OPERATOR)
    risk = _staff(api, "rita", StaffRole.RISK)
    _, line_id = open_line(api.factory)
    client = api.client()
    proposal = client.post(PROPOSALS, json=_freeze_body(line_id), headers={**operator, **_key()}).json()
    key = _key()
    first = client.post(f"{PROPOSALS}/{proposal['id']}/approve", json={}, headers={**risk, **key})
    again = client.post(f"{PROPOSALS}/{proposal['id']}/approve", json={}, headers={**risk, **key})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    fresh = client.post(f"{PROPOSALS}/{proposal['id']}/approve", json={}, headers={**risk, **_key()})
    assert (fresh.status_code, fresh.json()["code"]) == (409, "PROPOSAL_ALREADY_DECIDED")


@pytest.mark.parametrize(
    ("roles", "status", "code"),
    [
        ((StaffRole.VIEWER,), 403, "PERMISSION_DENIED"),  # a viewer cannot propose a waiver
        ((StaffRole.RISK,), 403, "PERMISSION_DENIED"),  # waivers are proposed by operators or finance
    ],
)
def test_who_may_propose_a_waiver(api: LiveApi, roles: tuple[StaffRole, ...], status: int, code: str) -> None:
    caller = _staff(api, "someone", *roles)
    body = {
        "kind": "waive",
        "target_id": "ln_01JF0000000000000000000000",
        "reason": "r",
        "payload": {"kind": "penalty"},
    }
    answer = api.client().post(PROPOSALS, json=body, headers={**caller, **_key()})
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_customers_and_anonymous_callers_are_refused(api: LiveApi) -> None:
    customer_id, _ = api.customer()
    client = api.client()
    assert client.get(PROPOSALS).status_code == 401
    as_customer = client.get(PROPOSALS, headers=api.auth(Principal("customer", customer_id)))
    assert (as_customer.status_code, as_customer.json()["code"]) == (403, "PERMISSION_DENIED")


def test_viewer_reads_proposals_but_not_the_audit_log(api: LiveApi) -> None:
    viewer = _staff(api, "vera", StaffRole.VIEWER)
    client = api.client()
    assert client.get(PROPOSALS, headers=viewer).status_code == 200
    assert client.get("/api/v1/staff/audit-log", headers=viewer).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "nope", "target_id": "x", "reason": "r"}, "kind"),
        ({"kind": "line-freeze", "target_id": "", "reason": "r"}, "target_id"),
        ({"kind": "line-freeze", "target_id": "x", "reason": ""}, "reason"),
        ({"kind": "line-freeze", "target_id": "x", "reason": "r", "payload": []}, "payload"),
        ({"kind": "line-freeze", "target_id": "x", "reason": "r", "extra": 1}, "extra"),
    ],
)
def test_bad_input_names_the_field(api: LiveApi, body: dict[str, Any], field: str) -> None:
    operator = _staff(api, "olga", StaffRole.OPERATOR)
    answer = api.client().post(PROPOSALS, json=body, headers={**operator, **_key()})
    assert answer.status_code == 422
    fields = [e["field"] for e in answer.json()["errors"]]
    assert any(f.endswith(field) for f in fields), fields


def test_payload_errors_and_missing_targets_use_their_codes(api: LiveApi) -> None:
    operator = _staff(api, "olga", StaffRole.OPERATOR)
    client = api.client()
    _, line_id = open_line(api.factory)
    bad = client.post(PROPOSALS, json=_freeze_body(line_id, payload={"x": 1}), headers={**operator, **_key()})
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_PROPOSAL_PAYLOAD")
    missing = client.post(
        PROPOSALS, json=_freeze_body("cl_01JF0000000000000000000000"), headers={**operator, **_key()}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "LINE_NOT_FOUND")
    unknown = client.post(
        f"{PROPOSALS}/apv_01JF0000000000000000000000/approve", json={}, headers={**operator, **_key()}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "PROPOSAL_NOT_FOUND")
    bad_id = client.get(f"{PROPOSALS}/ln_01JF0000000000000000000000", headers=operator)
    assert bad_id.status_code == 422
    no_key = client.post(PROPOSALS, json=_freeze_body(line_id), headers=operator)
    assert (no_key.status_code, no_key.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")


def test_reject_needs_a_reason_and_a_checker(api: LiveApi) -> None:
    operator = _staff(api, "olga", StaffRole.OPERATOR)
    other = _staff(api, "otto", StaffRole.OPERATOR)
    risk = _staff(api, "rita", StaffRole.RISK)
    _, line_id = open_line(api.factory)
    client = api.client()
    proposal = client.post(PROPOSALS, json=_freeze_body(line_id), headers={**operator, **_key()}).json()
    url = f"{PROPOSALS}/{proposal['id']}/reject"
    assert client.post(url, json={}, headers={**risk, **_key()}).status_code == 422
    by_peer = client.post(url, json={"reason": "no"}, headers={**other, **_key()})
    assert (by_peer.status_code, by_peer.json()["code"]) == (403, "PERMISSION_DENIED")
    rejected = client.post(url, json={"reason": "not enough evidence"}, headers={**risk, **_key()})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
