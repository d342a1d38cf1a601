"""A long backlog is swept in one run, batch after batch, each due payment queried exactly once; the
run stops at its time budget (below the job's lease) and the next run goes on where it stopped."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.jobs import default_registry
from lendcore.core.errors import LendcoreError
from lendcore.notify.sinks import DevelopmentSink
from lendcore.payments.adapter import Accepted, ChannelCall, ChannelStatus, HandlerChannel
from lendcore.payments.state import PaymentState
from lendcore.payments.sweeper import SweepLimits, limits_from_env, sweep_stuck_payments
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment
from tests.payments.support import NOW, issues, payment, recorded_payment

SWEEP_AT = NOW + timedelta(minutes=3)  # every payment below is past its first query deadline


def backlog(factory: sessionmaker[Session], count: int) -> list[str]:
    """``count`` payments due for a query, with ties on ``next_query_at`` (the key breaks them by id)."""
    return [recorded_payment(factory, now=NOW + timedelta(seconds=i % 3)) for i in range(count)]


def answering(resolve_every: int = 0) -> HandlerChannel:
    """A channel saying processing, or succeeded for every ``resolve_every``-th query."""

    def answer(call: ChannelCall) -> Accepted | ChannelStatus:
        done = resolve_every and len(channel.calls) % resolve_every == 0
        state = PaymentState.SUCCEEDED if done else PaymentState.PROCESSING
        return ChannelStatus(call.payment_id, f"ref_{call.payment_id}", state, 10_000, settled_at=NOW)

    channel = HandlerChannel(answer)
    return channel


def queried(channel: HandlerChannel) -> Counter[str]:
    return Counter(call.payment_id for call in channel.calls if call.operation == "query")


def test_one_run_over_several_batches_queries_every_due_payment_exactly_once(
    session_factory: sessionmaker[Session],
) -> None:
    ids = backlog(session_factory, 8)
    channel = answering(resolve_every=3)
    report = sweep_stuck_payments(session_factory, channel, now=SWEEP_AT, limits=SweepLimits(batch=3))
    assert queried(channel) == Counter(ids)  # every one, once
    assert (report.queried, report.resolved, report.still_open) == (8, 2, 6)
    assert (report.batches, report.more) == (3, False)
    states = Counter(payment(session_factory, pid).state for pid in ids)
    assert states == Counter({"succeeded": 2, "processing": 6})
    for pid in ids:
        stored = payment(session_factory, pid)
        assert stored.query_attempts == (0 if stored.state == "succeeded" else 1)


def test_with_several_threads_every_due_payment_is_still_queried_exactly_once(
    session_factory: sessionmaker[Session],
) -> None:
    ids = backlog(session_factory, 10)
    channel = answering(resolve_every=2)
    limits = SweepLimits(batch=4, concurrency=3)
    report = sweep_stuck_payments(session_factory, channel, now=SWEEP_AT, limits=limits)
    assert queried(channel) == Counter(ids)
    assert (report.queried, report.resolved + report.still_open, report.batches) == (10, 10, 3)
    states = Counter(payment(session_factory, pid).state for pid in ids)
    assert states == Counter({"succeeded": 5, "processing": 5})


def test_a_deadline_moved_back_during_the_run_is_not_queried_twice_in_it(
    session_factory: sessionmaker[Session],
) -> None:
    ids = backlog(session_factory, 6)

    def answer(call: ChannelCall) -> ChannelStatus:
        if len(channel.calls) == 4:  # meanwhile something makes the first one due again
            with unit_of_work(session_factory) as session:
                session.execute(update(Payment).where(Payment.id == ids[0]).values(next_query_at=NOW))
        return ChannelStatus(call.payment_id, f"ref_{call.payment_id}", PaymentState.PROCESSING, 10_000)

    channel = HandlerChannel(answer)
    sweep_stuck_payments(session_factory, channel, now=SWEEP_AT, limits=SweepLimits(batch=2))
    assert queried(channel) == Counter(ids)
    again = sweep_stuck_payments(session_factory, channel, now=SWEEP_AT, limits=SweepLimits(batch=2))
    assert again.queried == 1  # the next run picks it up
    assert queried(channel)[ids[0]] == 2


def test_the_time_budget_stops_the_run_and_the_next_run_goes_on(
    session_factory: sessionmaker[Session],
) -> None:
    ids = backlog(session_factory, 7)
    ticks = iter(range(10_000))  # one second per look at the clock
    limits = SweepLimits(batch=2, time_budget=timedelta(seconds=4))
    channel = answering()
    first = sweep_stuck_payments(
        session_factory, channel, now=SWEEP_AT, limits=limits, clock=lambda: float(next(ticks))
    )
    assert first.more and 0 < first.queried < len(ids)
    assert sum(queried(channel).values()) == first.queried
    runs = 1
    while True:
        report = sweep_stuck_payments(
            session_factory, channel, now=SWEEP_AT, limits=limits, clock=lambda: float(next(ticks))
        )
        runs += 1
        if not report.more:
            break
    assert runs > 2
    assert queried(channel) == Counter(ids)  # over all the runs: every one, once


def test_escalation_goes_through_every_payment_past_its_sla_in_batches(
    session_factory: sessionmaker[Session],
) -> None:
    ids = backlog(session_factory, 7)
    report = sweep_stuck_payments(
        session_factory, None, now=NOW + timedelta(hours=3), limits=SweepLimits(batch=3)
    )
    assert sorted(report.escalated) == sorted(ids)
    assert sorted(issues(session_factory)) == sorted(("sla_breached", pid) for pid in ids)
    assert sweep_stuck_payments(session_factory, None, now=NOW + timedelta(hours=4)).escalated == []


def test_the_limits_are_settings_and_the_job_lease_outlasts_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LENDCORE_SWEEP_BATCH", "2000")
    monkeypatch.setenv("LENDCORE_SWEEP_SECONDS", "600")
    monkeypatch.setenv("LENDCORE_SWEEP_CONCURRENCY", "4")
    limits = limits_from_env()
    assert limits == SweepLimits(batch=2000, time_budget=timedelta(minutes=10), concurrency=4)
    handler = default_registry(sink=DevelopmentSink()).get("payments.sweep")
    assert handler is not None and handler.lease > limits.time_budget
    for batch, seconds, threads in [("0", "60", "1"), ("10", "0", "1"), ("ten", "60", "1"), ("9", "9", "0")]:
        monkeypatch.setenv("LENDCORE_SWEEP_BATCH", batch)
        monkeypatch.setenv("LENDCORE_SWEEP_SECONDS", seconds)
        monkeypatch.setenv("LENDCORE_SWEEP_CONCURRENCY", threads)
        with pytest.raises(LendcoreError) as caught:
            limits_from_env()
        assert caught.value.code == "INVALID_SWEEP_LIMITS"
