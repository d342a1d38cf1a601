"""A payment is submitted only after its record is committed, and every answer (or its absence)
leaves it in a state the sweeper can resolve."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.adapter import (
    Accepted,
    ChannelCall,
    ChannelRejectedError,
    ChannelStatus,
    ChannelTimeoutError,
    ChannelUnavailableError,
    HandlerChannel,
)
from lendcore.payments.records import Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentState
from lendcore.payments.submit import submit_payment
from lendcore.store.engine import unit_of_work
from tests.payments.support import NOW, events, payment, recorded_payment


def submit_with(factory: sessionmaker[Session], handler):  # type: ignore[no-untyped-def]
    payment_id = recorded_payment(factory)
    channel = HandlerChannel(handler)
    return payment_id, channel, submit_payment(factory, channel, payment_id, "tok_1", now=NOW)


def test_the_channel_sees_an_instruction_whose_record_is_already_committed(
    session_factory: sessionmaker[Session],
) -> None:
    seen: list[str] = []

    def accept(call: ChannelCall) -> Accepted | ChannelStatus:
        # read from a fresh unit of work: only a committed record is visible there
        seen.append(payment(session_factory, call.payment_id).state)
        return Accepted(call.payment_id, "ref_1")

    payment_id, channel, outcome = submit_with(session_factory, accept)
    assert seen == ["created"]
    assert (outcome.state, outcome.channel_reference) == (PaymentState.PROCESSING, "ref_1")
    stored = payment(session_factory, payment_id)
    assert (stored.submitted_at, stored.attempts, stored.timeout_at) == (NOW, 1, stored.next_query_at)
    assert events(session_factory, payment_id)[-1] == ("submit", "transition", "processing")
    assert channel.calls[0].instruction is not None and channel.calls[0].instruction.amount == 10_000


def test_submitting_again_does_nothing(session_factory: sessionmaker[Session]) -> None:
    payment_id, channel, _ = submit_with(session_factory, lambda call: Accepted(call.payment_id, "ref_1"))
    again = submit_payment(session_factory, channel, payment_id, "tok_1", now=NOW)
    assert not again.submitted and len(channel.calls) == 1


def test_a_timeout_leaves_the_payment_processing_to_be_queried_never_failed(
    session_factory: sessionmaker[Session],
) -> None:
    def timeout(_call: ChannelCall) -> Accepted:
        raise ChannelTimeoutError("no answer")

    payment_id, _, outcome = submit_with(session_factory, timeout)
    assert outcome.state is PaymentState.PROCESSING and outcome.error == "CHANNEL_TIMEOUT"
    stored = payment(session_factory, payment_id)
    assert (
        stored.state == "processing" and stored.next_query_at is not None and stored.channel_reference is None
    )
    assert ("submit", "channel_error", None) in events(session_factory, payment_id)


def test_an_unavailable_channel_leaves_it_created_and_the_error_goes_to_the_job_for_a_retry(
    session_factory: sessionmaker[Session],
) -> None:
    def down(_call: ChannelCall) -> Accepted:
        raise ChannelUnavailableError("refused")

    payment_id = recorded_payment(session_factory)
    with pytest.raises(ChannelUnavailableError):
        submit_payment(session_factory, HandlerChannel(down), payment_id, "tok_1", now=NOW)
    assert payment(session_factory, payment_id).state == "created"
    assert events(session_factory, payment_id)[-1] == ("submit", "channel_error", None)


def test_a_rejection_fails_the_payment_with_the_channels_code(session_factory: sessionmaker[Session]) -> None:
    def reject(_call: ChannelCall) -> Accepted:
        raise ChannelRejectedError("no", code="INVALID_INSTRUCTION")

    payment_id, _, outcome = submit_with(session_factory, reject)
    assert outcome.state is PaymentState.FAILED
    assert payment(session_factory, payment_id).failure_code == "INVALID_INSTRUCTION"


def test_a_callback_that_settled_the_payment_before_the_submit_answer_is_recorded_wins(
    session_factory: sessionmaker[Session],
) -> None:
    def accept_after_the_callback(call: ChannelCall) -> Accepted:
        with unit_of_work(session_factory) as session:  # the channel's callback, arriving first
            callback = Observation(EventSource.CALLBACK, PaymentState.SUCCEEDED, "ref_1", 10_000)
            apply_observation(session, lock_payment(session, call.payment_id), callback, NOW)
        return Accepted(call.payment_id, "ref_1")

    payment_id, _, outcome = submit_with(session_factory, accept_after_the_callback)
    assert outcome.state is PaymentState.SUCCEEDED
    stored = payment(session_factory, payment_id)
    assert (stored.state, stored.next_query_at, stored.submitted_at) == ("succeeded", None, NOW)
    assert events(session_factory, payment_id)[-1] == ("submit", "stale", "processing")
