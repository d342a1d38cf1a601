"""``POST /api/v1/quotes``: the drawdown a customer would get on their line (every installment, total
interest, APR), exactly the numbers a confirmed drawdown books; nothing is written."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from lendcore.auth.principal import StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import BUSINESS_CALENDAR, BusinessDate, Contract
from lendcore.store.types import utc_now
from tests.api.conftest import LiveApi
from tests.api.support import borrower, problem, staff_principal


def test_a_quote_lists_every_installment_with_the_totals_and_the_apr(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    with api.client() as client:
        answer = client.post(
            "/api/v1/quotes", json={"line_id": me.line_id, "amount": 1_000_000, "term": 6}, headers=me.headers
        )
    assert answer.status_code == 200, answer.text
    q = answer.json()
    assert q["amount"] == {"fen": 1_000_000, "display": "¥10,000.00"} and q["term"] == 6
    assert len(q["installments"]) == 6 and [i["period"] for i in q["installments"]] == [1, 2, 3, 4, 5, 6]
    assert sum(i["principal"]["fen"] for i in q["installments"]) == 1_000_000
    assert sum(i["interest"]["fen"] for i in q["installments"]) == q["total_interest"]["fen"] > 0
    assert q["total_repayable"]["fen"] == 1_000_000 + q["total_interest"]["fen"] + q["total_fee"]["fen"]
    assert q["installments"][-1]["remaining_principal"]["fen"] == 0
    assert isinstance(q["apr"], str) and float(q["apr"]) > 0
    assert q["start_date"] == "2026-03-20"  # a fresh database: today is the business date
    with unit_of_work(api.factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Contract)) == 0  # nothing written


def test_the_quote_is_what_the_drawdown_books(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    body = {"line_id": me.line_id, "amount": 500_000, "term": 3}
    with api.client() as client:
        q = client.post("/api/v1/quotes", json=body, headers=me.headers).json()
        drawn = client.post("/api/v1/drawdowns", json=body, headers=me.headers | {"Idempotency-Key": "q1"})
        contract = client.get(f"/api/v1/contracts/{drawn.json()['id']}", headers=me.headers).json()
    assert drawn.status_code == 201, drawn.text
    assert drawn.json()["total_interest"] == q["total_interest"] and drawn.json()["apr"] == q["apr"]
    assert [i["principal"] for i in contract["installments"]] == [i["principal"] for i in q["installments"]]


def test_staff_may_quote_on_a_customers_line_and_others_may_not(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    other = borrower(api, draw=None)
    body = {"line_id": other.line_id, "amount": 100_000, "term": 3}
    with api.client() as client:
        problem(client.post("/api/v1/quotes", json=body, headers=me.headers), 404, "LINE_NOT_FOUND")
        unknown = body | {"line_id": new_id("cl")}
        problem(client.post("/api/v1/quotes", json=unknown, headers=me.headers), 404, "LINE_NOT_FOUND")
        viewer = api.auth(staff_principal(StaffRole.VIEWER))
        assert client.post("/api/v1/quotes", json=body, headers=viewer).status_code == 200
        problem(client.post("/api/v1/quotes", json=body), 401, "AUTHENTICATION_REQUIRED")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"amount": None}, "body.amount", "FIELD_REQUIRED"),
        ({"amount": 0}, "body.amount", "AMOUNT_NOT_POSITIVE"),
        ({"amount": -100}, "body.amount", "AMOUNT_NOT_POSITIVE"),
        ({"amount": 10_000_000_001}, "body.amount", "AMOUNT_TOO_LARGE"),
        ({"amount": "1000"}, "body.amount", "AMOUNT_NOT_POSITIVE"),
        ({"amount": 100.0}, "body.amount", "AMOUNT_NOT_POSITIVE"),
        ({"term": None}, "body.term", "FIELD_REQUIRED"),
        ({"term": 0}, "body.term", "GREATER_THAN_EQUAL"),
        ({"term": 601}, "body.term", "LESS_THAN_EQUAL"),
        ({"term": "3"}, "body.term", "INT_TYPE"),
        ({"line_id": "ln_01JF0000000000000000000000"}, "body.line_id", "INVALID_ID"),
        ({"method": "whenever"}, "body.method", "ENUM"),
        ({"colour": "red"}, "body.colour", "UNKNOWN_FIELD"),
    ],
)
def test_a_bad_field_is_named_and_refused(
    api: LiveApi, change: dict[str, Any], field: str, code: str
) -> None:
    me = borrower(api, draw=None)
    body = {"line_id": me.line_id, "amount": 100_000, "term": 3} | change
    body = {k: v for k, v in body.items() if v is not None}
    with api.client() as client:
        answer = client.post("/api/v1/quotes", json=body, headers=me.headers)
    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [(field, code)]


def test_a_term_the_product_does_not_offer_is_refused_by_the_product(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    with api.client() as client:
        answer = client.post(
            "/api/v1/quotes", json={"line_id": me.line_id, "amount": 100_000, "term": 599}, headers=me.headers
        )
    assert answer.status_code == 422 and answer.json()["code"] not in ("INVALID_INPUT", "INTERNAL_ERROR")


def test_a_quote_starts_on_the_open_business_date_not_on_the_clocks_date(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    with unit_of_work(api.factory) as session:  # the close has not yet run for 2026-03-18 and 19
        stored = BusinessDate(name=BUSINESS_CALENDAR, business_date=date(2026, 3, 18), updated_at=utc_now())
        session.merge(stored)
    with api.client() as client:
        body = {"line_id": me.line_id, "amount": 100_000, "term": 3}
        answer = client.post("/api/v1/quotes", json=body, headers=me.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["start_date"] == "2026-03-18"
    assert answer.json()["installments"][0]["start_date"] == "2026-03-18"
