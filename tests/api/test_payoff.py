"""Payoff quotes: what settles a contract, or all of a customer's, on a date; paying the quoted total in
pay-off-all mode on that date closes them (the quote is exact to the fen)."""

from __future__ import annotations

from sqlalchemy import select

from lendcore.core.allocation import CustomerMode
from lendcore.store.engine import unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import Contract
from tests.api.conftest import LiveApi
from tests.api.support import borrower, problem
from tests.servicing.support import D0, do_draw, do_repay


def test_the_quoted_total_pays_off_every_contract(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    do_draw(api.factory, me.line_id, 200_000, 6)
    with api.client() as client:
        answer = client.get("/api/v1/payoff", params={"date": D0.isoformat()}, headers=me.headers)
        assert answer.status_code == 200, answer.text
        quote = answer.json()
        one = client.get(
            f"/api/v1/contracts/{me.contract_id}/payoff", params={"date": "2026-03-01"}, headers=me.headers
        ).json()
    assert quote["customer_id"] == me.customer_id and quote["date"] == "2026-03-01"
    assert len(quote["contracts"]) == 2
    assert quote["total"]["fen"] == sum(c["total"]["fen"] for c in quote["contracts"])
    assert one in quote["contracts"]
    do_repay(api.factory, me.customer_id, quote["total"]["fen"], D0, CustomerMode.PAY_OFF_ALL)
    with unit_of_work(api.factory, read_only=True) as session:
        statuses = session.scalars(
            select(Contract.status).where(Contract.customer_id == me.customer_id)
        ).all()
    assert set(statuses) == {"closed"}
    with api.client() as client:
        closed = client.get(f"/api/v1/contracts/{me.contract_id}/payoff", headers=me.headers)
        nothing = client.get("/api/v1/payoff", headers=me.headers).json()
    problem(closed, 409, "CONTRACT_NOT_OPEN")
    assert nothing["contracts"] == [] and nothing["total"]["fen"] == 0


def test_a_later_date_quotes_the_interest_accrued_by_then(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    url = f"/api/v1/contracts/{me.contract_id}/payoff"
    with api.client() as client:
        today = client.get(url, params={"date": "2026-03-01"}, headers=me.headers).json()
        later = client.get(url, params={"date": "2026-03-11"}, headers=me.headers).json()
    assert today["principal"] == later["principal"] == {"fen": 300_000, "display": "¥3,000.00"}
    assert later["interest"]["fen"] > today["interest"]["fen"]


def test_payoff_refuses_bad_dates(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    url = f"/api/v1/contracts/{me.contract_id}/payoff"
    with api.client() as client:
        problem(
            client.get(url, params={"date": "2026-02-28"}, headers=me.headers),
            409,
            "DATE_BEFORE_CONTRACT_START",
        )
        problem(client.get(url, params={"date": "1999-12-31"}, headers=me.headers), 422, "DATE_OUT_OF_RANGE")
        problem(client.get(url, params={"date": "2030-01-01"}, headers=me.headers), 422, "DATE_OUT_OF_RANGE")
        problem(client.get(url, params={"date": "2026-02-30"}, headers=me.headers), 422, "INVALID_DATE")
        problem(client.get(url, params={"date": "tomorrow"}, headers=me.headers), 422, "INVALID_DATE")
        problem(
            client.get("/api/v1/payoff", params={"date": "03/01/2026"}, headers=me.headers),
            422,
            "INVALID_DATE",
        )


def test_another_customers_contract_has_no_payoff_for_you(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    other = borrower(api, draw=300_000)
    with api.client() as client:
        problem(
            client.get(f"/api/v1/contracts/{other.contract_id}/payoff", headers=me.headers),
            404,
            "CONTRACT_NOT_FOUND",
        )
        problem(
            client.get(f"/api/v1/contracts/{new_id('ln')}/payoff", headers=me.headers),
            404,
            "CONTRACT_NOT_FOUND",
        )
        mine = client.get("/api/v1/payoff", headers=me.headers).json()
        problem(client.get("/api/v1/payoff"), 401, "AUTHENTICATION_REQUIRED")
    assert mine["contracts"] == []
