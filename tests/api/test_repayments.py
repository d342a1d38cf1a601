"""``POST /api/v1/repayments``: by amount, by contract, or paying off everything; the answer carries the
use case's exact allocation (every fen accounted for); another customer's contract is 404."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lendcore.auth.principal import StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import Contract, Payment
from lendcore.store.models_payments import PaymentEvent
from tests.api.conftest import LiveApi
from tests.api.support import Borrower, borrower, problem, staff_principal

URL = "/api/v1/repayments"
PARTS = ("penalty", "fee", "interest", "principal", "prepaid_principal", "prepayment_fee", "unapplied")


def _repay(client: httpx.Client, me: Borrower, key: str | None, **body: Any) -> httpx.Response:
    headers = me.headers | ({"Idempotency-Key": key} if key is not None else {})
    return client.post(URL, json=body, headers=headers)


def _inbound(api: LiveApi, customer_id: str) -> int:
    with unit_of_work(api.factory, read_only=True) as session:
        count = session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.customer_id == customer_id, Payment.direction == "inbound")
        )
    return int(count or 0)


def test_a_repayment_by_amount_answers_with_its_exact_allocation(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    with api.client() as client:
        paid = _repay(client, me, "r-1", amount=50_000)
        assert paid.status_code == 201, paid.text
        status = client.get(paid.headers["Location"], headers=me.headers).json()
    body = paid.json()
    assert body["status"] == "succeeded" and body["mode"] == "by-amount"
    assert body["amount"] == {"fen": 50_000, "display": "¥500.00"}
    assert body["business_date"] == body["value_date"] == "2026-03-20"
    [line] = body["contracts"]
    assert line["contract_id"] == me.contract_id
    # 2026-03-01 → 03-20: 19 days of interest at the quick product's grade-C daily rate, paid first …
    assert line["interest"]["fen"] > 0
    # … and every fen of the payment is somewhere
    assert sum(line[part]["fen"] for part in PARTS) == line["amount"]["fen"] == 50_000
    assert (
        line["principal_outstanding"]["fen"]
        == 300_000 - line["principal"]["fen"] - line["prepaid_principal"]["fen"]
    )
    assert status["id"] == body["payment_id"] and status["state"] == "succeeded"
    assert status["direction"] == "inbound" and status["amount"]["fen"] == 50_000
    # through the channel: recorded (created), submitted (processing), confirmed (succeeded), booked
    # once at its value date by the settlement
    with unit_of_work(api.factory, read_only=True) as session:
        events = session.execute(
            select(PaymentEvent.kind, PaymentEvent.to_state)
            .where(PaymentEvent.payment_id == body["payment_id"])
            .order_by(PaymentEvent.id)
        ).all()
        payment = session.get(Payment, body["payment_id"])
        assert payment is not None and payment.allocation is not None
    assert [tuple(e) for e in events] == [
        ("created", "created"),
        ("transition", "processing"),
        ("transition", "succeeded"),
    ]


def test_paying_off_everything_closes_every_contract_for_the_quoted_total(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    with api.client() as client:
        quote = client.get("/api/v1/payoff", headers=me.headers).json()
        paid = _repay(client, me, "r-2", mode="pay-off-all")
    assert paid.status_code == 201, paid.text
    assert paid.json()["amount"] == quote["total"]
    assert [c["status"] for c in paid.json()["contracts"]] == ["closed"]
    with unit_of_work(api.factory, read_only=True) as session:
        assert session.scalar(select(Contract.status).where(Contract.id == me.contract_id)) == "closed"


def test_by_contract_pays_the_named_contract_only(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    with api.client() as client:
        paid = _repay(client, me, "r-3", mode="by-contract", contract_ids=[me.contract_id], amount=10_000)
    assert paid.status_code == 201, paid.text
    assert [c["contract_id"] for c in paid.json()["contracts"]] == [me.contract_id]


def test_another_customers_contract_is_not_found_and_nothing_is_paid(api: LiveApi) -> None:
    me, other = borrower(api, draw=300_000), borrower(api, draw=300_000)
    with api.client() as client:
        theirs = _repay(client, me, "r-4", mode="by-contract", contract_ids=[other.contract_id])
        unknown = _repay(client, me, "r-5", mode="by-contract", contract_ids=[new_id("ln")])
    problem(theirs, 404, "CONTRACT_NOT_FOUND")
    problem(unknown, 404, "CONTRACT_NOT_FOUND")
    assert _inbound(api, me.customer_id) == _inbound(api, other.customer_id) == 0


def test_a_retry_replays_and_pays_once(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    with api.client() as client:
        first = _repay(client, me, "r-6", amount=20_000)
        again = _repay(client, me, "r-6", amount=20_000)
        reused = _repay(client, me, "r-6", amount=20_001)
        missing = _repay(client, me, None, amount=20_000)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    problem(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    problem(missing, 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert _inbound(api, me.customer_id) == 1


def test_refusals_of_the_use_case_come_through_with_their_codes(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    nobody = borrower(api, draw=None)
    with api.client() as client:
        problem(_repay(client, me, "r-7"), 422, "AMOUNT_REQUIRED")  # by amount, without one
        problem(_repay(client, me, "r-8", amount=10_000_000), 409, "OVERPAYMENT_TOO_LARGE")
        refused = _repay(client, nobody, "r-9", amount=10_000)
        staff = api.auth(staff_principal(StaffRole.OPERATOR))
        problem(
            client.post(URL, json={"amount": 100}, headers=staff | {"Idempotency-Key": "s"}),
            403,
            "CUSTOMERS_ONLY",
        )
    assert refused.status_code == 409, refused.text
    assert _inbound(api, me.customer_id) == _inbound(api, nobody.customer_id) == 0


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"amount": 0}, "body.amount", "AMOUNT_NOT_POSITIVE"),
        ({"amount": -5}, "body.amount", "AMOUNT_NOT_POSITIVE"),
        ({"amount": 10_000_000_001}, "body.amount", "AMOUNT_TOO_LARGE"),
        ({"amount": "100"}, "body.amount", "AMOUNT_NOT_POSITIVE"),
        ({"amount": True}, "body.amount", "AMOUNT_NOT_POSITIVE"),
        ({"mode": "whatever"}, "body.mode", "ENUM"),
        ({"contract_ids": []}, "body.contract_ids", "TOO_SHORT"),
        ({"contract_ids": ["cl_x"]}, "body.contract_ids.0", "INVALID_ID"),
        ({"tip": 1}, "body.tip", "UNKNOWN_FIELD"),
    ],
)
def test_bad_input_is_refused_per_field(api: LiveApi, change: dict[str, Any], field: str, code: str) -> None:
    me = borrower(api, draw=300_000)
    with api.client() as client:
        answer = _repay(client, me, f"bad-{field}-{code}", **({"amount": 100} | change))
    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [(field, code)]
    assert _inbound(api, me.customer_id) == 0
