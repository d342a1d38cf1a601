"""Idempotency-Key on money-moving requests: the first response, whatever it is, is the answer to
every retry; the work runs once, also under concurrent retries.

The routes here are a dummy money-moving endpoint mounted only in these tests: it books an audit
record per transfer (the "money moved" the tests count) and can be held inside its work by a gate.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.api.auth import CurrentCustomer
from lendcore.api.idempotency import IdempotencyKeyDep
from lendcore.api.problems import problem_responses
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel, Money, PositiveFen
from lendcore.auth.principal import Principal
from lendcore.core.errors import BusinessRuleError
from lendcore.store.audit import record_audit
from lendcore.store.engine import unit_of_work
from lendcore.store.ids import new_id
from lendcore.store.models import AuditRecord
from lendcore.store.models_api import ApiIdempotencyRecord
from tests.api.conftest import LiveApi, MakeApi, live_api

WAIT = 60  # seconds a test waits for a thread before failing (never a sleep)


@dataclass
class Gate:
    """Holds the dummy route inside its work until released; ``entered`` says it got there."""

    release: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.release.set()


class Transfer(ApiModel):
    amount: PositiveFen
    to: Annotated[str, Field(max_length=40)]


def transfer_router(gate: Gate) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.post("/test/transfers", status_code=201, responses=problem_responses(400, 401, 409, 422))
    def transfer(
        body: Transfer,
        principal: CurrentCustomer,
        key: IdempotencyKeyDep,
        state: StateDep,
        response: Response,
    ) -> dict[str, object]:
        gate.entered.set()
        assert gate.release.wait(WAIT), "the test never released the gate"
        if body.to == "refuse":
            raise BusinessRuleError("the limit is exceeded", code="LIMIT_EXCEEDED")
        if body.to == "crash":
            raise RuntimeError("a bug after the work started")
        transfer_id = new_id("txf")
        with state.database.write() as session:
            record_audit(
                session,
                actor=principal.subject,
                action="test.transfer",
                target_type="transfer",
                target_id=transfer_id,
                details={"amount": body.amount, "key": key},
            )
        response.headers["Location"] = f"/api/v1/test/transfers/{transfer_id}"
        return {"transfer_id": transfer_id, "amount": Money.of(body.amount).model_dump()}

    @router.post("/test/other-transfers", status_code=201)
    def other(body: Transfer, principal: CurrentCustomer, key: IdempotencyKeyDep) -> dict[str, str]:
        return {"other": new_id("txf")}

    return router


def applied(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        count = session.scalar(select(func.count()).where(AuditRecord.action == "test.transfer"))
    return int(count or 0)


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def bank(make_api: MakeApi, gate: Gate) -> LiveApi:
    return make_api(extra_routers=(transfer_router(gate),))


def _customer_client(api: LiveApi) -> httpx.Client:
    customer_id, _ = api.customer()
    return api.client(headers=api.auth(Principal("customer", customer_id)))


def post(
    client: httpx.Client, key: str | None, body: object, path: str = "/api/v1/test/transfers"
) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(path, json=body, headers=headers)


def test_a_retry_gets_the_first_response_verbatim_and_the_work_runs_once(bank: LiveApi) -> None:
    client = _customer_client(bank)
    first = post(client, '"key-1"', {"amount": 123456, "to": "alice"})
    assert first.status_code == 201
    assert first.json()["amount"] == {"fen": 123456, "display": "¥1,234.56"}
    retry = post(client, '"key-1"', {"to": "alice", "amount": 123456})  # same request, keys reordered
    assert retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert retry.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert retry.headers["x-request-id"] != first.headers["x-request-id"]  # a new request, the old answer
    assert applied(bank.factory) == 1


def test_a_bare_token_is_the_same_key_as_its_quoted_form(bank: LiveApi) -> None:
    client = _customer_client(bank)
    first = post(client, '"k-2"', {"amount": 1, "to": "bob"})
    assert post(client, "k-2", {"amount": 1, "to": "bob"}).content == first.content
    assert applied(bank.factory) == 1


def test_a_money_moving_request_without_a_key_is_refused(bank: LiveApi) -> None:
    response = post(_customer_client(bank), None, {"amount": 1, "to": "bob"})
    assert response.status_code == 400 and response.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert applied(bank.factory) == 0


@pytest.mark.parametrize("key", ['"unterminated', '""', '"' + "x" * 129 + '"', "has space", '"tab\tinside"'])
def test_a_malformed_key_is_refused(bank: LiveApi, key: str) -> None:
    response = post(_customer_client(bank), key, {"amount": 1, "to": "bob"})
    assert response.status_code == 400 and response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert applied(bank.factory) == 0


def test_the_same_key_with_another_request_is_refused(bank: LiveApi) -> None:
    client = _customer_client(bank)
    assert post(client, "k-3", {"amount": 100, "to": "bob"}).status_code == 201
    reused = post(client, "k-3", {"amount": 101, "to": "bob"})
    assert reused.status_code == 422 and reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert applied(bank.factory) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 1, "to": "refuse"}, 409, "LIMIT_EXCEEDED"),
        ({"amount": 0, "to": "x"}, 422, "AMOUNT_NOT_POSITIVE"),
    ],
)
def test_a_refusal_is_stored_and_replayed_like_any_response(
    bank: LiveApi, body: dict[str, object], status: int, code: str
) -> None:
    client = _customer_client(bank)
    first = post(client, "k-4", body)
    assert first.status_code == status and first.json()["code"] == code
    retry = post(client, "k-4", body)
    assert (retry.status_code, retry.content) == (status, first.content)
    assert retry.headers["content-type"] == "application/problem+json"
    assert retry.headers["idempotent-replayed"] == "true"


def test_a_500_is_stored_and_replayed_verbatim(bank: LiveApi) -> None:
    client = _customer_client(bank)
    first = post(client, "k-5", {"amount": 1, "to": "crash"})
    assert first.status_code == 500 and first.json()["code"] == "INTERNAL_ERROR"
    retry = post(client, "k-5", {"amount": 1, "to": "crash"})
    assert (retry.status_code, retry.content) == (500, first.content)
    assert retry.headers["idempotent-replayed"] == "true"


def test_keys_belong_to_one_principal_and_one_route(bank: LiveApi) -> None:
    alice, bob = _customer_client(bank), _customer_client(bank)
    assert post(alice, "shared", {"amount": 1, "to": "x"}).status_code == 201
    assert "idempotent-replayed" not in post(bob, "shared", {"amount": 1, "to": "x"}).headers
    assert applied(bank.factory) == 2
    other = post(alice, "shared", {"amount": 1, "to": "x"}, path="/api/v1/test/other-transfers")
    assert other.status_code == 201 and "other" in other.json()


def test_an_unauthenticated_request_claims_no_key(bank: LiveApi) -> None:
    response = post(bank.client(), "k-6", {"amount": 1, "to": "x"})
    assert response.status_code == 401
    with unit_of_work(bank.factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(ApiIdempotencyRecord)) == 0


def test_a_retry_while_the_first_is_running_is_a_409_then_the_stored_response(
    bank: LiveApi, gate: Gate
) -> None:
    client = _customer_client(bank)
    gate.release.clear()
    answers: queue.Queue[httpx.Response] = queue.Queue()
    first = threading.Thread(target=lambda: answers.put(post(client, "k-7", {"amount": 5, "to": "x"})))
    first.start()
    assert gate.entered.wait(WAIT)
    running = post(client, "k-7", {"amount": 5, "to": "x"})
    assert running.status_code == 409 and running.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"
    gate.release.set()
    first.join(WAIT)
    original = answers.get(timeout=WAIT)
    assert original.status_code == 201
    assert post(client, "k-7", {"amount": 5, "to": "x"}).content == original.content
    assert applied(bank.factory) == 1


def test_a_claim_left_by_a_dead_process_is_taken_over_after_the_stale_period(bank: LiveApi) -> None:
    customer_id, _ = bank.customer()
    client = bank.client(headers=bank.auth(Principal("customer", customer_id)))
    route = "POST /api/v1/test/transfers"
    with unit_of_work(bank.factory) as session:
        for key, age in (("fresh", timedelta(minutes=1)), ("stale", timedelta(minutes=6))):
            session.add(
                ApiIdempotencyRecord(
                    principal=f"customer:{customer_id}",
                    route=route,
                    key=key,
                    request_hash=_fingerprint({"amount": 1, "to": "x"}),
                    state="in_progress",
                    created_at=bank.clock() - age,
                )
            )
    assert post(client, "fresh", {"amount": 1, "to": "x"}).status_code == 409
    assert post(client, "stale", {"amount": 1, "to": "x"}).status_code == 201
    assert applied(bank.factory) == 1


def _fingerprint(body: dict[str, object]) -> str:
    import json

    from lendcore.api.idempotency_store import request_fingerprint
    from lendcore.api.settings import ApiSettings

    key = ApiSettings().fingerprint_key
    return request_fingerprint("POST", "/api/v1/test/transfers", "", json.dumps(body).encode(), key=key)


# --- concurrency ------------------------------------------------------------------------------------
@pytest.fixture
def postgres_bank(postgres_database_url: str, gate: Gate) -> Iterator[LiveApi]:
    with live_api(postgres_database_url, extra_routers=(transfer_router(gate),)) as api:
        yield api


def _concurrently(
    api: LiveApi, token: dict[str, str], n: int, body: dict[str, object]
) -> queue.Queue[httpx.Response]:
    answers: queue.Queue[httpx.Response] = queue.Queue()
    start = threading.Barrier(n)

    def one() -> None:
        with httpx.Client(base_url=api.base_url, headers=token, timeout=WAIT) as client:
            start.wait(WAIT)
            answers.put(post(client, "concurrent", body))

    for _ in range(n):
        threading.Thread(target=one, daemon=True).start()
    return answers


def test_16_concurrent_requests_with_one_key_apply_once_on_postgresql(
    postgres_bank: LiveApi, gate: Gate
) -> None:
    """The first holds its work open until the other 15 are answered: each is a 409 (in progress);
    then 16 concurrent retries all get the first response."""
    customer_id, _ = postgres_bank.customer()
    token = postgres_bank.auth(Principal("customer", customer_id))
    body = {"amount": 1600, "to": "x"}
    gate.release.clear()
    answers = _concurrently(postgres_bank, token, 16, body)
    early = [answers.get(timeout=WAIT) for _ in range(15)]
    assert [(r.status_code, r.json()["code"]) for r in early] == [(409, "IDEMPOTENCY_KEY_IN_PROGRESS")] * 15
    gate.release.set()
    winner = answers.get(timeout=WAIT)
    assert winner.status_code == 201 and "idempotent-replayed" not in winner.headers
    retries = _concurrently(postgres_bank, token, 16, body)
    replays = [retries.get(timeout=WAIT) for _ in range(16)]
    assert all(r.status_code == 201 and r.content == winner.content for r in replays)
    assert all(r.headers["idempotent-replayed"] == "true" for r in replays)
    assert applied(postgres_bank.factory) == 1


def test_concurrent_requests_with_one_key_each_get_409_or_the_one_response(bank: LiveApi) -> None:
    """Unsynchronised: whatever the interleaving, the work runs once and every answer is either
    "in progress" or the first response."""
    customer_id, _ = bank.customer()
    answers = _concurrently(bank, bank.auth(Principal("customer", customer_id)), 16, {"amount": 7, "to": "x"})
    results = [answers.get(timeout=WAIT) for _ in range(16)]
    created = [r for r in results if r.status_code == 201]
    assert created and all(r.content == created[0].content for r in created)
    assert all(r.status_code in (201, 409) for r in results)
    assert len([r for r in created if "idempotent-replayed" not in r.headers]) == 1
    assert applied(bank.factory) == 1
