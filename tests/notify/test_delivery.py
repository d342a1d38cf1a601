"""Notifications are tracked from queued to delivered, failed or unconfirmed; each is sent at most once
however often its job runs (or dies half way); a reminder delivered on no channel opens one
reminder_undelivered fault for the customer. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.jobs import default_registry
from lendcore.core.faults import FaultKind
from lendcore.core.notices import chinese_date
from lendcore.jobs.outbox import enqueue
from lendcore.jobs.worker import Worker
from lendcore.notify.delivery import (
    CustomerAddresses,
    DeliveryPolicy,
    queue_message,
    send_queued,
    sweep_notifications,
)
from lendcore.notify.jobs import NOTIFY_JOB, notify_customer
from lendcore.notify.simulated import SimulatedProvider, draw_fate
from lendcore.notify.sinks import DevelopmentSink
from lendcore.security.pii import mask_phone
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Customer
from lendcore.store.models_jobs import Job
from lendcore.store.models_notify import Notification, NotificationEvent
from lendcore.store.models_payments import LenderFault
from tests.origination.helpers import CIPHER, make_phone, register
from tests.servicing.support import fault_notices, new_customer

T0 = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DUE = date(2026, 4, 1)


@dataclass(frozen=True)
class Addresses:
    """Both channels for every customer, at fixed addresses (``fail:<CODE>`` fails at the provider)."""

    sms: str = "13812345678"
    push: str = "device-token"

    def channels(self, customer: Customer, wanted: Sequence[str]) -> list[str]:
        return list(wanted)

    def address(self, customer: Customer, channel: str) -> tuple[str, str] | None:
        value = self.sms if channel == "sms" else self.push
        return value, f"masked-{channel}"


def _customers(factory: sessionmaker[Session], n: int) -> list[str]:
    with unit_of_work(factory) as session:
        return [new_customer(session) for _ in range(n)]


def _queue(factory: sessionmaker[Session], customer: str, channel: str, group: str | None = None) -> str:
    with unit_of_work(factory) as session:
        row, _ = queue_message(
            session, customer_id=customer, channel=channel, template="reminder_before",
            fields={"amount": 123_456, "due_date": DUE, "days": 3}, dedupe_key=f"t:{customer}:{channel}",
            now=T0, group_key=group, due_date=DUE if group else None,
        )  # fmt: skip
        return row.id


def _rows(factory: sessionmaker[Session]) -> dict[str, Notification]:
    with unit_of_work(factory, read_only=True) as session:
        rows = {r.id: r for r in session.scalars(select(Notification))}
        session.expunge_all()
        return rows


def test_a_notice_job_delivers_once_through_the_worker_in_chinese_without_pii(
    session_factory: sessionmaker[Session],
) -> None:
    [customer] = _customers(session_factory, 1)
    sink = DevelopmentSink()
    payload = {"customer_id": customer, "template": "repayment_succeeded", "amount": 150_000}
    with unit_of_work(session_factory) as session:
        job_id = enqueue(session, NOTIFY_JOB, payload, dedupe_key="notify:pay_x:succeeded")
    Worker(session_factory, default_registry(sink=sink)).run_until_idle()
    for _ in range(2):  # the same job delivered again (at least once): found, not sent again
        assert notify_customer(session_factory, sink, payload, f"job:{job_id}", now=T0) == 0
    [row] = _rows(session_factory).values()
    assert row.state == "delivered" and row.channel == "push" and row.recipient_masked == f"app:{customer}"
    assert row.text == "【lendcore】您的还款¥1,500.00已成功入账，感谢您按时还款。"
    assert list(sink.sent) == [row.id]
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(Job.status).where(Job.kind == NOTIFY_JOB)) == "succeeded"


def test_a_bad_notice_job_is_dead_at_once(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        enqueue(session, NOTIFY_JOB, {"template": "repayment_succeeded"})
    Worker(session_factory, default_registry(sink=DevelopmentSink())).run_until_idle()
    with unit_of_work(session_factory, read_only=True) as session:
        job = session.scalars(select(Job).where(Job.kind == NOTIFY_JOB)).one()
        assert job.status == "dead" and job.attempts == 1


def test_seeded_receipts_polls_and_the_deadline_give_every_message_its_fate(
    session_factory: sessionmaker[Session],
) -> None:
    clock = [T0]
    provider = SimulatedProvider(
        seed=7, failed=0.2, unconfirmed=0.2, lost_receipt=0.3, clock=lambda: clock[0]
    )
    customers = _customers(session_factory, 30)
    ids = [_queue(session_factory, c, "push") for c in customers]
    policy = DeliveryPolicy(confirm_within=timedelta(minutes=30))
    assert send_queued(session_factory, provider, ids, now=T0, addresses=Addresses(), policy=policy) == 30
    assert {r.state for r in _rows(session_factory).values()} == {"sent"}
    for minutes in (1, 3, 6, 12, 25, 31):
        clock[0] = T0 + timedelta(minutes=minutes)
        sweep_notifications(session_factory, provider, now=clock[0], policy=policy)
    rows = _rows(session_factory)
    for message_id in ids:
        fate = draw_fate(7, message_id, 0.2, 0.2, 0.3)
        expected = {"delivered": "delivered", "failed": "failed", "never_confirmed": "unconfirmed"}
        assert rows[message_id].state == expected[fate.outcome], (message_id, fate)
        assert (rows[message_id].flagged_at is not None) == (fate.outcome != "delivered")
    assert {f.outcome for f in (draw_fate(7, i, 0.2, 0.2, 0.3) for i in ids)} == {
        "delivered", "failed", "never_confirmed"
    }  # fmt: skip
    assert all(n == 1 for n in provider.sends.values())
    with unit_of_work(session_factory, read_only=True) as session:
        sources = set(session.scalars(select(NotificationEvent.source)))
    assert {"send", "receipt", "poll", "deadline"} <= sources


def test_a_message_claimed_by_a_process_that_died_is_polled_never_sent_again(
    session_factory: sessionmaker[Session],
) -> None:
    [customer] = _customers(session_factory, 1)
    message_id = _queue(session_factory, customer, "sms")
    with unit_of_work(session_factory) as session:  # what a claim leaves when the process dies next
        row = session.get(Notification, message_id)
        assert row is not None
        row.state, row.sent_at, row.confirm_by = "sent", T0, T0 + timedelta(minutes=30)
        row.next_poll_at = T0 + timedelta(minutes=2)
    provider = SimulatedProvider(seed=1, failed=0, unconfirmed=0, clock=lambda: T0)
    assert send_queued(session_factory, provider, [message_id], now=T0, addresses=Addresses()) == 0
    later = T0 + timedelta(minutes=31)
    provider.clock = lambda: later
    report = sweep_notifications(session_factory, provider, now=later)
    assert provider.sends == {} and report.unconfirmed == 1 and report.flagged == 1
    assert _rows(session_factory)[message_id].state == "unconfirmed"


def test_an_outage_puts_the_message_back_and_it_is_sent_later(
    session_factory: sessionmaker[Session],
) -> None:
    [customer] = _customers(session_factory, 1)
    message_id = _queue(session_factory, customer, "push")
    provider = SimulatedProvider(seed=1, failed=0, unconfirmed=0, down=True, clock=lambda: T0)
    assert send_queued(session_factory, provider, [message_id], now=T0, addresses=Addresses()) == 0
    assert _rows(session_factory)[message_id].state == "queued"
    provider.down = False
    assert send_queued(session_factory, provider, [message_id], now=T0, addresses=Addresses()) == 1
    assert _rows(session_factory)[message_id].state == "sent" and provider.sends == {message_id: 1}


def _faults(factory: sessionmaker[Session]) -> list[LenderFault]:
    with unit_of_work(factory, read_only=True) as session:
        rows = list(session.scalars(select(LenderFault)))
        session.expunge_all()
        return rows


def test_a_reminder_delivered_on_no_channel_opens_one_fault_and_one_delivered_on_push_none(
    session_factory: sessionmaker[Session],
) -> None:
    lost, told = _customers(session_factory, 2)
    clock = [T0]
    provider = SimulatedProvider(seed=3, failed=0, unconfirmed=0, lost_receipt=0, clock=lambda: clock[0])
    ids = [
        _queue(session_factory, lost, "sms", group="reminder:a"),
        _queue(session_factory, lost, "push", group="reminder:a"),
        _queue(session_factory, told, "sms", group="reminder:b"),
        _queue(session_factory, told, "push", group="reminder:b"),
    ]
    send_queued(
        session_factory, provider, ids[:2], now=T0, addresses=Addresses(sms="fail:BLOCKED", push="fail:")
    )
    send_queued(session_factory, provider, ids[2:], now=T0, addresses=Addresses(sms="fail:UNREACHABLE"))
    for minutes in (1, 10, 31, 40):
        clock[0] = T0 + timedelta(minutes=minutes)
        sweep_notifications(session_factory, provider, now=clock[0])
    rows = _rows(session_factory)
    assert [rows[i].state for i in ids] == ["failed", "failed", "failed", "delivered"]
    assert rows[ids[0]].failure_code == "BLOCKED"
    [fault] = _faults(session_factory)
    assert fault.kind == FaultKind.REMINDER_UNDELIVERED.value and fault.customer_id == lost
    assert fault.starts_on == DUE and fault.ends_on == DUE + timedelta(days=DeliveryPolicy().fault_days)
    assert fault_notices(session_factory, lost) == [
        f"【lendcore】因我方原因，自{chinese_date(DUE)}起您的借款不会因此产生罚息或逾期记录，"
        "详情请登录 App 查看。"
    ]
    assert fault_notices(session_factory, told) == []
    assert rows[ids[0]].fault_id == rows[ids[1]].fault_id == fault.id and rows[ids[2]].fault_id is None
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Notification).where(
            Notification.flagged_at.is_not(None))) == 3  # fmt: skip


def test_an_sms_goes_to_the_phone_on_file_and_only_its_mask_is_stored_or_logged(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    phone = make_phone()
    with unit_of_work(session_factory) as session:
        customer = register(session, phone=phone).id
    sink = DevelopmentSink()
    payload = {"customer_id": customer, "template": "repayment_failed", "amount": 5_000}
    with caplog.at_level(logging.INFO, logger="lendcore.notify"):
        notify_customer(session_factory, sink, payload, "k", now=T0, addresses=CustomerAddresses(CIPHER))
    rows = {r.channel: r for r in _rows(session_factory).values()}
    assert set(rows) == {"push", "sms"} and rows["sms"].recipient_masked == mask_phone(phone)
    assert sink.sent[rows["sms"].id].address == phone  # the provider needs the number …
    assert phone not in caplog.text and mask_phone(phone) in caplog.text  # … nobody else sees it
    without_keys = CustomerAddresses()  # no cipher: no SMS (never an SMS that cannot be addressed)
    with unit_of_work(session_factory, read_only=True) as session:
        found = session.get(Customer, customer)
        assert found is not None and without_keys.channels(found, ["sms", "push"]) == ["push"]


def test_four_senders_send_every_message_once(session_factory: sessionmaker[Session]) -> None:
    customers = _customers(session_factory, 20)
    ids = [_queue(session_factory, c, "push") for c in customers]
    provider = SimulatedProvider(seed=5, failed=0, unconfirmed=0, clock=lambda: T0)
    policy = DeliveryPolicy(senders=4)
    assert send_queued(session_factory, provider, ids, now=T0, addresses=Addresses(), policy=policy) == 20
    assert send_queued(session_factory, provider, ids, now=T0, addresses=Addresses(), policy=policy) == 0
    assert provider.sends == {i: 1 for i in ids}
    assert {r.state for r in _rows(session_factory).values()} == {"sent"}
