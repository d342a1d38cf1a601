"""Channel callbacks (webhooks): signature verification, parsing, and the check against our record.

Signature scheme (the simulator signs this way; a real channel's adapter maps its own onto it):

* header ``Lendcore-Timestamp``: Unix seconds when the channel sent the callback;
* header ``Lendcore-Signature``: ``v1=<hex>``, or several comma-separated (``v1=<a>,v1=<b>``) while the
  channel rotates its secret and signs with both;
* ``<hex>`` = HMAC-SHA256(secret, ``timestamp + "." + raw body``), compared in constant time
  (:func:`hmac.compare_digest`). The raw body is verified as received, before any JSON parsing.
* a timestamp more than :data:`TOLERANCE` (300 s) from our clock, either way, is refused: a captured
  callback cannot be replayed later.
* we accept several secrets at once (``secrets``: the new one and the old one during a rotation).

After verification the *caller* checks the callback's payment id, channel reference and amount
against our record with :func:`check_against_record`, a pure function returning a typed verdict: a
callback that is authentic but names another amount is not applied, it is raised to operations.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from lendcore.core.errors import ValidationError
from lendcore.core.money import Fen
from lendcore.payments import wire
from lendcore.payments.state import PaymentState

TIMESTAMP_HEADER: Final = "Lendcore-Timestamp"
SIGNATURE_HEADER: Final = "Lendcore-Signature"
SCHEME: Final = "v1"
TOLERANCE: Final = timedelta(seconds=300)


class CallbackRejectedError(ValidationError):
    """A callback that is not verifiably from the channel, or not well-formed. Answer 4xx; the
    channel retries a genuine one."""

    default_code = "CALLBACK_REJECTED"
    http_status = 401


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def signature(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp + "." + body`` under ``secret``."""
    return hmac.new(_key(secret), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secrets: Sequence[str | bytes], body: bytes, at: datetime) -> dict[str, str]:
    """The headers a channel sends with ``body`` at ``at``: one ``v1=`` signature per secret."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    timestamp = str(int(at.timestamp()))
    signatures = ",".join(f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets)
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signatures}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str | bytes],
    now: datetime,
    tolerance: timedelta = TOLERANCE,
) -> None:
    """Raise :class:`CallbackRejectedError` unless ``body`` carries a valid, fresh signature under one of
    ``secrets``. Every candidate is compared in constant time (no early exit on the first byte)."""
    if not secrets:
        raise CallbackRejectedError("no callback secret is configured", code="CALLBACK_SECRET_NOT_CONFIGURED")
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signed = _header(headers, SIGNATURE_HEADER)
    if not timestamp or not signed:
        raise CallbackRejectedError("the callback is not signed", code="CALLBACK_SIGNATURE_MISSING")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise CallbackRejectedError(
            f"bad callback timestamp {timestamp[:20]!r}", code="CALLBACK_TIMESTAMP_INVALID"
        )
    sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    if abs(now - sent_at) > tolerance:
        raise CallbackRejectedError(
            f"the callback was signed at {sent_at.isoformat()}, more than {int(tolerance.total_seconds())} s"
            f" from now ({now.astimezone(UTC).isoformat()})",
            code="CALLBACK_TIMESTAMP_OUT_OF_TOLERANCE",
        )
    offered = [
        part.strip()[len(SCHEME) + 1 :] for part in signed.split(",") if part.strip().startswith(f"{SCHEME}=")
    ]
    if not offered:
        raise CallbackRejectedError("the callback has no v1 signature", code="CALLBACK_SIGNATURE_MISSING")
    matched = False
    for secret in secrets:
        expected = signature(secret, timestamp, body)
        for candidate in offered:
            matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise CallbackRejectedError(
            "the callback signature does not verify", code="CALLBACK_SIGNATURE_INVALID"
        )


@dataclass(frozen=True, slots=True)
class Callback:
    """One verified notification from the channel."""

    event_id: str  # the channel's id of this notification: the same event redelivered keeps it
    payment_id: str
    channel_reference: str
    state: PaymentState
    amount: Fen
    failure_code: str | None = None
    occurred_at: datetime | None = None
    sequence: int = 0  # the channel's order of events of one payment


def callback_to_json(callback: Callback) -> dict[str, Any]:
    return {
        "event_id": callback.event_id,
        "payment_id": callback.payment_id,
        "channel_reference": callback.channel_reference,
        "state": callback.state.value,
        "amount": callback.amount,
        "failure_code": callback.failure_code,
        "occurred_at": wire.format_instant(callback.occurred_at),
        "sequence": callback.sequence,
    }


def parse(body: bytes) -> Callback:
    """A callback from its (already verified) JSON body; ``CALLBACK_MALFORMED`` naming what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CallbackRejectedError(
            f"the callback body is not JSON: {error}", code="CALLBACK_MALFORMED"
        ) from None
    if not isinstance(data, dict):
        raise CallbackRejectedError("the callback body is not a JSON object", code="CALLBACK_MALFORMED")
    sequence = data.get("sequence", 0)
    try:
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            raise ValidationError("sequence must be a non-negative integer", code=wire.INVALID)
        return Callback(
            event_id=wire.text_field(data, "event_id"),
            payment_id=wire.text_field(data, "payment_id"),
            channel_reference=wire.text_field(data, "channel_reference"),
            state=wire.state_field(data),
            amount=wire.amount_field(data),
            failure_code=wire.text_field(data, "failure_code", optional=True) or None,
            occurred_at=wire.parse_instant(data.get("occurred_at"), "occurred_at"),
            sequence=sequence,
        )
    except ValidationError as error:
        raise CallbackRejectedError(
            f"malformed callback: {error.message}", code="CALLBACK_MALFORMED"
        ) from None


def verify_and_parse(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str | bytes], now: datetime
) -> Callback:
    verify(headers, body, secrets, now)
    return parse(body)


# --- the check against our record -----------------------------------------------------------------


class RecordCheck(StrEnum):
    MATCH = "match"
    UNKNOWN_PAYMENT = "unknown_payment"  # no payment of ours has that id
    REFERENCE_MISMATCH = "reference_mismatch"  # our record carries another channel reference
    AMOUNT_MISMATCH = "amount_mismatch"  # the channel moved another amount than we instructed


@dataclass(frozen=True, slots=True)
class RecordedPayment:
    """What the check needs of our payment record."""

    payment_id: str
    amount: Fen
    channel_reference: str | None  # None until the answer to our submit is recorded


@dataclass(frozen=True, slots=True)
class CallbackVerdict:
    check: RecordCheck
    detail: str = ""

    @property
    def matches(self) -> bool:
        return self.check is RecordCheck.MATCH


def check_against_record(callback: Callback, record: RecordedPayment | None) -> CallbackVerdict:
    """Does this authentic callback describe the payment we hold? A record without a channel reference
    yet matches on our payment id (the callback overtook our record of the submit's answer)."""
    if record is None or record.payment_id != callback.payment_id:
        return CallbackVerdict(RecordCheck.UNKNOWN_PAYMENT, f"no payment {callback.payment_id}")
    if record.channel_reference is not None and record.channel_reference != callback.channel_reference:
        return CallbackVerdict(
            RecordCheck.REFERENCE_MISMATCH,
            f"callback reference {callback.channel_reference}, ours {record.channel_reference}",
        )
    if callback.amount != record.amount:
        return CallbackVerdict(
            RecordCheck.AMOUNT_MISMATCH, f"callback amount {callback.amount} fen, ours {record.amount} fen"
        )
    return CallbackVerdict(RecordCheck.MATCH)
