"""``/api/v1/applications`` and ``/api/v1/decisions``: a customer applies and gets the instant decision
(idempotent), reads it with its explanation, and may ask for a human review; another customer's
decision is 404."""

from __future__ import annotations

from typing import Any

import httpx

from lendcore.auth.principal import StaffRole
from lendcore.origination.applications import default_form
from lendcore.store.ids import new_id
from tests.api.conftest import LiveApi
from tests.api.support import customer_principal, problem, staff_principal

URL = "/api/v1/applications"


def _apply(
    api: LiveApi, client: httpx.Client, headers: dict[str, str], key: str | None, **change: Any
) -> httpx.Response:
    body = {"product_code": "quick", "form": default_form()} | change
    return client.post(URL, json=body, headers=headers | ({"Idempotency-Key": key} if key else {}))


def test_an_application_is_decided_at_once_and_explained(api: LiveApi) -> None:
    customer_id, _ = api.customer()
    headers = api.auth(customer_principal(customer_id))
    with api.client() as client:
        decided = _apply(api, client, headers, "a-1")
        assert decided.status_code == 201, decided.text
        result = decided.json()
        again = _apply(api, client, headers, "a-1")
        explained = client.get(decided.headers["Location"], headers=headers)
        viewer = client.get(decided.headers["Location"], headers=api.auth(staff_principal(StaffRole.RISK)))
    assert result["outcome"] in ("approved", "declined", "review")
    assert result["decision_id"].startswith("dec_") and result["application_id"].startswith("app_")
    if result["outcome"] == "approved":
        assert result["credit_line_id"].startswith("cl_") and result["credit_limit"]["fen"] > 0
    assert again.json() == result and again.headers["Idempotent-Replayed"] == "true"
    assert explained.status_code == 200, explained.text
    explanation = explained.json()
    assert explanation["decision_id"] == result["decision_id"] and explanation["outcome"] == result["outcome"]
    assert explanation["customer_id"] == customer_id and "versions" in explanation
    assert viewer.status_code == 200


def test_a_review_may_be_asked_once(api: LiveApi) -> None:
    customer_id, _ = api.customer()
    headers = api.auth(customer_principal(customer_id))
    with api.client() as client:
        decision_id = _apply(api, client, headers, "a-2").json()["decision_id"]
        url = f"/api/v1/decisions/{decision_id}/review"
        asked = client.post(url, json={"reason": "my income is higher now"}, headers=headers)
        twice = client.post(url, json={}, headers=headers)
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "queued" and asked.json()["decision_id"] == decision_id
    problem(twice, 409, "REVIEW_ALREADY_OPEN")


def test_another_customers_decision_is_not_found(api: LiveApi) -> None:
    mine, _ = api.customer()
    theirs, _ = api.customer()
    with api.client() as client:
        decision_id = _apply(api, client, api.auth(customer_principal(theirs)), "a-3").json()["decision_id"]
        me = api.auth(customer_principal(mine))
        problem(client.get(f"/api/v1/decisions/{decision_id}", headers=me), 404, "DECISION_NOT_FOUND")
        problem(
            client.post(f"/api/v1/decisions/{decision_id}/review", json={}, headers=me),
            404,
            "DECISION_NOT_FOUND",
        )
        problem(client.get(f"/api/v1/decisions/{new_id('dec')}", headers=me), 404, "DECISION_NOT_FOUND")


def test_a_bad_application_is_refused_with_the_forms_own_codes(api: LiveApi) -> None:
    customer_id, _ = api.customer()
    headers = api.auth(customer_principal(customer_id))
    with api.client() as client:
        problem(_apply(api, client, headers, None), 400, "IDEMPOTENCY_KEY_REQUIRED")
        reused = _apply(api, client, headers, "a-4")
        assert reused.status_code == 201
        problem(_apply(api, client, headers, "a-4", product_code="premium"), 422, "IDEMPOTENCY_KEY_REUSED")
        missing = _apply(api, client, headers, "a-5", form={"term_months": 6})
        unknown = _apply(api, client, headers, "a-6", form=default_form(colour="red"))
        product = _apply(api, client, headers, "a-7", product_code="nothing")
    assert missing.status_code == 422 and missing.json()["code"] in ("INVALID_FORM", "FIELD_REQUIRED")
    problem(unknown, 400, "UNKNOWN_FIELD")  # the error table: a form field the use case does not know
    assert product.status_code in (404, 422), product.text
