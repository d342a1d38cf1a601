"""Helpers shared by the servicing use cases: input checks, the payment record, customer credit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.core.money import Fen, check_fen
from lendcore.payments.channel import ChannelResult, PaymentChannel, PaymentInstruction
from lendcore.payments.simulator import InstantSimulator
from lendcore.payments.state import PaymentDirection, PaymentState, transition
from lendcore.store.ids import new_id
from lendcore.store.models import Payment

#: The channel used when a use case is not given one (the built-in simulator, confirms at once).
DEFAULT_CHANNEL: Final = InstantSimulator()


def check_amount(amount: object, what: str = "amount") -> Fen:
    """A positive int of fen not above :data:`~lendcore.core.money.MAX_AMOUNT` (``AMOUNT_NOT_POSITIVE``,
    ``AMOUNT_TOO_LARGE``): a library caller can no more store an overflowing amount than the CLI."""
    return check_fen(amount, what=what)


def check_text(value: str | None, code: str, what: str, max_length: int = 500) -> str:
    if value is None or not value.strip() or len(value) > max_length:
        raise ValidationError(f"{what} is required (1-{max_length} characters)", code=code)
    return value.strip()


def check_value_date(value_date: date, business_date: date) -> None:
    if value_date > business_date:
        raise ValidationError(
            f"value date {value_date} is after the business date {business_date}",
            code="VALUE_DATE_IN_FUTURE",
        )


def check_not_before(on: date, earliest: date, *, code: str, what: str) -> None:
    """Refuse an operation dated ``on`` before ``earliest``, the date of the object it acts on (a
    drawdown before its line was opened, a waiver before its contract started …)."""
    if on < earliest:
        raise BusinessRuleError(
            f"{on} is before {what} ({earliest})",
            code=code,
            date=on.isoformat(),
            earliest=earliest.isoformat(),
        )


def run_payment(
    session: Session,
    *,
    direction: PaymentDirection,
    customer_id: str,
    contract_id: str | None,
    amount: Fen,
    purpose: str,
    value_date: date,
    account_token: str,
    channel: PaymentChannel | None,
    idempotency_key: str | None,
    bank_card_id: str | None = None,
    at: datetime | None = None,
) -> tuple[Payment, ChannelResult]:
    """Create a payment record and drive it created → processing → succeeded / failed via the channel.

    The record is inserted once, in the state the channel left it: the whole drive happens in the
    caller's transaction, so no one could see the intermediate states anyway (one INSERT instead of
    an INSERT and an UPDATE: issue 12's hot path). The state machine still checks every step."""
    channel = channel or DEFAULT_CHANNEL
    payment = Payment(
        id=new_id("pay"),
        direction=direction.value,
        customer_id=customer_id,
        contract_id=contract_id,
        bank_card_id=bank_card_id,
        purpose=purpose,
        amount=amount,
        state=PaymentState.CREATED.value,
        channel=channel.name,
        idempotency_key=idempotency_key,
        value_date=value_date,
        attempts=0,
    )
    now = at or datetime.now(UTC)
    payment.state = transition(PaymentState(payment.state), PaymentState.PROCESSING).value
    payment.attempts += 1
    result = channel.submit(PaymentInstruction(payment.id, direction, amount, account_token), now)
    payment.channel_reference = result.channel_reference
    if result.state in (PaymentState.SUCCEEDED, PaymentState.FAILED):
        payment.state = transition(PaymentState(payment.state), result.state).value
    payment.settled_at = result.settled_at
    payment.failure_reason = result.failure_reason
    session.add(payment)
    session.flush()
    return payment, result


def scoped_key(scope: str, key: str) -> str:
    """``scope:key`` for the payment / transaction rows a keyed request writes (at most 128 characters)."""
    import hashlib

    value = f"{scope}:{key}"
    return value if len(value) <= 128 else f"{scope}:{hashlib.sha256(key.encode()).hexdigest()}"
