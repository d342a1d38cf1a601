"""The channel's HTTP wire format, shared by the HTTP adapter and the channel simulator.

    POST /v1/payments              {"payment_id", "direction", "amount", "account_token", "callback_url"}
        202 {"payment_id", "channel_reference", "state": "processing", "accepted_at"}
        (the same payment id again: the same answer; 422 {"code", "message"}: refused;
        503 {"code": "BANK_MAINTENANCE"}: not accepted, try again later)
    GET  /v1/payments/{payment_id} 200 {"payment_id", "channel_reference", "state", "amount",
                                        "settled_at", "failure_code"}; 404 unknown payment id
    GET  /v1/statements/{date}     200 text/csv (:mod:`lendcore.payments.statement`)
    GET  /health                   200 {"status": "ok"}

Amounts are integers of fen; instants are ISO 8601 in UTC. A decoding problem raises
``ValidationError`` ``CHANNEL_MESSAGE_INVALID`` naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from lendcore.core.errors import ValidationError
from lendcore.core.money import MAX_AMOUNT, Fen
from lendcore.payments.adapter import Accepted, ChannelStatus
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.state import PaymentDirection, PaymentState

INVALID: Final = "CHANNEL_MESSAGE_INVALID"
CHANNEL_STATES: Final = frozenset(
    {PaymentState.PROCESSING, PaymentState.SUCCEEDED, PaymentState.FAILED, PaymentState.REVERSED}
)


def format_instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be an ISO 8601 instant", code=INVALID, field=field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{field} is not an ISO 8601 instant: {value!r}", code=INVALID) from None
    if parsed.tzinfo is None:
        raise ValidationError(f"{field} has no time zone: {value!r}", code=INVALID, field=field)
    return parsed.astimezone(UTC)


def text_field(data: dict[str, Any], field: str, *, optional: bool = False, max_length: int = 64) -> str:
    value = data.get(field)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ValidationError(f"{field} must be text of 1-{max_length} characters", code=INVALID, field=field)
    return value


def amount_field(data: dict[str, Any], field: str = "amount") -> Fen:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_AMOUNT:
        raise ValidationError(f"{field} must be a whole number of fen, 1..{MAX_AMOUNT}", code=INVALID)
    return value


def state_field(data: dict[str, Any], field: str = "state") -> PaymentState:
    value = data.get(field)
    try:
        state = PaymentState(str(value))
    except ValueError:
        raise ValidationError(f"{field} is not a payment state: {value!r}", code=INVALID) from None
    if state not in CHANNEL_STATES:
        raise ValidationError(f"{field} {state} is not a channel state", code=INVALID, field=field)
    return state


def instruction_to_json(instruction: PaymentInstruction, callback_url: str | None = None) -> dict[str, Any]:
    return {
        "payment_id": instruction.payment_id,
        "direction": instruction.direction.value,
        "amount": instruction.amount,
        "account_token": instruction.account_token,
        "callback_url": callback_url,
    }


def instruction_from_json(data: dict[str, Any]) -> PaymentInstruction:
    try:
        direction = PaymentDirection(str(data.get("direction")))
    except ValueError:
        raise ValidationError("direction must be inbound or outbound", code=INVALID) from None
    return PaymentInstruction(
        payment_id=text_field(data, "payment_id"),
        direction=direction,
        amount=amount_field(data),
        account_token=text_field(data, "account_token", max_length=128),
    )


def accepted_to_json(accepted: Accepted) -> dict[str, Any]:
    return {
        "payment_id": accepted.payment_id,
        "channel_reference": accepted.channel_reference,
        "state": accepted.state.value,
        "accepted_at": format_instant(accepted.accepted_at),
        "failure_code": accepted.failure_code,
    }


def accepted_from_json(data: dict[str, Any]) -> Accepted:
    return Accepted(
        payment_id=text_field(data, "payment_id"),
        channel_reference=text_field(data, "channel_reference"),
        state=state_field(data),
        accepted_at=parse_instant(data.get("accepted_at"), "accepted_at"),
        failure_code=text_field(data, "failure_code", optional=True) or None,
    )


def status_to_json(status: ChannelStatus) -> dict[str, Any]:
    return {
        "payment_id": status.payment_id,
        "channel_reference": status.channel_reference,
        "state": status.state.value,
        "amount": status.amount,
        "settled_at": format_instant(status.settled_at),
        "failure_code": status.failure_code,
    }


def status_from_json(data: dict[str, Any]) -> ChannelStatus:
    return ChannelStatus(
        payment_id=text_field(data, "payment_id"),
        channel_reference=text_field(data, "channel_reference"),
        state=state_field(data),
        amount=amount_field(data),
        settled_at=parse_instant(data.get("settled_at"), "settled_at"),
        failure_code=text_field(data, "failure_code", optional=True) or None,
    )
