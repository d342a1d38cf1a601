"""A channel outage opens a lender-fault window for everyone by itself: ≥ 3 unavailable answers over
≥ 5 minutes with no answer between them open one ``channel_outage`` window from the business day of
the first failure (Asia/Shanghai); the channel's next answer ends it on that answer's business day.
Once per outage, however often and however many detectors run; audited; the customers with something
due inside the window are told."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.batch.jobs import default_registry, sweep_payments
from lendcore.jobs.worker import Worker
from lendcore.payments.adapter import (
    Accepted,
    ChannelAdapter,
    ChannelCall,
    ChannelStatus,
    ChannelUnavailableError,
    HandlerChannel,
)
from lendcore.payments.http_channel import HttpChannel
from lendcore.payments.submit import submit_payment
from lendcore.servicing.outages import OutageReport, classify, detect_channel_outages
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import AuditRecord
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import ChannelOutage, LenderFault
from lendcore.store.types import utc_now
from tests.payments.sim.service import simulator_process
from tests.payments.support import recorded_payment
from tests.servicing.test_faults import DUE, bullet, penalty, standing

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY = date(2026, 11, 22)


def down(call: ChannelCall) -> Accepted | ChannelStatus:
    raise ChannelUnavailableError(
        "the channel is unavailable: BANK_MAINTENANCE", channel_code="BANK_MAINTENANCE"
    )


def up(call: ChannelCall) -> Accepted | ChannelStatus:
    return Accepted(call.payment_id, f"ref_{call.payment_id}")


def call(
    factory: sessionmaker[Session], channel: ChannelAdapter, at: datetime, payment_id: str | None = None
) -> str:
    """Submit a payment (a new one unless given) at ``at``; an unavailable channel is recorded."""
    payment_id = payment_id or recorded_payment(factory, now=at)
    with contextlib.suppress(ChannelUnavailableError):
        submit_payment(factory, channel, payment_id, "tok_1", now=at)
    return payment_id


def calls(
    factory: sessionmaker[Session], channel: ChannelAdapter, start: datetime, minutes: list[int]
) -> None:
    for m in minutes:
        call(factory, channel, start + timedelta(minutes=m))


def detect(factory: sessionmaker[Session], at: datetime) -> OutageReport:
    with unit_of_work(factory) as session:
        return detect_channel_outages(session, now=at)


def windows(factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with unit_of_work(factory, read_only=True) as session:
        rows = session.scalars(select(LenderFault).order_by(LenderFault.starts_on))
        return [(f.kind, f.starts_on, f.ends_on, f.contract_id, f.customer_id) for f in rows]


def audits(factory: sessionmaker[Session], action: str) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return session.scalar(select(func.count()).where(AuditRecord.action == action)) or 0


@pytest.mark.parametrize(
    ("kind", "details", "ok"),
    [
        ("channel_error", {"code": "CHANNEL_UNAVAILABLE"}, False),
        ("channel_error", {"code": "BANK_MAINTENANCE"}, False),
        ("channel_error", {"code": "CHANNEL_TIMEOUT"}, None),  # may have arrived: says nothing
        ("channel_error", {"code": "CHANNEL_SERVER_ERROR"}, None),
        ("channel_error", {"code": "CARD_FROZEN"}, True),  # a refusal is an answer
        ("transition", {}, True),
        ("observation", {}, True),
    ],
)
def test_what_counts_as_the_channel_down_or_alive(
    kind: str, details: dict[str, str], ok: bool | None
) -> None:
    assert classify(kind, details) is ok


def test_unavailable_answers_over_ten_minutes_open_one_window_for_everyone_once(
    session_factory: sessionmaker[Session],
) -> None:
    calls(session_factory, HandlerChannel(up), T0 - timedelta(minutes=5), [0])
    calls(session_factory, HandlerChannel(down), T0, [0, 2, 4, 6, 8, 10])
    first = detect(session_factory, T0 + timedelta(minutes=11))
    assert windows(session_factory) == [("channel_outage", DAY, None, None, None)]
    assert (len(first.opened), first.ended, first.open_now) == (1, [], 1)
    assert audits(session_factory, "fault.record") == 1
    again = detect(session_factory, T0 + timedelta(minutes=12))  # a rerun changes nothing
    assert (again.opened, again.ended, again.open_now) == ([], [], 1)
    calls(session_factory, HandlerChannel(down), T0, [14])  # still down: the same outage
    assert detect(session_factory, T0 + timedelta(minutes=15)).opened == []
    assert windows(session_factory) == [("channel_outage", DAY, None, None, None)]


def test_a_blip_or_a_short_burst_of_failures_opens_nothing(session_factory: sessionmaker[Session]) -> None:
    calls(session_factory, HandlerChannel(down), T0, [0])
    calls(session_factory, HandlerChannel(up), T0, [3])
    calls(session_factory, HandlerChannel(down), T0, [10, 11, 12, 13])  # four in three minutes
    calls(session_factory, HandlerChannel(up), T0, [14])
    calls(session_factory, HandlerChannel(down), T0, [20, 30])  # two, however far apart
    report = detect(session_factory, T0 + timedelta(minutes=40))
    assert (report.opened, windows(session_factory)) == ([], [])


def test_the_channel_answering_again_ends_the_window_on_the_business_day_of_that_answer(
    session_factory: sessionmaker[Session],
) -> None:
    """Down from 23:50 in Shanghai on 11-22; the detector opens the window at 00:06; the channel
    answers at 00:10 on 11-23: the window is 11-22 … 11-23, ended once, audited."""
    start = datetime(2026, 11, 22, 15, 50, tzinfo=UTC)
    calls(session_factory, HandlerChannel(down), start, [0, 5, 10, 15])
    assert len(detect(session_factory, start + timedelta(minutes=16)).opened) == 1
    calls(session_factory, HandlerChannel(up), start, [20])
    ended = detect(session_factory, start + timedelta(minutes=21))
    assert (ended.opened, len(ended.ended), ended.open_now) == ([], 1, 0)
    assert windows(session_factory) == [("channel_outage", DAY, DAY + timedelta(days=1), None, None)]
    assert audits(session_factory, "fault.end") == 1
    rerun = detect(session_factory, start + timedelta(minutes=30))
    assert (rerun.opened, rerun.ended) == ([], [])
    calls(session_factory, HandlerChannel(down), start, [40, 45, 50])  # a second outage later
    assert len(detect(session_factory, start + timedelta(minutes=51)).opened) == 1
    assert len(windows(session_factory)) == 2


def test_an_outage_found_after_it_ended_opens_a_closed_window(session_factory: sessionmaker[Session]) -> None:
    calls(session_factory, HandlerChannel(down), T0, [0, 3, 6])
    calls(session_factory, HandlerChannel(up), T0, [9])
    report = detect(session_factory, T0 + timedelta(minutes=30))
    assert (len(report.opened), report.open_now) == (1, 0)
    assert windows(session_factory) == [("channel_outage", DAY, DAY, None, None)]


def test_the_sweep_job_and_the_scheduled_job_run_the_detector(session_factory: sessionmaker[Session]) -> None:
    calls(session_factory, HandlerChannel(down), T0, [0, 3, 6])
    assert len(sweep_payments(session_factory, None, now=T0 + timedelta(minutes=7))) == 1
    calls(session_factory, HandlerChannel(up), T0, [8])
    with unit_of_work(session_factory) as session:
        from lendcore.jobs.outbox import enqueue

        enqueue(session, "channel.outages", {}, dedupe_key="outages:1")
    Worker(session_factory, default_registry(None), clock=lambda: max(T0, utc_now())).run_until_idle()
    assert windows(session_factory) == [("channel_outage", DAY, DAY, None, None)]


def test_two_detectors_at_once_open_one_window(postgres_database_url: str) -> None:
    engine = create_engine(postgres_database_url)
    factory = create_session_factory(engine)
    try:
        calls(factory, HandlerChannel(down), T0, [0, 2, 4, 6, 8, 10])
        barrier = threading.Barrier(4)
        reports: list[OutageReport] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                barrier.wait()
                reports.append(detect(factory, T0 + timedelta(minutes=11)))
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(len(r.opened) for r in reports) == [0, 0, 0, 1]
        assert windows(factory) == [("channel_outage", DAY, None, None, None)]
        with unit_of_work(factory, read_only=True) as session:
            assert session.scalar(select(func.count()).select_from(ChannelOutage)) == 1
    finally:
        engine.dispose()


def test_an_outage_of_the_real_simulator_on_a_due_day_costs_nobody_penalty_or_overdue_status(
    session_factory: sessionmaker[Session],
) -> None:
    """Two bullets due 04-01. The channel simulator is in an outage (503 BANK_MAINTENANCE): the first
    customer's repayment of 04-01 fails to submit four times over 10 minutes; the detector opens a
    window from 04-01 and tells both customers (both have something due in it). The close of 04-02
    charges neither penalty nor overdue status. A simulator that answers (the channel back on 04-02)
    ends the window on 04-02: from the close of 04-03 the second contract's days count again."""
    from tests.servicing.test_settlement import ask

    paying, paying_contract = bullet(session_factory)
    idle, idle_contract = bullet(session_factory)
    payment_id = ask(session_factory, paying, 1_009_000, DUE)["payment_id"]
    due_morning = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    with simulator_process("--faults", "outage=0-86400") as url, HttpChannel(url) as channel:
        for minutes in (0, 3, 6, 10):
            call(session_factory, channel, due_morning + timedelta(minutes=minutes), payment_id)
    assert len(detect(session_factory, due_morning + timedelta(minutes=11)).opened) == 1
    assert windows(session_factory) == [("channel_outage", DUE, None, None, None)]
    with unit_of_work(session_factory, read_only=True) as session:
        told = session.scalars(select(Job.payload).where(Job.kind == "customer.notify")).all()
    assert sorted(t["customer_id"] for t in told if t["template"] == "lender_fault_opened") == sorted(
        [paying, idle]
    )
    Worker(
        session_factory, default_registry(None), clock=lambda: max(due_morning, utc_now())
    ).run_until_idle()
    with unit_of_work(session_factory, read_only=True) as session:
        sent = session.scalars(select(Job.status).where(Job.kind == "customer.notify")).all()
    assert sent == ["succeeded", "succeeded"]  # the messages went out (the default sink)
    run_daily_close(session_factory, DUE + timedelta(days=1))
    for contract_id in (paying_contract, idle_contract):
        assert (penalty(session_factory, contract_id), standing(session_factory, contract_id)) == (
            0,
            (0, "normal", 0),
        )
    back = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
    with simulator_process() as url, HttpChannel(url) as channel:
        call(session_factory, channel, back, payment_id)
    assert len(detect(session_factory, back + timedelta(minutes=1)).ended) == 1
    assert windows(session_factory) == [("channel_outage", DUE, DUE + timedelta(days=1), None, None)]
    run_daily_close(session_factory, DUE + timedelta(days=2))
    assert standing(session_factory, idle_contract)[0] > 0  # the window is over: the rows count again


def test_an_outage_longer_than_the_look_back_stays_one_window(session_factory: sessionmaker[Session]) -> None:
    """Down for five hours (the look back is two): the detector reads back to the open outage's first
    failure, so it neither opens a second window nor loses the first; the answer ends it."""
    calls(session_factory, HandlerChannel(down), T0, [0, 3, 6])
    assert len(detect(session_factory, T0 + timedelta(minutes=7)).opened) == 1
    calls(session_factory, HandlerChannel(down), T0, list(range(30, 300, 30)))
    assert detect(session_factory, T0 + timedelta(minutes=300)).opened == []
    calls(session_factory, HandlerChannel(up), T0, [301])
    report = detect(session_factory, T0 + timedelta(minutes=302))
    assert (report.opened, len(report.ended)) == ([], 1)
    assert windows(session_factory) == [("channel_outage", DAY, DAY, None, None)]
    with unit_of_work(session_factory, read_only=True) as session:
        outage = session.scalars(select(ChannelOutage)).one()
        assert (outage.failures, outage.started_at) == (12, T0)


def test_a_quiet_channels_outage_with_failures_hours_apart_is_found_whole(
    session_factory: sessionmaker[Session],
) -> None:
    """Three failures two hours apart, nothing between them (the simulation met this: no two-hour look
    back holds all three): the detector follows the run back to the channel's last answer."""
    calls(session_factory, HandlerChannel(up), T0 - timedelta(hours=3), [0])
    for hour in (0, 2, 4):
        calls(session_factory, HandlerChannel(down), T0 + timedelta(hours=hour), [5])
        report = detect(session_factory, T0 + timedelta(hours=hour, minutes=10))
    assert (len(report.opened), report.open_now) == (1, 1)
    with unit_of_work(session_factory, read_only=True) as session:
        outage = session.scalars(select(ChannelOutage)).one()
        assert (outage.failures, outage.started_at) == (3, T0 + timedelta(minutes=5))
    assert windows(session_factory) == [("channel_outage", DAY, None, None, None)]


def test_failures_hours_apart_with_an_answer_between_them_are_no_outage(
    session_factory: sessionmaker[Session],
) -> None:
    for hour in (0, 2, 4):
        calls(session_factory, HandlerChannel(down), T0 + timedelta(hours=hour), [5])
        calls(session_factory, HandlerChannel(up), T0 + timedelta(hours=hour), [30])
        report = detect(session_factory, T0 + timedelta(hours=hour, minutes=40))
    assert (report.opened, windows(session_factory)) == ([], [])
