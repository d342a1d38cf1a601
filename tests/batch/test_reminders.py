"""Reminders go out on D-3, D-1, D0 and after a miss (per the offsets), once per contract, installment,
offset and channel, in Chinese with what will be due; not for what is paid, covered or scheduled; a
run killed in the middle and run again sends the rest and nothing twice. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day_type
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.jobs import default_registry
from lendcore.batch.reminders import _context as reminder_context  # the day's bounded reads
from lendcore.batch.reminders import reminder_key, run_reminders
from lendcore.core.allocation import amount_due
from lendcore.core.money import format_fen
from lendcore.core.notices import ReminderPolicy, chinese_date
from lendcore.jobs.outbox import enqueue
from lendcore.jobs.worker import Worker
from lendcore.notify.delivery import sweep_notifications
from lendcore.notify.simulated import SimulatedProvider
from lendcore.notify.sinks import DevelopmentSink
from lendcore.servicing.codecs import contract_state
from lendcore.store.engine import create_engine, create_session_factory, unit_of_work
from lendcore.store.models import Contract
from lendcore.store.models_jobs import Job
from lendcore.store.models_notify import Notification
from lendcore.store.models_payments import LenderFault
from lendcore.store.types import utc_now
from tests.batch.remind_until_killed import FileSink
from tests.servicing.support import do_draw, do_repay, open_line

DUE = date(2026, 4, 1)  # a one-month bullet drawn on 2026-03-01
AT = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
time_of_day = time_of_day_type(2, 0)  # 10:00 in Shanghai


def _borrower(factory: sessionmaker[Session]) -> tuple[str, str]:
    cid, line = open_line(factory)
    return cid, do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]


def _messages(factory: sessionmaker[Session]) -> list[Notification]:
    with unit_of_work(factory, read_only=True) as session:
        rows = list(session.scalars(select(Notification).order_by(Notification.queued_at, Notification.id)))
        session.expunge_all()
        return rows


def _will_be_due(factory: sessionmaker[Session], contract_id: str, on: date) -> int:
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return amount_due(contract_state(contract), on)


def test_each_offset_reminds_once_with_the_amount_and_the_date(
    session_factory: sessionmaker[Session],
) -> None:
    customer, contract = _borrower(session_factory)
    sink = DevelopmentSink()
    sent_on = {}
    for day in (DUE - timedelta(days=n) for n in (4, 3, 3, 2, 1, 0)):  # D-3 twice: once
        report = run_reminders(session_factory, sink, day, now=AT, policy=ReminderPolicy())
        sent_on[day] = report.sent
    assert [sent_on[DUE - timedelta(days=n)] for n in (4, 3, 2, 1, 0)] == [0, 0, 0, 1, 1]
    rows = _messages(session_factory)
    assert [r.dedupe_key for r in rows] == [
        f"{reminder_key(contract, 1, o)}:push" for o in (-3, -1, 0)
    ]  # fmt: skip
    assert len(sink.sent) == 3 and all(r.state == "delivered" and r.customer_id == customer for r in rows)
    owed = _will_be_due(session_factory, contract, DUE)
    assert format_fen(owed) in rows[0].text and chinese_date(DUE) in rows[0].text and "3天后" in rows[0].text
    assert "今天" in rows[2].text


def test_after_a_miss_the_customer_is_reminded_and_not_when_paid(
    session_factory: sessionmaker[Session],
) -> None:
    _, missed = _borrower(session_factory)
    paid_customer, paid = _borrower(session_factory)
    do_repay(
        session_factory, paid_customer, None, DUE - timedelta(days=5), contract_ids=[paid], mode="by-contract"
    )
    report = run_reminders(session_factory, DevelopmentSink(), DUE + timedelta(days=1), now=AT)
    [row] = _messages(session_factory)
    assert row.contract_id == missed and row.template == "reminder_overdue" and report.sent == 1
    assert format_fen(_will_be_due(session_factory, missed, DUE + timedelta(days=1))) in row.text


def test_a_product_with_its_own_offsets_is_reminded_on_those(session_factory: sessionmaker[Session]) -> None:
    _borrower(session_factory)
    policy = ReminderPolicy.parse("-3;quick=-2")
    assert (
        run_reminders(session_factory, DevelopmentSink(), DUE - timedelta(days=3), now=AT, policy=policy).sent
        == 0
    )
    assert (
        run_reminders(session_factory, DevelopmentSink(), DUE - timedelta(days=2), now=AT, policy=policy).sent
        == 1
    )


def test_a_reminder_run_killed_in_the_middle_sends_the_rest_and_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        borrowers = [_borrower(factory) for _ in range(5)]
        with unit_of_work(factory) as session:
            job_id = enqueue(
                session, "reminders.run", {"business_date": (DUE - timedelta(days=3)).isoformat()}
            )
        sends = tmp_path / "sends"
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.batch.remind_until_killed", database_url, str(sends), "3"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stderr=subprocess.PIPE,
        )
        process.wait(timeout=120)
        assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
        assert len(FileSink(sends).sent()) == 3
        sink = FileSink(sends)
        later = utc_now() + timedelta(minutes=6)  # past the dead worker's lease
        worker = Worker(factory, default_registry(sink=sink), worker_id="survivor", clock=lambda: later)
        deadline = time.monotonic() + 60
        while not worker.run_until_idle() and time.monotonic() < deadline:
            time.sleep(0.05)  # PostgreSQL may take a moment to release the killed connection's locks
        sent = sink.sent()
        assert sorted(sent) == sorted(set(sent)) and len(sent) == len(borrowers)  # each once, all
        states = sorted(r.state for r in _messages(factory))
        assert states == ["delivered"] * 4 + ["sent"]  # the one in flight at the kill: polled, not resent
        sweep_notifications(factory, sink, now=later + timedelta(minutes=3))
        assert {r.state for r in _messages(factory)} == {"delivered"}
        with unit_of_work(factory, read_only=True) as session:
            job = session.get(Job, job_id)
            assert job is not None and (job.status, job.attempts) == ("succeeded", 2)
    finally:
        engine.dispose()


class Unreachable:
    """Every customer on every channel at an address the simulated provider fails."""

    def channels(self, customer: object, wanted: Sequence[str]) -> list[str]:
        return list(wanted)

    def address(self, customer: object, channel: str) -> tuple[str, str] | None:
        return "fail:UNREACHABLE", f"masked-{channel}"


@pytest.mark.parametrize("offset", [-3, -1, 0, 1, 3])
@pytest.mark.parametrize("late_days", [0, 4])
def test_an_undelivered_reminders_fault_starts_on_its_business_day_or_due_date_never_the_clocks(
    session_factory: sessionmaker[Session], offset: int, late_days: int
) -> None:
    """The rule: the window starts on the later of the due date and the business day the reminder was
    sent for, whenever the run actually happened (a run caught up ``late_days`` after the worker was
    down queues it days later by the clock: that must not shorten the customer's window)."""
    customer, _ = _borrower(session_factory)
    day = DUE + timedelta(days=offset)
    clock = datetime.combine(day, time_of_day, tzinfo=UTC) + timedelta(days=late_days)
    provider = SimulatedProvider(seed=1, failed=0, unconfirmed=0, lost_receipt=0, clock=lambda: clock)
    policy = ReminderPolicy(offsets=(-3, -1, 0, 1, 3))
    report = run_reminders(session_factory, provider, day, now=clock, policy=policy, addresses=Unreachable())
    assert report.sent >= 1
    sweep_notifications(session_factory, provider, now=clock + timedelta(hours=1))
    with unit_of_work(session_factory, read_only=True) as session:
        [fault] = session.execute(
            select(LenderFault.customer_id, LenderFault.kind, LenderFault.starts_on)
        ).all()
    assert tuple(fault) == (customer, "reminder_undelivered", max(DUE, day))


def test_the_context_of_seventy_thousand_due_contracts_is_read_in_bounded_lists(
    session_factory: sessionmaker[Session],
) -> None:
    """The reminder days of a large book hold tens of thousands of contracts: one IN list of their
    customers (or contracts) passed PostgreSQL's 65,535 parameters."""
    real_customer, _line = open_line(session_factory)
    customers = sorted([real_customer, *(f"cus_NOBODY{n:06d}" for n in range(70_000))])
    contracts = [f"ln_NOBODY{n:06d}" for n in range(70_000)]
    with unit_of_work(session_factory, read_only=True) as session:
        context = reminder_context(session, customers, contracts)
    assert list(context.customers) == [real_customer]
    assert context.credit == {} and context.scheduled == set()
