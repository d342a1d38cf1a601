"""The simulator as an HTTP service: in process (ASGI) and as a real process on loopback, with a real
callback receiver in front of the database."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.payments.adapter import ChannelTimeoutError, PaymentUnknownToChannelError
from lendcore.payments.callbacks import verify
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.http_channel import HttpChannel
from lendcore.payments.sim.app import create_app, deliver
from lendcore.payments.sim.engine import BUSINESS_TZ, ChannelSimulation, Delivery
from lendcore.payments.sim.faults import parse_faults
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.submit import submit_payment
from lendcore.payments.sweeper import sweep_stuck_payments
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Payment
from lendcore.store.models_jobs import Job
from lendcore.store.models_payments import PaymentEvent
from lendcore.store.types import utc_now
from tests.payments.sim.service import callback_receiver, simulator_process
from tests.payments.support import recorded_payment

WAIT_SECONDS = 60.0


def instruction(n: int, token: str = "tok") -> PaymentInstruction:
    return PaymentInstruction(f"pay_{n:04d}", PaymentDirection.INBOUND, 10_000 + n, token)


# --- in process -----------------------------------------------------------------------------------


def test_the_service_answers_the_wire_format_in_process() -> None:
    simulation = ChannelSimulation(seed=3, faults=parse_faults("card_frozen=1"))
    transport = httpx.ASGITransport(app=create_app(simulation, deliver_callbacks=False))

    async def scenario() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return [
                await client.get("/health"),
                await client.post("/v1/payments", json={"payment_id": "pay_1", "direction": "inbound",
                                                        "amount": 500, "account_token": "t"}),
                await client.get("/v1/payments/pay_1"),
                await client.get("/v1/payments/pay_2"),
                await client.post("/v1/payments", content=b"[]"),
                await client.get("/v1/statements/2026-13-01"),
            ]  # fmt: skip

    health, accepted, status, unknown, bad, bad_day = asyncio.run(scenario())
    assert health.json()["seed"] == 3 and accepted.status_code == 202
    assert status.json()["failure_code"] == "CARD_FROZEN" and unknown.status_code == 404
    assert bad.status_code == 422 and bad_day.status_code == 422


def test_a_callback_is_signed_with_every_secret_and_redelivered_until_acknowledged() -> None:
    simulation = ChannelSimulation(seed=1)
    simulation.submit({"payment_id": "pay_1", "direction": "inbound", "amount": 500, "account_token": "t",
                       "callback_url": "http://us.test/cb"})  # fmt: skip
    [delivery] = simulation.due_callbacks()
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(500 if len(received) == 1 else 200)

    async def send(item: Delivery) -> bool:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            return await deliver(simulation, client, item, ["new", "old"], max_redeliveries=3)

    assert not asyncio.run(send(delivery))
    [again] = simulation.due_callbacks(simulation.clock() + 10)
    assert again.attempt == 1 and asyncio.run(send(again))
    for request in received:
        verify(request.headers, request.content, ["old"], utc_now())  # either secret verifies


# --- a real process on loopback ----------------------------------------------------------------------


def settled_view(url: str, count: int) -> list[tuple[str, str, str | None]]:
    with HttpChannel(url) as channel:
        for n in range(count):
            channel.submit(instruction(n))
        statuses = [channel.query(f"pay_{n:04d}") for n in range(count)]
    return [(s.channel_reference, s.state.value, s.failure_code) for s in statuses]


def test_the_simulator_process_is_deterministic_given_the_seed_and_the_requests() -> None:
    faults = "insufficient_funds=0.3,card_frozen=0.2,latency=0-0.01"
    with simulator_process("--seed", "42", "--faults", faults) as first_url:
        first = settled_view(first_url, 12)
    with simulator_process("--seed", "42", "--faults", faults) as second_url:
        second = settled_view(second_url, 12)
    with simulator_process("--seed", "43", "--faults", faults) as other_url:
        other = settled_view(other_url, 12)
    assert first == second and first != other
    assert {state for _, state, _ in first} == {"succeeded", "failed"}


def test_a_hung_submit_times_out_on_the_client_but_the_channel_has_the_payment() -> None:
    with simulator_process("--faults", "hang=1,hang_for=30") as url:
        with HttpChannel(url, timeout=0.5) as channel, pytest.raises(ChannelTimeoutError):
            channel.submit(instruction(1))
        with HttpChannel(url) as channel:
            status = channel.query("pay_0001")
            assert status.state is PaymentState.SUCCEEDED and status.settled_at is not None
            with pytest.raises(PaymentUnknownToChannelError):
                channel.query("pay_0002")
            statement = channel.statement(status.settled_at.astimezone(BUSINESS_TZ).date())
    assert [row.payment_id for row in statement.rows] == ["pay_0001"]


def _all_final(factory: sessionmaker[Session], ids: list[str]) -> bool:
    with unit_of_work(factory, read_only=True) as session:
        states = session.scalars(select(Payment.state).where(Payment.id.in_(ids))).all()
    return all(state in ("succeeded", "failed") for state in states)


def test_payments_through_the_real_simulator_all_resolve_once_whatever_the_callback_faults(
    session_factory: sessionmaker[Session],
) -> None:
    """Submit after commit, callbacks signed over HTTP into the receiver (duplicated, reordered,
    lost), the sweeper's queries for the lost ones: every payment ends final, entered once."""
    secrets = ["s-new", "s-old"]
    ids = [recorded_payment(session_factory, amount=10_000 + n) for n in range(10)]
    faults = "duplicate_callback=0.5,out_of_order=0.5,lost_callback=0.3,insufficient_funds=0.2"
    with callback_receiver(session_factory, ["s-old"]) as receiver_url, simulator_process(
        "--seed", "11", "--faults", faults, "--callback-url", receiver_url, "--secret", secrets[0],
        "--secret", secrets[1],
    ) as sim_url, HttpChannel(sim_url) as channel:  # fmt: skip
        for payment_id in ids:
            submit_payment(session_factory, channel, payment_id, "tok_1")
        deadline = time.monotonic() + WAIT_SECONDS
        while not _all_final(session_factory, ids):
            assert time.monotonic() < deadline, "payments left unresolved"
            sweep_stuck_payments(session_factory, channel, now=utc_now() + timedelta(minutes=3))
            time.sleep(0.1)
    with unit_of_work(session_factory, read_only=True) as session:
        transitions = session.execute(
            select(PaymentEvent.payment_id, PaymentEvent.to_state, func.count())
            .where(PaymentEvent.kind == "transition")
            .group_by(PaymentEvent.payment_id, PaymentEvent.to_state)
        ).all()
        sources = set(session.scalars(select(PaymentEvent.source).where(PaymentEvent.kind == "transition")))
        settled_jobs = session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "payment.settled")
        )
        failures = set(session.scalars(select(Payment.failure_code).where(Payment.state == "failed")))
    assert all(n == 1 for _, _, n in transitions)
    assert settled_jobs == len(ids)
    assert {"submit", "callback"} <= sources
    assert failures <= {"INSUFFICIENT_FUNDS"}
