"""Submitting a payment that is already recorded (``created``) to its channel.

The order is the point: the record was committed first (:func:`~lendcore.payments.records.create_payment`);
here the channel is called with no transaction open, and its answer is recorded in a new one. Every
outcome leaves the payment in a state the sweeper can resolve:

* accepted → ``processing`` (or final at once), with ``timeout_at`` / ``next_query_at`` set;
* timeout (it may have arrived) → ``processing``, to be queried: never assumed failed;
* unavailable (it did not arrive) → stays ``created``; :class:`ChannelUnavailableError` is re-raised so the
  ``payment.submit`` job retries with backoff (resubmitting is safe: the channel dedupes our id);
* rejected → ``failed`` with the channel's code.

Calling it again for a payment already submitted does nothing (a retried job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import NotFoundError
from lendcore.payments.adapter import (
    ChannelAdapter,
    ChannelError,
    ChannelRejectedError,
    ChannelTimeoutError,
    ChannelUnavailableError,
)
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.deadlines import DEFAULT_POLICY, DeadlinePolicy, deadlines
from lendcore.payments.records import Applied, Observation, apply_observation, lock_payment, record_event
from lendcore.payments.state import TERMINAL, EventSource, PaymentDirection, PaymentState, Verdict
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment
from lendcore.store.types import utc_now


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    payment_id: str
    state: PaymentState
    channel_reference: str | None
    submitted: bool  # False: nothing to do (already submitted)
    error: str | None = None


def _needs_submit(state: str, reference: str | None) -> bool:
    return state == PaymentState.CREATED.value or (
        state == PaymentState.PROCESSING.value and reference is None
    )


def submit_payment(
    session_factory: sessionmaker[Session],
    channel: ChannelAdapter,
    payment_id: str,
    account_token: str,
    *,
    now: datetime | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> SubmitOutcome:
    with unit_of_work(session_factory, read_only=True) as session:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise NotFoundError(f"no payment {payment_id}", code="PAYMENT_NOT_FOUND", id=payment_id)
        if not _needs_submit(payment.state, payment.channel_reference):
            return SubmitOutcome(payment_id, PaymentState(payment.state), payment.channel_reference, False)
        instruction = PaymentInstruction(
            payment.id, PaymentDirection(payment.direction), payment.amount, account_token
        )
    try:
        accepted = channel.submit(instruction)  # no transaction open: see the module docstring
    except ChannelError as error:
        return _record_error(session_factory, payment_id, error, now or utc_now(), policy)
    at = now or utc_now()
    with unit_of_work(session_factory) as session:
        payment = lock_payment(session, payment_id)
        _mark_submitted(payment, at, policy)
        observation = Observation(
            EventSource.SUBMIT,
            accepted.state,
            channel_reference=accepted.channel_reference,
            failure_code=accepted.failure_code,
            occurred_at=accepted.accepted_at,
        )
        applied = apply_observation(session, payment, observation, at)
        if applied.state in TERMINAL:  # a callback settled it before this answer was recorded
            payment.next_query_at = None
        return SubmitOutcome(payment_id, applied.state, payment.channel_reference, True)


def _mark_submitted(payment: Payment, at: datetime, policy: DeadlinePolicy) -> None:
    payment.attempts += 1
    if payment.submitted_at is None:
        payment.submitted_at = at
    due = deadlines(payment.submitted_at, policy)
    payment.timeout_at = due.timeout_at
    payment.next_query_at = due.next_query_at


def _record_error(
    session_factory: sessionmaker[Session],
    payment_id: str,
    error: ChannelError,
    at: datetime,
    policy: DeadlinePolicy,
) -> SubmitOutcome:
    with unit_of_work(session_factory) as session:
        payment = lock_payment(session, payment_id)
        details = {"code": error.code, "message": error.message[:300]}
        record_event(
            session, payment, source=EventSource.SUBMIT, kind="channel_error", now=at, details=details
        )
        applied: Applied | None = None
        if isinstance(error, ChannelRejectedError):
            observation = Observation(
                EventSource.SUBMIT,
                PaymentState.FAILED,
                failure_code=error.code,
                details={"reason": error.message},
            )
            applied = apply_observation(session, payment, observation, at)
        elif isinstance(error, ChannelTimeoutError) or error.may_have_arrived:
            _mark_submitted(payment, at, policy)
            observation = Observation(
                EventSource.SUBMIT, PaymentState.PROCESSING, details={"outcome": "unknown"}
            )
            applied = apply_observation(session, payment, observation, at)
        state = applied.state if applied else PaymentState(payment.state)
        reference = payment.channel_reference
    if isinstance(error, ChannelUnavailableError) and (
        applied is None or applied.verdict is not Verdict.APPLY
    ):
        raise error  # it did not arrive: the submit job retries with backoff
    return SubmitOutcome(payment_id, state, reference, True, error.code)
