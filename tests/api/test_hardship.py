"""``/api/v1/hardship-offers``: a customer sees their offers (new schedule, APR, total cost) and accepts
or declines one with an Idempotency-Key; another customer's offer is 404, as if it did not exist."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from lendcore.approvals.proposals import ProposeRequest, Staff, approve, propose
from lendcore.auth.principal import StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.models import LoanTransaction
from tests.api.conftest import LiveApi
from tests.api.support import customer_principal, problem
from tests.servicing.support import do_draw, open_line

URL = "/api/v1/hardship-offers"
OPERATOR = Staff("stf_operator", frozenset({StaffRole.OPERATOR}))
RISK = Staff("stf_risk", frozenset({StaffRole.RISK}))


def _offer(api: LiveApi) -> tuple[dict[str, str], str, str]:
    customer, _ = api.customer()
    _, line = open_line(api.factory, product="premium", customer_id=customer)
    contract = do_draw(api.factory, line, 1_200_000, 12, method="equal-installment")["contract_id"]
    now = api.clock()
    with unit_of_work(api.factory) as session:
        payload = {"kind": "extension", "periods": 2}
        proposal = propose(
            session, ProposeRequest("hardship-plan", contract, "illness", payload), OPERATOR, now=now
        )
    with unit_of_work(api.factory) as session:
        result = approve(session, proposal.id, RISK, now=now).result
    assert result is not None
    return api.auth(customer_principal(customer)), contract, result["id"]


def _post(client: httpx.Client, headers: dict[str, str], path: str, key: str | None) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(f"{URL}/{path}", headers=headers | extra)


def _restructures(api: LiveApi, contract: str) -> int:
    with unit_of_work(api.factory, read_only=True) as session:
        count = session.scalar(
            select(func.count()).where(
                LoanTransaction.contract_id == contract, LoanTransaction.type == "restructure"
            )
        )
    return int(count or 0)


def test_the_customer_sees_the_plan_and_accepting_books_it_once(api: LiveApi) -> None:
    headers, contract, offer = _offer(api)
    with api.client() as client:
        listed = client.get(URL, headers=headers)
        assert listed.status_code == 200, listed.text
        [shown] = listed.json()
        plan: dict[str, Any] = shown["plan"]
        assert shown["id"] == offer and shown["status"] == "offered" and shown["contract_id"] == contract
        assert plan["principal"]["fen"] == sum(r["principal"]["fen"] for r in plan["schedule"]) == 1_200_000
        assert plan["total_to_pay"]["fen"] == plan["arrears"]["fen"] + plan["carried_interest"]["fen"] + sum(
            r["total"]["fen"] for r in plan["schedule"]
        )
        assert plan["apr"] and plan["total_to_pay"]["display"].startswith("¥")
        assert client.get(f"{URL}/{offer}", headers=headers).json() == shown
        problem(_post(client, headers, f"{offer}/accept", None), 400, "IDEMPOTENCY_KEY_REQUIRED")
        accepted = _post(client, headers, f"{offer}/accept", "acc-1")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "accepted"
        assert accepted.json()["maturity_date"] == plan["schedule"][-1]["due_date"]
        again = _post(client, headers, f"{offer}/accept", "acc-1")
        assert again.json() == accepted.json() and again.headers.get("Idempotent-Replayed") == "true"
        problem(_post(client, headers, f"{offer}/accept", "acc-2"), 409, "HARDSHIP_OFFER_DECIDED")
        problem(_post(client, headers, f"{offer}/decline", "dec-1"), 409, "HARDSHIP_OFFER_DECIDED")
        assert client.get(f"{URL}/{offer}", headers=headers).json()["status"] == "accepted"
    assert _restructures(api, contract) == 1


def test_another_customers_offer_is_not_found(api: LiveApi) -> None:
    _, contract, offer = _offer(api)
    stranger, _ = api.customer()
    headers = api.auth(customer_principal(stranger))
    with api.client() as client:
        assert client.get(URL, headers=headers).json() == []
        problem(client.get(f"{URL}/{offer}", headers=headers), 404, "HARDSHIP_OFFER_NOT_FOUND")
        problem(_post(client, headers, f"{offer}/accept", "x-1"), 404, "HARDSHIP_OFFER_NOT_FOUND")
        problem(_post(client, headers, f"{offer}/decline", "x-2"), 404, "HARDSHIP_OFFER_NOT_FOUND")
        problem(client.get(f"{URL}/ln_bad", headers=headers), 422, "INVALID_ID")
    assert _restructures(api, contract) == 0


def test_declining_books_nothing(api: LiveApi) -> None:
    headers, contract, offer = _offer(api)
    with api.client() as client:
        declined = _post(client, headers, f"{offer}/decline", "d-1")
        assert declined.status_code == 200 and declined.json()["status"] == "declined"
        problem(_post(client, headers, f"{offer}/accept", "a-1"), 409, "HARDSHIP_OFFER_DECIDED")
    assert _restructures(api, contract) == 0
