"""``/api/v1/drawdowns``: a customer draws on their own line (Idempotency-Key required); the limit
check runs under the line's lock, so two drawdowns racing for the last of a limit cannot both win,
and concurrent retries of one key lend once."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lendcore.auth.principal import StaffRole
from lendcore.store.engine import unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import Contract
from tests.api.conftest import LiveApi
from tests.api.support import Borrower, borrower, problem, staff_principal

URL = "/api/v1/drawdowns"


def _contracts(api: LiveApi, customer_id: str) -> int:
    with unit_of_work(api.factory, read_only=True) as session:
        count = session.scalar(
            select(func.count()).select_from(Contract).where(Contract.customer_id == customer_id)
        )
    return int(count or 0)


def _draw(client: httpx.Client, me: Borrower, key: str | None, **body: Any) -> httpx.Response:
    headers = me.headers | ({"Idempotency-Key": key} if key is not None else {})
    return client.post(
        URL, json={"line_id": me.line_id, "amount": 200_000, "term": 3} | body, headers=headers
    )


def test_a_drawdown_is_disbursed_and_uses_the_limit(api: LiveApi) -> None:
    me = borrower(api, limit=1_000_000, draw=None)
    with api.client() as client:
        drawn = _draw(client, me, "d-1")
        assert drawn.status_code == 201, drawn.text
        body = drawn.json()
        status = client.get(drawn.headers["Location"], headers=me.headers).json()
        line = client.get(f"/api/v1/lines/{me.line_id}", headers=me.headers).json()
    assert body["status"] == "disbursed" and body["id"].startswith("ln_") and body["paid_to"] == "customer"
    assert body["amount"] == {"fen": 200_000, "display": "¥2,000.00"}
    assert body["available_limit"] == {"fen": 800_000, "display": "¥8,000.00"}
    assert status["id"] == body["id"] and status["status"] == "active"
    assert status["payment_id"] == body["payment_id"] and status["payment_state"] == "succeeded"
    assert line["available_limit"]["fen"] == 800_000


def test_a_retry_replays_the_first_answer_and_lends_once(api: LiveApi) -> None:
    me = borrower(api, draw=None)
    with api.client() as client:
        first = _draw(client, me, "d-2")
        again = _draw(client, me, "d-2")
        other_body = _draw(client, me, "d-2", amount=300_000)
        missing = _draw(client, me, None)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    problem(other_body, 422, "IDEMPOTENCY_KEY_REUSED")
    problem(missing, 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert _contracts(api, me.customer_id) == 1


def test_two_customers_may_use_the_same_key(api: LiveApi) -> None:
    me, other = borrower(api, draw=None), borrower(api, draw=None)
    with api.client() as client:
        assert _draw(client, me, "same").status_code == 201
        assert _draw(client, other, "same").status_code == 201
    assert _contracts(api, me.customer_id) == _contracts(api, other.customer_id) == 1


def test_a_drawdown_above_the_available_limit_is_refused_and_writes_nothing(api: LiveApi) -> None:
    me = borrower(api, limit=500_000, draw=None)
    with api.client() as client:
        problem(_draw(client, me, "d-3", amount=500_001), 409, "LIMIT_EXCEEDED")
    assert _contracts(api, me.customer_id) == 0


def test_another_customers_line_is_not_found(api: LiveApi) -> None:
    me, other = borrower(api, draw=None), borrower(api, draw=None)
    with api.client() as client:
        theirs = _draw(client, me, "d-4", line_id=other.line_id)
        unknown = _draw(client, me, "d-5", line_id=new_id("cl"))
        status = client.get(f"{URL}/{new_id('ln')}", headers=me.headers)
    problem(theirs, 404, "LINE_NOT_FOUND")
    problem(unknown, 404, "LINE_NOT_FOUND")
    problem(status, 404, "CONTRACT_NOT_FOUND")
    assert _contracts(api, other.customer_id) == 0


def test_only_customers_draw_and_staff_read_the_status(api: LiveApi) -> None:
    me = borrower(api, draw=300_000)
    staff = api.auth(staff_principal(StaffRole.OPERATOR))
    with api.client() as client:
        refused = client.post(
            URL,
            json={"line_id": me.line_id, "amount": 100, "term": 3},
            headers=staff | {"Idempotency-Key": "s"},
        )
        shown = client.get(f"{URL}/{me.contract_id}", headers=staff)
    problem(refused, 403, "CUSTOMERS_ONLY")
    assert shown.status_code == 200 and shown.json()["id"] == me.contract_id


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": 0}, "AMOUNT_NOT_POSITIVE"),
        ({"amount": -1}, "AMOUNT_NOT_POSITIVE"),
        ({"amount": 10_000_000_001}, "AMOUNT_TOO_LARGE"),
        ({"amount": "200000"}, "AMOUNT_NOT_POSITIVE"),
        ({"term": 0}, "GREATER_THAN_EQUAL"),
        ({"line_id": "cl_bad"}, "INVALID_ID"),
        ({"surprise": 1}, "UNKNOWN_FIELD"),
    ],
)
def test_bad_input_is_refused_per_field_and_lends_nothing(
    api: LiveApi, change: dict[str, Any], code: str
) -> None:
    me = borrower(api, draw=None)
    with api.client() as client:
        answer = _draw(client, me, f"bad-{code}", **change)
    assert answer.status_code == 422, answer.text
    assert [e["code"] for e in answer.json()["errors"]] == [code]
    assert _contracts(api, me.customer_id) == 0


def _race(api: LiveApi, requests: list[tuple[Borrower, str, int]]) -> list[httpx.Response]:
    """Send the requests at once (each thread its own client), after a barrier."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | None] = [None] * len(requests)

    def send(index: int, me: Borrower, key: str, amount: int) -> None:
        with httpx.Client(base_url=api.base_url, timeout=60) as client:
            barrier.wait()
            answers[index] = _draw(client, me, key, amount=amount)

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def test_two_drawdowns_racing_for_the_last_of_a_limit_one_wins(postgres_api: LiveApi) -> None:
    me = borrower(postgres_api, limit=300_000, draw=None)
    answers = _race(postgres_api, [(me, "race-a", 200_000), (me, "race-b", 200_000)])
    assert sorted(a.status_code for a in answers) == [201, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["code"] == "LIMIT_EXCEEDED"
    assert _contracts(postgres_api, me.customer_id) == 1


def test_sixteen_concurrent_retries_of_one_key_lend_once(postgres_api: LiveApi) -> None:
    me = borrower(postgres_api, draw=None)
    answers = _race(postgres_api, [(me, "one-key", 200_000)] * 16)
    codes = {a.status_code for a in answers}
    assert 201 in codes and codes <= {201, 409}
    assert all(a.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS" for a in answers if a.status_code == 409)
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
    assert _contracts(postgres_api, me.customer_id) == 1
