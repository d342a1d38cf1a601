"""Customers sign in with their phone and a one-time code; the codes are random, hashed, short-lived,
limited in attempts and resends; an unknown phone is answered exactly like a known one."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from lendcore.api.settings import ApiSettings
from lendcore.auth.otp import outbox_messages
from lendcore.store.engine import unit_of_work
from lendcore.store.models_api import OtpCode, OtpOutboxMessage
from tests.api.conftest import LiveApi, MakeApi, live_api, second_key_ring_cipher
from tests.origination.helpers import make_phone

CODE = re.compile(r"\b(\d{6})\b")


def request_code(client: httpx.Client, phone: str) -> httpx.Response:
    return client.post("/api/v1/auth/otp/request", json={"phone": phone})


def verify(client: httpx.Client, phone: str, code: str) -> httpx.Response:
    return client.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code})


def last_code(api: LiveApi, phone: str) -> str:
    with unit_of_work(api.factory, read_only=True) as session:
        messages = outbox_messages(session, api.cipher, phone)
    assert messages, "no code was sent"
    match = CODE.search(messages[-1])
    assert match is not None
    return match[1]


def test_a_customer_signs_in_with_the_code_sent_to_their_phone(api: LiveApi) -> None:
    customer_id, phone = api.customer()
    client = api.client()
    sent = request_code(client, phone)
    assert sent.status_code == 202 and sent.json() == {"status": "sent", "expires_in": 300, "resend_in": 60}
    tokens = verify(client, phone, last_code(api, phone))
    assert tokens.status_code == 200, tokens.text
    pair = tokens.json()
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900
    assert pair["refresh_token"].startswith("rt_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.json() == {
        "kind": "customer",
        "customer_id": customer_id,
        "staff_user_id": None,
        "username": None,
        "roles": [],
    }


def test_codes_are_six_random_digits_stored_only_as_a_keyed_hash(api: LiveApi) -> None:
    codes = set()
    for _ in range(5):
        _, phone = api.customer()
        request_code(api.client(), phone)
        code = last_code(api, phone)
        assert re.fullmatch(r"[0-9]{6}", code)
        codes.add(code)
        with unit_of_work(api.factory, read_only=True) as session:
            stored = " ".join(f"{r.phone_hash} {r.code_hash}" for r in session.scalars(select(OtpCode)))
        assert code not in stored and phone not in stored
    assert len(codes) > 1


def test_a_code_works_once(api: LiveApi) -> None:
    _, phone = api.customer()
    client = api.client()
    request_code(client, phone)
    code = last_code(api, phone)
    assert verify(client, phone, code).status_code == 200
    again = verify(client, phone, code)
    assert again.status_code == 401 and again.json()["code"] == "OTP_INVALID"


def test_a_code_expires_after_five_minutes(api: LiveApi) -> None:
    _, phone = api.customer()
    client = api.client()
    request_code(client, phone)
    code = last_code(api, phone)
    api.clock.advance(minutes=5)
    expired = verify(client, phone, code)
    assert expired.status_code == 401 and expired.json()["code"] == "OTP_INVALID"


def test_after_five_wrong_codes_the_right_one_is_refused_too(api: LiveApi) -> None:
    _, phone = api.customer()
    client = api.client()
    request_code(client, phone)
    code = last_code(api, phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert verify(client, phone, wrong).json()["code"] == "OTP_INVALID"
    assert verify(client, phone, code).status_code == 401


def test_four_wrong_codes_leave_the_right_one_usable(api: LiveApi) -> None:
    _, phone = api.customer()
    client = api.client()
    request_code(client, phone)
    code = last_code(api, phone)
    for _ in range(4):
        verify(client, phone, f"{(int(code) + 1) % 10**6:06d}")
    assert verify(client, phone, code).status_code == 200


def test_a_resend_is_throttled_and_replaces_the_old_code(api: LiveApi) -> None:
    _, phone = api.customer()
    client = api.client()
    request_code(client, phone)
    old = last_code(api, phone)
    api.clock.advance(seconds=30)
    soon = request_code(client, phone)
    assert soon.status_code == 429 and soon.json()["code"] == "OTP_RESEND_TOO_SOON"
    assert soon.headers["retry-after"] == "30"
    api.clock.advance(seconds=30)
    assert request_code(client, phone).status_code == 202
    new = last_code(api, phone)
    if new != old:  # one time in a million the new code equals the old one
        assert verify(client, phone, old).status_code == 401
    assert verify(client, phone, new).status_code == 200


def _shape(response: httpx.Response) -> tuple[int, object, dict[str, str]]:
    """Everything a caller sees but the request id (which differs for every request)."""
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, body, headers


def test_an_unknown_phone_is_answered_exactly_like_a_known_one(api: LiveApi) -> None:
    _, known = api.customer()
    unknown = make_phone()
    client = api.client()
    assert _shape(request_code(client, unknown)) == _shape(request_code(client, known))
    assert _shape(request_code(client, unknown)) == _shape(request_code(client, known))  # throttled alike
    assert _shape(verify(client, unknown, "123456"))[:2] == _shape(verify(client, known, "123456"))[:2]
    with unit_of_work(api.factory, read_only=True) as session:
        assert outbox_messages(session, api.cipher, unknown) == []
        assert session.scalar(select(func.count()).select_from(OtpOutboxMessage)) == 1
        assert session.scalar(select(func.count()).select_from(OtpCode)) == 2  # one row per phone alike


@pytest.mark.parametrize("phone", ["12345", "+1 415 555 0100", "１３８１２３４５６７８x"])
def test_a_phone_that_is_not_a_mainland_mobile_number_is_422(api: LiveApi, phone: str) -> None:
    response = request_code(api.client(), phone)
    assert response.status_code == 422 and response.json()["code"] == "INVALID_PHONE"


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "１２３４５６"])
def test_a_code_that_is_not_six_digits_is_422(api: LiveApi, code: str) -> None:
    response = verify(api.client(), make_phone(), code)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.code"


def test_a_customer_registered_before_a_key_rotation_still_signs_in(
    make_api: MakeApi, database_url: str
) -> None:
    before = make_api()
    _, phone = before.customer()  # its phone hash is under h1
    with live_api(database_url, cipher=second_key_ring_cipher()) as after:  # h2 active, h1 still in the ring
        client = after.client()
        assert request_code(client, phone).status_code == 202
        assert verify(client, phone, last_code(after, phone)).status_code == 200


def test_otp_requests_are_rate_limited_per_phone(make_api: MakeApi) -> None:
    api = make_api(settings=ApiSettings(otp_resend_interval=timedelta(seconds=0)))
    _, phone = api.customer()
    client = api.client()
    answers = [request_code(client, phone).status_code for _ in range(6)]
    assert answers == [202] * 5 + [429]
