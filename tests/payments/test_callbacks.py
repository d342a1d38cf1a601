"""A callback is believed only with a fresh signature under one of our secrets, and applied only if
it describes the payment we hold."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.payments import callbacks
from lendcore.payments.callbacks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Callback,
    CallbackRejectedError,
    RecordCheck,
    RecordedPayment,
    callback_to_json,
    check_against_record,
    parse,
    sign,
    verify,
    verify_and_parse,
)
from lendcore.payments.state import PaymentState

NOW = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
CALLBACK = Callback("evt_1", "pay_1", "ref_1", PaymentState.SUCCEEDED, 10_000, occurred_at=NOW, sequence=1)
BODY = json.dumps(callback_to_json(CALLBACK)).encode()


def rejected_code(headers: dict[str, str], body: bytes = BODY, secrets: tuple[str, ...] = ("s1",),
                  now: datetime = NOW) -> str:  # fmt: skip
    with pytest.raises(CallbackRejectedError) as caught:
        verify(headers, body, secrets, now)
    return caught.value.code


def test_the_signature_is_hmac_sha256_over_timestamp_dot_raw_body() -> None:
    headers = sign(["s1"], BODY, NOW)
    timestamp = str(int(NOW.timestamp()))
    expected = hmac.new(b"s1", timestamp.encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert headers == {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: f"v1={expected}"}
    verify(headers, BODY, ["s1"], NOW)


def test_during_a_rotation_either_secret_verifies_and_the_sender_may_sign_with_both() -> None:
    verify(sign(["old"], BODY, NOW), BODY, ["new", "old"], NOW)
    verify(sign(["new"], BODY, NOW), BODY, ["new", "old"], NOW)
    verify(sign(["new", "old"], BODY, NOW), BODY, ["old"], NOW)
    assert rejected_code(sign(["retired"], BODY, NOW), secrets=("new", "old")) == "CALLBACK_SIGNATURE_INVALID"


def test_a_changed_body_or_timestamp_does_not_verify() -> None:
    headers = sign(["s1"], BODY, NOW)
    assert rejected_code(headers, BODY.replace(b"10000", b"10001")) == "CALLBACK_SIGNATURE_INVALID"
    moved = {**headers, TIMESTAMP_HEADER: str(int(NOW.timestamp()) + 1)}
    assert rejected_code(moved) == "CALLBACK_SIGNATURE_INVALID"


def test_a_timestamp_more_than_300_seconds_away_either_way_is_refused() -> None:
    for offset in (timedelta(seconds=301), timedelta(seconds=-301)):
        assert rejected_code(sign(["s1"], BODY, NOW + offset)) == "CALLBACK_TIMESTAMP_OUT_OF_TOLERANCE"
    for offset in (timedelta(seconds=300), timedelta(seconds=-300)):
        verify(sign(["s1"], BODY, NOW + offset), BODY, ["s1"], NOW)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "CALLBACK_SIGNATURE_MISSING"),
        ({TIMESTAMP_HEADER: "1"}, "CALLBACK_SIGNATURE_MISSING"),
        ({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "v1=00"}, "CALLBACK_TIMESTAMP_INVALID"),
        ({TIMESTAMP_HEADER: "1" * 40, SIGNATURE_HEADER: "v1=00"}, "CALLBACK_TIMESTAMP_INVALID"),
        (
            {TIMESTAMP_HEADER: str(int(NOW.timestamp())), SIGNATURE_HEADER: "v0=abc"},
            "CALLBACK_SIGNATURE_MISSING",
        ),
    ],
)
def test_an_unsigned_or_oddly_signed_callback_is_refused_with_its_own_code(
    headers: dict[str, str], code: str
) -> None:
    assert rejected_code(headers) == code


def test_headers_are_matched_case_insensitively_and_no_secret_means_refusal() -> None:
    lowered = {k.lower(): v for k, v in sign(["s1"], BODY, NOW).items()}
    verify(lowered, BODY, ["s1"], NOW)
    assert rejected_code(lowered, secrets=()) == "CALLBACK_SECRET_NOT_CONFIGURED"


def test_every_candidate_is_compared_in_constant_time() -> None:
    headers = sign(["a", "b"], BODY, NOW)
    with mock.patch.object(callbacks.hmac, "compare_digest", wraps=hmac.compare_digest) as compare:
        verify(headers, BODY, ["x", "a", "y"], NOW)
    assert compare.call_count == 3 * 2  # no early exit on the first match


@given(st.binary(max_size=200), st.text(min_size=1, max_size=20))
def test_any_body_signed_with_a_secret_verifies_with_it_and_not_with_another(
    body: bytes, secret: str
) -> None:
    headers = sign([secret], body, NOW)
    verify(headers, body, [secret], NOW)
    with pytest.raises(CallbackRejectedError):
        verify(headers, body, [secret + "x"], NOW)


def test_a_verified_body_is_parsed_into_a_callback() -> None:
    assert verify_and_parse(sign(["s1"], BODY, NOW), BODY, ["s1"], NOW) == CALLBACK


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", json.dumps({**callback_to_json(CALLBACK), "amount": -1}).encode(),
     json.dumps({**callback_to_json(CALLBACK), "state": "created"}).encode(),
     json.dumps({**callback_to_json(CALLBACK), "sequence": "first"}).encode(),
     json.dumps({k: v for k, v in callback_to_json(CALLBACK).items() if k != "event_id"}).encode()],
)  # fmt: skip
def test_a_malformed_callback_is_refused_naming_the_problem(body: bytes) -> None:
    with pytest.raises(CallbackRejectedError) as caught:
        parse(body)
    assert caught.value.code == "CALLBACK_MALFORMED"


def test_the_check_against_our_record_has_a_typed_verdict() -> None:
    ours = RecordedPayment("pay_1", 10_000, "ref_1")
    assert check_against_record(CALLBACK, ours).matches
    assert check_against_record(
        CALLBACK, RecordedPayment("pay_1", 10_000, None)
    ).matches  # overtook the submit
    assert check_against_record(CALLBACK, None).check is RecordCheck.UNKNOWN_PAYMENT
    assert (
        check_against_record(CALLBACK, RecordedPayment("pay_2", 10_000, "ref_1")).check
        is RecordCheck.UNKNOWN_PAYMENT
    )
    assert check_against_record(CALLBACK, RecordedPayment("pay_1", 10_000, "ref_9")).check is (
        RecordCheck.REFERENCE_MISMATCH
    )
    wrong = check_against_record(CALLBACK, RecordedPayment("pay_1", 9_999, "ref_1"))
    assert wrong.check is RecordCheck.AMOUNT_MISMATCH and "10000" in wrong.detail
