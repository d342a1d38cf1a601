"""``/api/v1/payments``: a customer's payments in and out with their state; another's is 404."""

from __future__ import annotations

from lendcore.auth.principal import StaffRole
from lendcore.store.ids import new_id
from tests.api.conftest import LiveApi
from tests.api.support import borrower, problem, staff_principal
from tests.servicing.support import D0, do_repay


def test_a_customer_lists_their_payments_and_reads_each_state(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    repaid = do_repay(api.factory, me.customer_id, 10_000, D0)
    other = borrower(api, draw=100_000)
    with api.client() as client:
        mine = client.get("/api/v1/payments", headers=me.headers).json()
        one = client.get(f"/api/v1/payments/{repaid['payment_id']}", headers=me.headers)
        first = client.get("/api/v1/payments", params={"limit": 1}, headers=me.headers).json()
        everyone = client.get("/api/v1/payments", headers=api.auth(staff_principal(StaffRole.VIEWER))).json()
    assert {(p["direction"], p["amount"]["fen"]) for p in mine["items"]} == {
        ("outbound", 300_000),
        ("inbound", 10_000),
    }
    assert {p["customer_id"] for p in mine["items"]} == {me.customer_id}
    assert one.status_code == 200 and one.json()["state"] == "succeeded"
    assert len(first["items"]) == 1 and first["next_cursor"] is not None
    assert {p["customer_id"] for p in everyone["items"]} == {me.customer_id, other.customer_id}


def test_another_customers_payment_is_not_found(api: LiveApi) -> None:
    me, other = borrower(api, draw=None), borrower(api, draw=300_000)
    with api.client() as client:
        theirs = client.get("/api/v1/payments", headers=other.headers).json()["items"][0]["id"]
        problem(client.get(f"/api/v1/payments/{theirs}", headers=me.headers), 404, "PAYMENT_NOT_FOUND")
        problem(client.get(f"/api/v1/payments/{new_id('pay')}", headers=me.headers), 404, "PAYMENT_NOT_FOUND")
        problem(client.get("/api/v1/payments/pay_1", headers=me.headers), 422, "INVALID_ID")
        problem(client.get("/api/v1/payments"), 401, "AUTHENTICATION_REQUIRED")
        problem(client.get("/api/v1/payments", headers=api.auth(staff_principal())), 403, "PERMISSION_DENIED")
