"""``/api/v1/customers``: onboarding as the CLI does it (consents first, every field validated, PII
encrypted and shown masked), the signed-in customer's record, and consents granted and revoked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from lendcore.api.ratelimit import RateRule
from lendcore.api.settings import ApiSettings
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Customer
from tests.api.conftest import LiveApi, MakeApi
from tests.api.support import customer_principal, problem, staff_principal
from tests.origination.helpers import make_card, make_id, make_phone

URL = "/api/v1/customers"
CONSENTS = [{"kind": "terms"}, {"kind": "privacy"}, {"kind": "sensitive_personal_info"}]


def _body(**change: Any) -> dict[str, Any]:
    return {
        "name": "王小明",
        "id_number": make_id(),
        "phone": make_phone(),
        "cards": [make_card()],
        "consents": CONSENTS,
    } | change


def _customers(api: LiveApi) -> int:
    with unit_of_work(api.factory, read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(Customer)) or 0)


def test_onboarding_stores_the_customer_and_shows_only_masked_data(api: LiveApi) -> None:
    body = _body()
    with api.client() as client:
        answer = client.post(URL, json=body)
        assert answer.status_code == 201, answer.text
        created = answer.json()
        me = client.get(f"{URL}/me", headers=api.auth(customer_principal(created["id"]))).json()
    assert created == me
    assert created["id"].startswith("cus_") and created["name"] == "王**"
    assert created["phone"] == body["phone"][:3] + "****" + body["phone"][-4:]
    assert body["id_number"] not in answer.text and body["cards"][0] not in answer.text
    assert body["name"] not in answer.text and body["phone"] not in answer.text
    assert [c["is_default"] for c in created["cards"]] == [True]
    assert {c["kind"] for c in created["consents"]} == {"terms", "privacy", "sensitive_personal_info"}


def test_a_bad_onboarding_names_each_bad_field_never_its_value_and_writes_nothing(api: LiveApi) -> None:
    with api.client() as client:
        bad = client.post(URL, json=_body(id_number="110105199005051235", phone="123"))
        no_consent = client.post(URL, json=_body(consents=[{"kind": "terms"}]))
        unknown = client.post(URL, json=_body(colour="red"))
        missing = client.post(URL, json={"name": "王小明"})
    body = problem(bad, 422, "ONBOARDING_INVALID")
    assert "body.phone" in body["detail"] and "110105199005051235" not in bad.text
    problem(no_consent, 409, "SENSITIVE_CONSENT_REQUIRED")
    assert unknown.status_code == missing.status_code == 422
    assert _customers(api) == 0


def test_registrations_are_limited_per_client_address_and_a_refused_one_writes_nothing(
    make_api: MakeApi,
) -> None:
    rules = {**ApiSettings().rate_limits, "registration:ip": RateRule(2, 3600)}
    api = make_api(settings=ApiSettings(rate_limits=rules))
    with api.client() as client:
        answers = [client.post(URL, json=_body()) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    problem(answers[2], 429, "RATE_LIMITED")
    assert int(answers[2].headers["Retry-After"]) > 0
    assert _customers(api) == 2


def test_a_person_registers_once(api: LiveApi) -> None:
    body = _body()
    with api.client() as client:
        assert client.post(URL, json=body).status_code == 201
        again = client.post(URL, json=body | {"phone": make_phone(), "cards": [make_card()]})
    problem(again, 409, "DUPLICATE_ID_NUMBER")
    assert _customers(api) == 1


def test_consents_are_granted_and_revoked(api: LiveApi) -> None:
    customer_id, _ = api.customer()
    headers = api.auth(customer_principal(customer_id))
    with api.client() as client:
        granted = client.post(f"{URL}/me/consents", json={"kind": "credit_bureau_query"}, headers=headers)
        revoked = client.delete(f"{URL}/me/consents/credit_bureau_query", headers=headers)
        again = client.delete(f"{URL}/me/consents/credit_bureau_query", headers=headers)
        bad_kind = client.post(f"{URL}/me/consents", json={"kind": "everything"}, headers=headers)
        bad_version = client.post(
            f"{URL}/me/consents", json={"kind": "terms", "text_version": "9.9"}, headers=headers
        )
    assert granted.status_code == 201, granted.text
    bureau = [c for c in granted.json()["consents"] if c["kind"] == "credit_bureau_query"]
    assert len(bureau) == 1 and bureau[0]["revoked_at"] is None
    assert revoked.status_code == 200
    assert [
        c["revoked_at"] is not None for c in revoked.json()["consents"] if c["kind"] == "credit_bureau_query"
    ] == [True]
    problem(again, 409, "CONSENT_NOT_ACTIVE")
    assert bad_kind.status_code == 422
    problem(bad_version, 422, "CONSENT_VERSION_UNKNOWN")


def test_me_is_for_signed_in_customers_only(api: LiveApi) -> None:
    with api.client() as client:
        problem(client.get(f"{URL}/me"), 401, "AUTHENTICATION_REQUIRED")
        problem(client.get(f"{URL}/me", headers=api.auth(staff_principal())), 403, "CUSTOMERS_ONLY")
