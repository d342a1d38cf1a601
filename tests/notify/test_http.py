"""The provider simulator as a real loopback service and the HTTP sink that speaks to it: messages sent
once each, receipts pushed and statuses pulled over HTTP end in the fate the seed draws; an outage
puts a message back, an unreachable provider is "did not arrive". SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.notify.delivery import queue_message, send_queued, sweep_notifications
from lendcore.notify.http import HttpSink, provider_app
from lendcore.notify.simulated import SimulatedProvider, draw_fate
from lendcore.notify.sinks import OutboundMessage, SinkUnavailableError
from lendcore.store.engine import unit_of_work
from lendcore.store.models_notify import Notification
from tests.api.conftest import serve
from tests.servicing.support import new_customer

T0 = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
EXPECTED = {"delivered": "delivered", "failed": "failed", "never_confirmed": "unconfirmed"}


def _queue(factory: sessionmaker[Session], n: int) -> list[str]:
    with unit_of_work(factory) as session:
        ids = []
        for i in range(n):
            row, _ = queue_message(
                session, customer_id=new_customer(session), channel="push", template="reminder_due",
                fields={"amount": 100 + i, "due_date": "2026-04-01"}, dedupe_key=f"http:{i}", now=T0,
            )  # fmt: skip
            ids.append(row.id)
        return ids


def test_over_http_each_message_is_sent_once_and_ends_in_its_seeded_fate(
    session_factory: sessionmaker[Session],
) -> None:
    clock = [T0]
    provider = SimulatedProvider(
        seed=11, failed=0.25, unconfirmed=0.25, lost_receipt=0.4, clock=lambda: clock[0]
    )
    ids = _queue(session_factory, 24)
    with serve(provider_app(provider)) as url:
        sink = HttpSink(url)
        try:
            provider.down = True
            assert send_queued(session_factory, sink, ids[:1], now=T0) == 0  # 503: back to queued
            provider.down = False
            assert send_queued(session_factory, sink, ids, now=T0) == 24
            assert send_queued(session_factory, sink, ids, now=T0) == 0  # nothing twice
            for minutes in (1, 3, 7, 15, 31):
                clock[0] = T0 + timedelta(minutes=minutes)
                sweep_notifications(session_factory, sink, now=clock[0])
            assert sink.status("ntf_unknown").state == "sent"  # never reached it: not a failure
        finally:
            sink.close()
    with unit_of_work(session_factory, read_only=True) as session:
        states = dict(session.execute(select(Notification.id, Notification.state)).all())
    assert all(states[i] == EXPECTED[draw_fate(11, i, 0.25, 0.25, 0.4).outcome] for i in ids)
    assert set(states.values()) == {"delivered", "failed", "unconfirmed"}
    assert provider.sends == {i: 1 for i in ids}


def test_an_unreachable_provider_is_did_not_arrive() -> None:
    sink = HttpSink("http://127.0.0.1:1", timeout=2)
    with pytest.raises(SinkUnavailableError):
        sink.send(OutboundMessage("ntf_x", "push", "app:cus_x", "text"))
    sink.close()
