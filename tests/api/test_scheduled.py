"""``/api/v1/scheduled-repayments``: a customer books, lists, shows and cancels their own scheduled
repayments through uvicorn; Idempotency-Key required and replayed; another customer's is 404; the
window and amount refusals are problem documents."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import LiveApi
from tests.api.support import Borrower, borrower, problem

URL = "/api/v1/scheduled-repayments"


def _book(client: httpx.Client, me: Borrower, key: str | None, **body: Any) -> httpx.Response:
    headers = me.headers | ({"Idempotency-Key": key} if key is not None else {})
    return client.post(URL, json={"contract_id": me.contract_id, **body}, headers=headers)


def test_book_list_show_and_cancel_my_own(api: LiveApi) -> None:
    api.clock.advance(days=5)  # 2026-03-25: within 10 days of the 04-01 due date
    me, other = borrower(api), borrower(api)
    with api.client() as client:
        too_early = _book(client, me, "k0", take_on="2026-03-30", amount=10**12)
        problem(too_early, 422, "AMOUNT_TOO_LARGE")
        problem(_book(client, me, None, take_on="2026-03-30"), 400, "IDEMPOTENCY_KEY_REQUIRED")
        booked = _book(client, me, "k1", take_on="2026-03-30")
        assert booked.status_code == 201, booked.text
        again = _book(client, me, "k1", take_on="2026-03-30")
        assert again.json() == booked.json()
        body = booked.json()
        assert body["status"] == "booked" and body["due_date"] == "2026-04-01" and body["amount"]["fen"] > 0
        problem(_book(client, me, "k2", take_on="2026-03-31"), 409, "SCHEDULED_ALREADY_BOOKED")
        problem(_book(client, other, "k3", take_on="2026-04-02"), 409, "SCHEDULED_AFTER_DUE_DATE")
        problem(_book(client, other, "k4", take_on="2026-03-25"), 409, "SCHEDULED_DATE_NOT_FUTURE")
        problem(
            _book(client, other, "k5", take_on="2026-03-30", amount=body["amount"]["fen"] * 10),
            409,
            "SCHEDULED_AMOUNT_TOO_LARGE",
        )
        theirs = client.post(
            URL, json={"contract_id": other.contract_id, "take_on": "2026-03-30"},
            headers=me.headers | {"Idempotency-Key": "k6"},
        )  # fmt: skip
        problem(theirs, 404, "CONTRACT_NOT_FOUND")
        shown = client.get(booked.headers["Location"], headers=me.headers)
        assert shown.status_code == 200 and shown.json() == body
        problem(client.get(booked.headers["Location"], headers=other.headers), 404, "SCHEDULED_NOT_FOUND")
        assert [s["id"] for s in client.get(URL, headers=me.headers).json()] == [body["id"]]
        assert client.get(URL, headers=other.headers).json() == []
        problem(
            client.delete(booked.headers["Location"], headers=other.headers | {"Idempotency-Key": "d0"}),
            404,
            "SCHEDULED_NOT_FOUND",
        )
        cancelled = client.delete(booked.headers["Location"], headers=me.headers | {"Idempotency-Key": "d1"})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        problem(
            client.delete(booked.headers["Location"], headers=me.headers | {"Idempotency-Key": "d2"}),
            409,
            "SCHEDULED_NOT_CANCELLABLE",
        )
        problem(client.get(f"{URL}/not-an-id", headers=me.headers), 422, "INVALID_ID")


def test_booking_before_the_window_opens_is_refused(api: LiveApi) -> None:
    me = borrower(api)  # the business date is 2026-03-20: the window for 04-01 opens on 03-22
    with api.client() as client:
        refused = problem(_book(client, me, "k1", take_on="2026-03-30"), 409, "SCHEDULED_TOO_EARLY")
    assert "2026-03-22" in refused["detail"]
