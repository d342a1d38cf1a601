"""Helpers for the resource tests: principals, a customer with a line and a drawn contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from lendcore.auth.principal import Principal, StaffRole
from lendcore.store.ids import new_id
from tests.api.conftest import LiveApi
from tests.servicing.support import do_draw, open_line


def customer_principal(customer_id: str) -> Principal:
    return Principal("customer", customer_id)


def staff_principal(*roles: StaffRole) -> Principal:
    return Principal("staff", new_id("stf"), frozenset(roles), username="someone")


@dataclass(frozen=True)
class Borrower:
    customer_id: str
    line_id: str
    contract_id: str | None
    headers: dict[str, str]


def borrower(api: LiveApi, *, limit: int = 5_000_000, draw: int | None = 300_000, term: int = 3) -> Borrower:
    """A registered customer with a quick line of ``limit`` fen and (unless ``draw`` is None) one
    contract of ``draw`` fen over ``term`` months, drawn on 2026-03-01."""
    customer_id, _ = api.customer()
    _, line_id = open_line(api.factory, limit=limit, customer_id=customer_id)
    contract_id = None
    if draw is not None:
        contract_id = do_draw(api.factory, line_id, draw, term)["contract_id"]
    return Borrower(customer_id, line_id, contract_id, api.auth(customer_principal(customer_id)))


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body
