"""``/api/v1/staff/customers`` on both databases: every member of staff sees customers masked (list,
find by phone, detail); only risk (and admin) unmasks, one field at a time, with a reason, audited
with who, which field, when, why and from where; nothing is audited for a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from lendcore.api.ratelimit import RateRule
from lendcore.api.settings import ApiSettings
from lendcore.auth.principal import Principal, StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, BankCard
from tests.api.conftest import LiveApi, MakeApi
from tests.api.support import customer_principal, problem

URL = "/api/v1/staff/customers"


def _staff(api: LiveApi, name: str, *roles: StaffRole) -> tuple[str, dict[str, str]]:
    subject = api.staff(name, *roles)
    return subject, api.auth(Principal("staff", subject, frozenset(roles), name))


def _unmask_audits(api: LiveApi) -> list[tuple[str, str, dict[str, Any], str | None, Any]]:
    """(actor, customer, details, reason, at) of every unmasking, oldest first."""
    with unit_of_work(api.factory, read_only=True) as session:
        rows = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "customer.unmasked").order_by(AuditRecord.id)
        )
        return [(r.actor, r.target_id, dict(r.details), r.reason, r.at) for r in rows]


def _card_of(api: LiveApi, customer_id: str) -> tuple[str, str]:
    with unit_of_work(api.factory, read_only=True) as session:
        card = session.scalars(select(BankCard).where(BankCard.customer_id == customer_id)).one()
        return card.id, api.cipher.decrypt("card_number", card.card_number_ciphertext)


def test_every_member_of_staff_sees_customers_masked(api: LiveApi) -> None:
    first, phone = api.customer()
    second, _ = api.customer()
    _, viewer = _staff(api, "vic", StaffRole.VIEWER)
    client = api.client()
    page = client.get(URL, params={"limit": 1}, headers=viewer).json()
    rest = client.get(URL, params={"cursor": page["next_cursor"]}, headers=viewer).json()
    rows = page["items"] + rest["items"]
    assert sorted(r["id"] for r in rows) == sorted([first, second]) and rest["next_cursor"] is None
    assert all(r["name"] == "张*" and "****" in r["phone"] for r in rows)
    assert phone not in str(rows)
    found = client.get(URL, params={"phone": f"+86 {phone}"}, headers=viewer).json()["items"]
    assert [r["id"] for r in found] == [first]
    problem(client.get(URL, params={"phone": "12"}, headers=viewer), 422, "INVALID_PHONE")
    detail = client.get(f"{URL}/{first}", headers=viewer)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    _, number = _card_of(api, first)
    assert body["phone"] == phone[:3] + "****" + phone[-4:] and number not in detail.text
    assert body["id_number"].count("*") >= 10 and body["cards"][0]["number"].count("*") >= 5
    problem(client.get(f"{URL}/cus_01JAAAAAAAAAAAAAAAAAAAAAAA", headers=viewer), 404, "CUSTOMER_NOT_FOUND")
    assert client.get(f"{URL}/ln_01JAAAAAAAAAAAAAAAAAAAAAAA", headers=viewer).status_code == 422
    problem(client.get(URL), 401, "AUTHENTICATION_REQUIRED")
    problem(client.get(URL, headers=api.auth(customer_principal(first))), 403, "PERMISSION_DENIED")


def test_risk_unmasks_one_field_with_a_reason_and_the_audit_says_who_what_when_why_where(
    api: LiveApi,
) -> None:
    customer_id, phone = api.customer()
    risk_id, risk = _staff(api, "rita", StaffRole.RISK)
    card_id, number = _card_of(api, customer_id)
    client = api.client()
    seen = client.post(
        f"{URL}/{customer_id}/unmask", json={"field": "phone", "reason": "fraud case #7"}, headers=risk
    )
    assert seen.status_code == 200, seen.text
    assert seen.json() == {"customer_id": customer_id, "field": "phone", "card_id": None, "value": phone}
    assert seen.headers["Cache-Control"] == "no-store"
    card = client.post(
        f"{URL}/{customer_id}/unmask",
        json={"field": "card", "card_id": card_id, "reason": "chargeback"},
        headers=risk,
    ).json()
    assert card["value"] == number
    name = client.post(
        f"{URL}/{customer_id}/unmask", json={"field": "name", "reason": "kyc"}, headers=risk
    ).json()
    assert name["value"] == "张三"
    audits = _unmask_audits(api)
    assert [(actor, target, details["field"], reason) for actor, target, details, reason, _ in audits] == [
        (risk_id, customer_id, "phone", "fraud case #7"),
        (risk_id, customer_id, "card", "chargeback"),
        (risk_id, customer_id, "name", "kyc"),
    ]
    assert all(details["client_ip"] == "127.0.0.1" and at == api.clock() for _, _, details, _, at in audits)
    assert phone not in str(audits) and number not in str(audits)


@pytest.mark.parametrize("role", [StaffRole.VIEWER, StaffRole.OPERATOR, StaffRole.FINANCE])
def test_other_roles_may_not_unmask_and_nothing_is_audited(api: LiveApi, role: StaffRole) -> None:
    customer_id, _ = api.customer()
    _, headers = _staff(api, "someone", role)
    answer = api.client().post(
        f"{URL}/{customer_id}/unmask", json={"field": "phone", "reason": "curious"}, headers=headers
    )
    problem(answer, 403, "PERMISSION_DENIED")
    assert _unmask_audits(api) == []


BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"field": "phone"}, 422, "INVALID_INPUT"),
    ({"field": "phone", "reason": ""}, 422, "INVALID_INPUT"),
    ({"field": "phone", "reason": "   "}, 422, "REASON_REQUIRED"),
    ({"field": "password", "reason": "x"}, 422, "INVALID_INPUT"),
    ({"field": "card", "reason": "x"}, 404, "CARD_NOT_FOUND"),
    ({"field": "card", "reason": "x", "card_id": "card_01JAAAAAAAAAAAAAAAAAAAAAAA"}, 404, "CARD_NOT_FOUND"),
    ({"field": "phone", "reason": "x", "colour": "red"}, 422, "INVALID_INPUT"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD)
def test_a_bad_unmask_request_is_refused_and_nothing_is_audited(
    api: LiveApi, body: dict[str, Any], status: int, code: str
) -> None:
    customer_id, _ = api.customer()
    _, risk = _staff(api, "rita", StaffRole.RISK)
    problem(api.client().post(f"{URL}/{customer_id}/unmask", json=body, headers=risk), status, code)
    assert _unmask_audits(api) == []


def test_another_customers_card_and_an_unknown_customer_are_not_found(api: LiveApi) -> None:
    customer_id, _ = api.customer()
    other, _ = api.customer()
    _, admin = _staff(api, "ada", StaffRole.ADMIN)
    their_card, _ = _card_of(api, other)
    client = api.client()
    body = {"field": "card", "card_id": their_card, "reason": "x"}
    problem(client.post(f"{URL}/{customer_id}/unmask", json=body, headers=admin), 404, "CARD_NOT_FOUND")
    unknown = f"{URL}/cus_01JAAAAAAAAAAAAAAAAAAAAAAA/unmask"
    problem(
        client.post(unknown, json={"field": "name", "reason": "x"}, headers=admin), 404, "CUSTOMER_NOT_FOUND"
    )
    assert _unmask_audits(api) == []


def test_unmasking_is_limited_per_member_of_staff_and_a_limited_one_is_not_audited(make_api: MakeApi) -> None:
    rules = {**ApiSettings().rate_limits, "unmask:principal": RateRule(2, 3600)}
    api = make_api(settings=ApiSettings(rate_limits=rules))
    customer_id, _ = api.customer()
    _, risk = _staff(api, "rita", StaffRole.RISK)
    _, other = _staff(api, "rolf", StaffRole.RISK)
    client = api.client()
    body = {"field": "phone", "reason": "case 9"}
    answers = [client.post(f"{URL}/{customer_id}/unmask", json=body, headers=risk) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    problem(answers[2], 429, "RATE_LIMITED")
    assert client.post(f"{URL}/{customer_id}/unmask", json=body, headers=other).status_code == 200
    assert len(_unmask_audits(api)) == 3
