"""Receiving a channel callback: verify, check, record, commit, and only then acknowledge.

:func:`handle_callback` is framework-free (the HTTP layer passes the raw body and the headers, and
sends back the :class:`CallbackAck`). The order is what makes a callback never lost and never
applied twice:

1. the signature and timestamp are verified over the raw body (:mod:`lendcore.payments.callbacks`):
   a forged, stale or malformed callback is refused (4xx) and nothing is stored;
2. in one unit of work: the payment is locked, the callback is checked against it (amount,
   reference), applied through the state machine (a duplicate or out-of-order callback changes
   nothing; a contradiction is raised to operations) and recorded in ``payment_events``;
3. the transaction commits; **then** the ack (200) is returned. If anything fails before the commit
   the exception propagates, the HTTP layer answers 500 and the channel redelivers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.callbacks import (
    CallbackRejectedError,
    RecordedPayment,
    check_against_record,
    verify_and_parse,
)
from lendcore.payments.records import Observation, apply_observation, raise_issue
from lendcore.payments.state import EventSource
from lendcore.store.engine import for_update, unit_of_work
from lendcore.store.models import Payment
from lendcore.store.types import utc_now


@dataclass(frozen=True, slots=True)
class CallbackAck:
    status: int  # the HTTP status to answer
    body: dict[str, Any] = field(default_factory=dict)


def handle_callback(
    session_factory: sessionmaker[Session],
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Sequence[str | bytes],
    now: datetime | None = None,
) -> CallbackAck:
    at = now or utc_now()
    try:
        callback = verify_and_parse(headers, body, secrets, at)
    except CallbackRejectedError as error:
        status = 400 if error.code == "CALLBACK_MALFORMED" else 401
        return CallbackAck(status, {"code": error.code, "message": error.message})
    with unit_of_work(session_factory) as session:
        statement = for_update(select(Payment).where(Payment.id == callback.payment_id))
        payment = session.scalars(statement).one_or_none()
        record = (
            RecordedPayment(payment.id, payment.amount, payment.channel_reference)
            if payment is not None
            else None
        )
        verdict = check_against_record(callback, record)
        if payment is None:
            raise_issue(
                session,
                kind="callback_unknown_payment",
                dedupe_key=f"callback_unknown_payment:{callback.event_id}",
                source=EventSource.CALLBACK,
                now=at,
                channel_reference=callback.channel_reference,
                details={
                    "payment_id": callback.payment_id,
                    "state": callback.state.value,
                    "amount": callback.amount,
                },
            )
            outcome = {"status": "recorded", "check": verdict.check.value}
        else:
            applied = apply_observation(
                session,
                payment,
                Observation(
                    EventSource.CALLBACK,
                    callback.state,
                    channel_reference=callback.channel_reference,
                    amount=callback.amount,
                    failure_code=callback.failure_code,
                    occurred_at=callback.occurred_at,
                    channel_event_id=callback.event_id,
                    details={"sequence": callback.sequence},
                ),
                at,
            )
            outcome = {
                "status": "recorded",
                "check": verdict.check.value,
                "verdict": applied.verdict.value,
                "state": applied.state.value,
            }
    # committed: only now is the callback acknowledged
    return CallbackAck(200, outcome)
