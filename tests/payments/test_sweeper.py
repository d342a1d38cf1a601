"""No payment is left hanging: the sweeper queries every payment past its deadline with backoff, and
raises every payment past its SLA to operations, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments import metrics
from lendcore.payments.adapter import (
    Accepted,
    ChannelCall,
    ChannelStatus,
    ChannelTimeoutError,
    HandlerChannel,
    PaymentUnknownToChannelError,
)
from lendcore.payments.state import PaymentState
from lendcore.payments.sweeper import sweep_stuck_payments
from tests.payments.support import NOW, events, issues, payment, recorded_payment


def status(state: PaymentState, amount: int = 10_000) -> HandlerChannel:
    def answer(call: ChannelCall) -> Accepted | ChannelStatus:
        return ChannelStatus(call.payment_id, "ref_1", state, amount, settled_at=NOW)

    return HandlerChannel(answer)


def test_nothing_is_queried_before_its_deadline(session_factory: sessionmaker[Session]) -> None:
    recorded_payment(session_factory)
    channel = status(PaymentState.SUCCEEDED)
    report = sweep_stuck_payments(session_factory, channel, now=NOW + timedelta(minutes=1))
    assert report.queried == 0 and channel.calls == []


def test_a_payment_past_its_deadline_is_queried_and_resolved(session_factory: sessionmaker[Session]) -> None:
    payment_id = recorded_payment(session_factory)
    report = sweep_stuck_payments(
        session_factory, status(PaymentState.SUCCEEDED), now=NOW + timedelta(minutes=3)
    )
    assert (report.queried, report.resolved) == (1, 1)
    assert payment(session_factory, payment_id).state == "succeeded"
    assert events(session_factory, payment_id)[-1] == ("query", "transition", "succeeded")


def test_a_payment_still_processing_is_queried_again_with_backoff(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    channel = status(PaymentState.PROCESSING)
    at = NOW + timedelta(minutes=2)
    expected_gaps = [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    for gap in expected_gaps:
        sweep_stuck_payments(session_factory, channel, now=at)
        stored = payment(session_factory, payment_id)
        assert stored.next_query_at == at + gap
        assert (
            sweep_stuck_payments(session_factory, channel, now=at + gap - timedelta(seconds=1)).queried == 0
        )
        at += gap
    assert payment(session_factory, payment_id).query_attempts == len(expected_gaps)


def test_channel_errors_and_unknown_ids_never_fail_a_payment(session_factory: sessionmaker[Session]) -> None:
    payment_id = recorded_payment(session_factory)

    def flaky(call: ChannelCall) -> ChannelStatus:
        if len(channel.calls) == 1:
            raise ChannelTimeoutError("no answer")
        raise PaymentUnknownToChannelError("never heard of it")

    channel = HandlerChannel(flaky)
    sweep_stuck_payments(session_factory, channel, now=NOW + timedelta(minutes=2))
    sweep_stuck_payments(session_factory, channel, now=NOW + timedelta(minutes=4))
    assert payment(session_factory, payment_id).state == "created"
    assert [e[1] for e in events(session_factory, payment_id)[1:]] == ["channel_error", "observation"]


def test_past_its_sla_a_payment_is_raised_once_with_a_metric_and_still_queried(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    counter = metrics.CountingHook()
    metrics.add_hook(counter)
    try:
        channel = status(PaymentState.PROCESSING)
        assert (
            sweep_stuck_payments(session_factory, channel, now=NOW + timedelta(minutes=119)).escalated == []
        )
        assert sweep_stuck_payments(session_factory, channel, now=NOW + timedelta(hours=2)).escalated == [
            payment_id
        ]
        assert sweep_stuck_payments(session_factory, channel, now=NOW + timedelta(hours=3)).escalated == []
    finally:
        metrics.remove_hook(counter)
    assert counter.total("payments.escalated") == 1
    assert issues(session_factory) == [("sla_breached", payment_id)]
    stored = payment(session_factory, payment_id)
    assert stored.escalated_at == NOW + timedelta(hours=2) and stored.next_query_at is not None
    assert ("query", "escalated", None) in events(session_factory, payment_id)


def test_without_a_channel_the_sweep_still_raises_payments_past_their_sla(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    assert sweep_stuck_payments(session_factory, None, now=NOW + timedelta(hours=5)).escalated == [payment_id]


def test_a_query_answer_with_another_amount_is_a_discrepancy(session_factory: sessionmaker[Session]) -> None:
    payment_id = recorded_payment(session_factory)
    sweep_stuck_payments(
        session_factory, status(PaymentState.SUCCEEDED, 9_000), now=NOW + timedelta(minutes=3)
    )
    assert payment(session_factory, payment_id).state == "created"
    assert issues(session_factory) == [("amount_mismatch", payment_id)]
