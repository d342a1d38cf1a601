"""``/api/v1/contracts``: a customer reads their contracts: balances, days past due, every installment
with what it has paid and still owes (the loan view of the CLI), and the transactions; another
customer's contract is 404, exactly like one that does not exist."""

from __future__ import annotations

from lendcore.auth.principal import StaffRole
from lendcore.store.ids import new_id
from tests.api.conftest import LiveApi
from tests.api.support import borrower, problem, staff_principal
from tests.servicing.support import D0, do_repay


def test_a_contract_shows_its_schedule_with_paid_and_remaining_per_installment(api: LiveApi) -> None:
    me = borrower(api, draw=300_000, term=3)
    do_repay(api.factory, me.customer_id, 50_000, D0)
    with api.client() as client:
        shown = client.get(f"/api/v1/contracts/{me.contract_id}", headers=me.headers)
    assert shown.status_code == 200, shown.text
    contract = shown.json()
    assert contract["id"] == me.contract_id and contract["line_id"] == me.line_id
    assert contract["principal"] == {"fen": 300_000, "display": "¥3,000.00"}
    assert contract["term"] == 3 and len(contract["installments"]) == 3
    assert contract["days_past_due"] == 0 and contract["bucket"] == "M0"
    # the ¥500 prepaid principal and re-planned the schedule (version 2) over what is left …
    assert contract["schedule_version"] == 2
    assert contract["balances"]["principal"] == {"fen": 250_000, "display": "¥2,500.00"}
    assert sum(i["principal_outstanding"]["fen"] for i in contract["installments"]) == 250_000
    for i in contract["installments"]:  # … and every installment adds up: paid + remaining = owed
        assert i["principal_paid"]["fen"] + i["principal_outstanding"]["fen"] == i["principal"]["fen"]
        assert i["outstanding"]["fen"] >= i["principal_outstanding"]["fen"]
    assert isinstance(contract["daily_rate"], str)


def test_the_transactions_page_in_booking_order(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    do_repay(api.factory, me.customer_id, 10_000, D0)
    do_repay(api.factory, me.customer_id, 10_000, D0)
    url = f"/api/v1/contracts/{me.contract_id}/transactions"
    seen: list[dict[str, object]] = []
    cursor = None
    with api.client() as client:
        while True:
            params: dict[str, object] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            page = client.get(url, params=params, headers=me.headers).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        other = borrower(api, draw=100_000)
        assert other.contract_id is not None
        foreign = client.get(
            f"/api/v1/contracts/{other.contract_id}/transactions",
            params={"cursor": client.get(url, params={"limit": 1}, headers=me.headers).json()["next_cursor"]},
            headers=other.headers,
        )
    assert [t["seq"] for t in seen] == list(range(1, len(seen) + 1))
    assert seen[0]["type"] == "disbursement" and seen[0]["amount"] == {"fen": 300_000, "display": "¥3,000.00"}
    assert [t["amount"]["fen"] for t in seen if t["type"] == "repayment"] == [10_000, 10_000]
    problem(foreign, 422, "INVALID_CURSOR")  # a cursor belongs to its contract's list


def test_the_list_holds_only_the_callers_contracts(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    borrower(api, draw=200_000)
    with api.client() as client:
        mine = client.get("/api/v1/contracts", headers=me.headers).json()
        everyone = client.get(
            "/api/v1/contracts", headers=api.auth(staff_principal(StaffRole.FINANCE))
        ).json()
    assert [c["id"] for c in mine["items"]] == [me.contract_id]
    assert mine["items"][0]["outstanding_principal"]["fen"] == 300_000
    assert len(everyone["items"]) == 2


def test_another_customers_contract_is_not_found_not_forbidden(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    other = borrower(api, draw=300_000)
    with api.client() as client:
        for suffix in ("", "/transactions"):
            theirs = client.get(f"/api/v1/contracts/{other.contract_id}{suffix}", headers=me.headers)
            unknown = client.get(f"/api/v1/contracts/{new_id('ln')}{suffix}", headers=me.headers)
            assert problem(theirs, 404, "CONTRACT_NOT_FOUND") | {"instance": "", "request_id": ""} == problem(
                unknown, 404, "CONTRACT_NOT_FOUND"
            ) | {"instance": "", "request_id": ""}


def test_contracts_refuse_callers_without_a_reading_right_and_bad_ids(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    with api.client() as client:
        problem(client.get(f"/api/v1/contracts/{me.contract_id}"), 401, "AUTHENTICATION_REQUIRED")
        problem(
            client.get("/api/v1/contracts", headers=api.auth(staff_principal())), 403, "PERMISSION_DENIED"
        )
        problem(client.get("/api/v1/contracts/cl_x", headers=me.headers), 422, "INVALID_ID")
        problem(
            client.get("/api/v1/contracts", params={"limit": 0}, headers=me.headers), 422, "INVALID_INPUT"
        )
        problem(
            client.get("/api/v1/contracts", params={"limit": 201}, headers=me.headers), 422, "INVALID_INPUT"
        )
