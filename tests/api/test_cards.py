"""``/api/v1/me/cards``: a signed-in customer binds another debit card (checked as onboarding checks
it, under the sensitive-information consent, stored encrypted, shown masked), lists the active cards
and unbinds one (never the last, never one an autopay mandate debits); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lendcore.api.idempotency_store import request_fingerprint
from lendcore.core.consent import ConsentKind
from lendcore.core.identity import luhn_check_digit
from lendcore.origination.autopay import MandateRole, create_mandate
from lendcore.origination.consent_texts import default_consent_texts
from lendcore.origination.onboarding import (
    ConsentGrantRequest,
    ConsentRevocation,
    grant_consent,
    revoke_consent,
)
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, BankCard
from lendcore.store.models_api import ApiIdempotencyRecord
from tests.api.conftest import LiveApi
from tests.api.support import customer_principal, problem, staff_principal
from tests.origination.helpers import make_card

URL = "/api/v1/me/cards"


def _signed_in(api: LiveApi) -> tuple[str, dict[str, str]]:
    customer_id, _ = api.customer()
    return customer_id, api.auth(customer_principal(customer_id))


def _bind(client: httpx.Client, headers: dict[str, str], key: str, **body: Any) -> httpx.Response:
    return client.post(URL, json=body, headers={**headers, "Idempotency-Key": key})


def _written(api: LiveApi) -> tuple[int, int]:
    """Card rows and audit records."""
    with unit_of_work(api.factory, read_only=True) as session:
        cards = session.scalar(select(func.count()).select_from(BankCard)) or 0
        audits = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
    return cards, audits


def _cards(client: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get(URL, headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_a_customer_binds_a_card_shown_masked_and_stored_encrypted(api: LiveApi) -> None:
    customer_id, headers = _signed_in(api)
    number = make_card("621700")  # 中国建设银行, debit
    with api.client() as client:
        answer = _bind(client, headers, "bind-1", number=number, holder_name="张三")
        listed = _cards(client, headers)
    assert answer.status_code == 201, answer.text
    card = answer.json()
    assert answer.headers["Location"] == f"{URL}/{card['id']}"
    assert card["id"].startswith("card_") and card["status"] == "active"
    assert card["number"] == number[:6] + "*" * (len(number) - 10) + number[-4:]
    assert card["last4"] == number[-4:] and card["bank"] == "中国建设银行"
    assert card["is_default"] is False  # the onboarding card stays the default
    assert number not in answer.text
    assert [c["id"] for c in listed if c["id"] == card["id"]] == [card["id"]] and len(listed) == 2
    with unit_of_work(api.factory, read_only=True) as session:
        row = session.get(BankCard, card["id"])
        assert row is not None and row.customer_id == customer_id
        assert number.encode() not in row.card_number_ciphertext
        assert api.cipher.decrypt("card_number", row.card_number_ciphertext) == number
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "card.bound")).one()
        assert audit.actor == customer_id and number not in str(audit.details)


def test_a_retry_replays_the_first_answer_and_another_body_with_the_key_is_refused(api: LiveApi) -> None:
    _, headers = _signed_in(api)
    number = make_card()
    with api.client() as client:
        first = _bind(client, headers, "k-1", number=number)
        again = _bind(client, headers, "k-1", number=number)
        other = _bind(client, headers, "k-1", number=make_card())
        no_key = client.post(URL, json={"number": make_card()}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    problem(other, 422, "IDEMPOTENCY_KEY_REUSED")
    problem(no_key, 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert _written(api)[0] == 2  # onboarding's card and this one, once


def _wrong_check_digit() -> str:
    number = make_card()
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def _credit_card() -> str:
    body = "625330" + "1234567890"
    return body + luhn_check_digit(body)


BAD_NUMBERS = [
    ("12345", 422, "INVALID_CARD_NUMBER"),
    (make_card()[:-1] + "x", 422, "INVALID_CARD_NUMBER"),
    (_wrong_check_digit(), 422, "CARD_LUHN_MISMATCH"),
    (make_card("999999"), 422, "CARD_BIN_UNKNOWN"),
    (_credit_card(), 422, "CARD_NOT_DEBIT"),
]


@pytest.mark.parametrize(("number", "status", "code"), BAD_NUMBERS)
def test_a_bad_number_is_refused_with_its_code_never_echoed_and_nothing_written(
    api: LiveApi, number: str, status: int, code: str
) -> None:
    _, headers = _signed_in(api)
    before = _written(api)
    with api.client() as client:
        answer = _bind(client, headers, "bad", number=number)
    problem(answer, status, code)
    assert number not in answer.text
    assert _written(api) == before


def test_bad_bodies_and_another_holder_are_refused(api: LiveApi) -> None:
    _, headers = _signed_in(api)
    before = _written(api)
    with api.client() as client:
        holder = _bind(client, headers, "h", number=make_card(), holder_name="李四")
        unknown = _bind(client, headers, "u", number=make_card(), colour="red")
        missing = _bind(client, headers, "m")
        wrong_type = _bind(client, headers, "w", number=6222021234567890123)
        too_long = _bind(client, headers, "l", number="6" * 40)
    problem(holder, 422, "CARD_NAME_MISMATCH")
    assert problem(unknown, 422, "INVALID_INPUT")["errors"][0]["code"] == "UNKNOWN_FIELD"
    assert problem(missing, 422, "INVALID_INPUT")["errors"][0]["code"] == "FIELD_REQUIRED"
    assert wrong_type.status_code == too_long.status_code == 422
    assert _written(api) == before


def test_a_card_binds_to_one_customer_once(api: LiveApi) -> None:
    _, headers = _signed_in(api)
    _, other = _signed_in(api)
    number = make_card()
    with api.client() as client:
        assert _bind(client, headers, "a", number=number).status_code == 201
        problem(_bind(client, headers, "b", number=number), 409, "CARD_ALREADY_BOUND")
        problem(_bind(client, other, "c", number=number), 409, "DUPLICATE_CARD")


def test_binding_needs_the_sensitive_information_consent(api: LiveApi) -> None:
    customer_id, headers = _signed_in(api)
    with unit_of_work(api.factory) as session:
        revocation = ConsentRevocation(customer_id, ConsentKind.SENSITIVE_PERSONAL_INFO)
        revoke_consent(session, revocation, at=api.clock())
    before = _written(api)
    with api.client() as client:
        body = problem(_bind(client, headers, "s", number=make_card()), 409, "SENSITIVE_CONSENT_REQUIRED")
    assert "sensitive_personal_info" in body["detail"]
    assert _written(api) == before


def test_at_most_five_active_cards(api: LiveApi) -> None:
    _, headers = _signed_in(api)
    with api.client() as client:
        answers = [_bind(client, headers, f"n{i}", number=make_card()) for i in range(5)]
        cards = _cards(client, headers)
    assert [a.status_code for a in answers] == [201, 201, 201, 201, 409]
    problem(answers[4], 409, "CARD_LIMIT_REACHED")
    assert len(cards) == 5


def test_make_default_moves_the_default_and_unbinding_it_passes_it_to_the_oldest(api: LiveApi) -> None:
    _, headers = _signed_in(api)
    with api.client() as client:
        onboarding_card = _cards(client, headers)[0]
        second = _bind(client, headers, "d", number=make_card(), make_default=True).json()
        assert second["is_default"] is True
        defaults = [c["id"] for c in _cards(client, headers) if c["is_default"]]
        assert defaults == [second["id"]]
        unbound = client.delete(f"{URL}/{second['id']}", headers=headers)
        assert unbound.status_code == 200, unbound.text
        assert unbound.json()["status"] == "unbound" and unbound.json()["is_default"] is False
        left = _cards(client, headers)
    assert [(c["id"], c["is_default"]) for c in left] == [(onboarding_card["id"], True)]


def test_an_unbound_card_can_be_bound_again_and_unbinding_twice_is_harmless(api: LiveApi) -> None:
    _, headers = _signed_in(api)
    number = make_card()
    with api.client() as client:
        card = _bind(client, headers, "r1", number=number).json()
        first = client.delete(f"{URL}/{card['id']}", headers=headers)
        audits = _written(api)[1]
        second = client.delete(f"{URL}/{card['id']}", headers=headers)
        assert second.status_code == 200 and second.json() == first.json()
        assert _written(api)[1] == audits  # nothing happened the second time
        again = _bind(client, headers, "r2", number=number)
    assert again.status_code == 201 and again.json()["id"] == card["id"]  # the same row, active again
    assert again.json()["status"] == "active"


def test_the_last_card_and_a_mandated_card_cannot_be_unbound(api: LiveApi) -> None:
    customer_id, headers = _signed_in(api)
    with api.client() as client:
        only = _cards(client, headers)[0]
        problem(client.delete(f"{URL}/{only['id']}", headers=headers), 409, "CARD_LAST_ACTIVE")
        second = _bind(client, headers, "m", number=make_card()).json()
        with unit_of_work(api.factory) as session:
            version = default_consent_texts().latest(ConsentKind.AUTOPAY_DEBIT).version
            grant = ConsentGrantRequest(customer_id, ConsentKind.AUTOPAY_DEBIT, version)
            grant_consent(session, grant, at=api.clock())
            create_mandate(
                session, customer_id, second["id"], MandateRole.PRIMARY, actor=customer_id, at=api.clock()
            )
        before = _written(api)
        body = problem(
            client.delete(f"{URL}/{second['id']}", headers=headers), 409, "CARD_HAS_ACTIVE_MANDATE"
        )
        assert "revoke the mandate" in body["detail"]
        assert _written(api) == before
        assert {c["status"] for c in _cards(client, headers)} == {"active"}
        # the other one may go: the mandated card is left
        assert client.delete(f"{URL}/{only['id']}", headers=headers).status_code == 200


def test_another_customers_card_is_not_found_and_only_customers_may_call(api: LiveApi) -> None:
    _, headers = _signed_in(api)
    _, other = _signed_in(api)
    with api.client() as client:
        theirs = _cards(client, other)[0]
        problem(client.delete(f"{URL}/{theirs['id']}", headers=headers), 404, "CARD_NOT_FOUND")
        problem(
            client.delete(f"{URL}/card_01JAAAAAAAAAAAAAAAAAAAAAAA", headers=headers), 404, "CARD_NOT_FOUND"
        )
        assert client.delete(f"{URL}/cus_01JAAAAAAAAAAAAAAAAAAAAAAA", headers=headers).status_code == 422
        assert [c["id"] for c in _cards(client, headers)] != [theirs["id"]]
        problem(client.get(URL), 401, "AUTHENTICATION_REQUIRED")
        problem(client.get(URL, headers=api.auth(staff_principal())), 403, "CUSTOMERS_ONLY")
        staff = {**api.auth(staff_principal()), "Idempotency-Key": "s"}
        problem(client.post(URL, json={"number": make_card()}, headers=staff), 403, "CUSTOMERS_ONLY")


def test_the_stored_request_fingerprint_is_keyed_so_a_card_number_cannot_be_found_from_it(
    api: LiveApi,
) -> None:
    _, headers = _signed_in(api)
    number = make_card()
    with api.client() as client:
        assert _bind(client, headers, "fp", number=number).status_code == 201
    with unit_of_work(api.factory, read_only=True) as session:
        stored = session.scalars(select(ApiIdempotencyRecord.request_hash)).one()
    body = json.dumps({"number": number}).encode()
    assert stored != request_fingerprint("POST", URL, "", body)  # not the plain SHA-256 of the body
    assert stored == request_fingerprint("POST", URL, "", body, key=api.settings.fingerprint_key)


def test_two_binds_at_once_on_postgresql_keep_the_limit_and_one_default(postgres_api: LiveApi) -> None:
    api = postgres_api
    customer_id, headers = _signed_in(api)
    with api.client() as client:
        for i in range(3):
            assert _bind(client, headers, f"pre{i}", number=make_card()).status_code == 201
    start = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def one(i: int) -> None:
        with api.client() as client:
            start.wait(30)
            answers.append(_bind(client, headers, f"race{i}", number=make_card(), make_default=True))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a.status_code for a in answers) == [201, 409]
    problem(next(a for a in answers if a.status_code == 409), 409, "CARD_LIMIT_REACHED")
    with unit_of_work(api.factory, read_only=True) as session:
        active = session.scalars(
            select(BankCard).where(BankCard.customer_id == customer_id, BankCard.status == "active")
        ).all()
        assert len(active) == 5 and sum(c.is_default for c in active) == 1
