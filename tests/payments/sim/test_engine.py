"""The channel simulator's behaviour, in process with a clock of our own: deterministic given the seed
and the requests, and every fault does what the spec says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lendcore.payments.sim.engine import ChannelSimulation, Delivery
from lendcore.payments.sim.faults import parse_faults
from lendcore.payments.state import PaymentState

START = datetime(2026, 11, 22, 1, 0, tzinfo=UTC).timestamp()


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now


def instruction(n: int, amount: int = 10_000, token: str = "tok") -> dict[str, Any]:
    return {"payment_id": f"pay_{n:04d}", "direction": "inbound", "amount": amount, "account_token": token,
            "callback_url": "http://us.test/cb"}  # fmt: skip


def simulation(faults: str = "", seed: int = 7) -> tuple[ChannelSimulation, Clock]:
    clock = Clock()
    return ChannelSimulation(seed=seed, faults=parse_faults(faults), clock=clock), clock


def run(sim: ChannelSimulation, clock: Clock, requests: list[tuple[str, int]]) -> list[Any]:
    """Play a request sequence; everything observable: answers, callbacks, the statement."""
    seen: list[Any] = []
    for operation, n in requests:
        clock.now += 1
        reply = sim.submit(instruction(n)) if operation == "submit" else sim.query(f"pay_{n:04d}")
        seen.append((reply.status, reply.body, reply.delay))
    clock.now += 10_000
    seen.append([(d.url, d.body) for d in sim.due_callbacks()])
    seen.append(sim.statement(date(2026, 11, 22)))
    return seen


FAULTS = "latency=0-0.3,lost_callback=0.3,duplicate_callback=0.3,out_of_order=0.3,insufficient_funds=0.2,"
FAULTS += "late_success=0.2,late_after=60,wrong_amount=0.2,hang=0.1,statement_missing=0.2,statement_extra=2"


@settings(max_examples=30)
@given(
    st.lists(st.tuples(st.sampled_from(["submit", "query"]), st.integers(0, 9)), max_size=25),
    st.integers(0, 99),
)
def test_the_same_seed_and_requests_give_the_same_channel(requests: list[tuple[str, int]], seed: int) -> None:
    first = run(*simulation(FAULTS, seed), requests)
    second = run(*simulation(FAULTS, seed), requests)
    assert first == second


def test_a_payments_fate_does_not_depend_on_other_payments_or_their_order() -> None:
    sim_a, _clock_a = simulation(FAULTS)
    sim_b, _clock_b = simulation(FAULTS)
    for n in range(20):
        sim_a.submit(instruction(n))
    for n in reversed(range(20)):
        sim_b.submit(instruction(n))
    for n in range(20):
        a, b = sim_a.payments[f"pay_{n:04d}"].plan, sim_b.payments[f"pay_{n:04d}"].plan
        assert (a.state, a.failure_code, a.answer_delay, a.statement_fault) == (
            b.state, b.failure_code, b.answer_delay, b.statement_fault,
        )  # fmt: skip
        assert [p.callback for p in a.callbacks] == [p.callback for p in b.callbacks]


def test_without_faults_a_payment_is_accepted_processing_then_succeeds_with_one_callback() -> None:
    sim, clock = simulation("settle_after=5")
    reply = sim.submit(instruction(1))
    assert reply.status == 202 and reply.body["state"] == "processing" and reply.delay == 0
    assert sim.query("pay_0001").body["state"] == "processing"
    assert sim.due_callbacks() == []
    clock.now += 5
    assert sim.query("pay_0001").body["state"] == "succeeded"
    [delivery] = sim.due_callbacks()
    assert (delivery.callback.state, delivery.callback.amount, delivery.url) == (
        PaymentState.SUCCEEDED, 10_000, "http://us.test/cb",
    )  # fmt: skip


def test_resubmitting_a_payment_id_gives_the_same_acceptance_and_another_instruction_is_refused() -> None:
    sim, _clock = simulation()
    first = sim.submit(instruction(1))
    assert sim.submit(instruction(1)).body == first.body
    assert sim.submit(instruction(1, amount=5)).status == 409
    assert len(sim.due_callbacks()) == 1  # one payment, one callback


def test_failure_codes_and_fail_tokens() -> None:
    sim, _clock = simulation("card_frozen=1")
    sim.submit(instruction(1))
    sim.submit(instruction(2, token="fail:LIMIT_EXCEEDED"))
    assert sim.query("pay_0001").body["failure_code"] == "CARD_FROZEN"
    assert sim.query("pay_0002").body["failure_code"] == "LIMIT_EXCEEDED"
    assert sim.query("pay_0003").status == 404


def callbacks_of(faults: str, n: int = 1) -> list[Delivery]:
    sim, clock = simulation(faults)
    sim.submit(instruction(n))
    clock.now += 100_000
    return sim.due_callbacks()


def test_callback_faults_lose_duplicate_reorder_and_misstate_the_amount() -> None:
    assert callbacks_of("lost_callback=1") == []
    duplicated = callbacks_of("duplicate_callback=1")
    assert len(duplicated) == 2 and duplicated[0].callback == duplicated[1].callback
    final, stale = callbacks_of("out_of_order=1")
    assert (final.callback.state, stale.callback.state) == (PaymentState.SUCCEEDED, PaymentState.PROCESSING)
    assert stale.callback.sequence < final.callback.sequence
    [wrong] = callbacks_of("wrong_amount=1,wrong_amount_by=7")
    assert wrong.callback.amount == 10_007


def test_a_late_success_stays_processing_past_late_after() -> None:
    sim, clock = simulation("late_success=1,late_after=600")
    sim.submit(instruction(1))
    clock.now += 599
    assert sim.query("pay_0001").body["state"] == "processing" and sim.due_callbacks() == []
    clock.now += 1
    assert sim.query("pay_0001").body["state"] == "succeeded"
    assert [d.callback.state for d in sim.due_callbacks()] == [PaymentState.SUCCEEDED]


def test_a_false_failure_is_reported_failed_while_its_statement_says_the_money_was_taken() -> None:
    """Callbacks and queries say failed (the channel's own error); the statement, the truth, says
    succeeded. Only inbound payments: a failure the customer is told of, money that left them."""
    sim, clock = simulation("false_failure=1")
    sim.submit(instruction(1))
    clock.now += 1
    assert (sim.query("pay_0001").body["state"], sim.query("pay_0001").body["failure_code"]) == (
        "failed",
        "SYSTEM_ERROR",
    )
    [told] = sim.due_callbacks()
    assert (told.callback.state, told.callback.failure_code) == (PaymentState.FAILED, "SYSTEM_ERROR")
    [row] = sim.statement(date(2026, 11, 22)).rows
    assert (row.state, row.failure_code, row.amount) == (PaymentState.SUCCEEDED, None, 10_000)
    assert sim.payments["pay_0001"].plan.falsely_failed
    sim, clock = simulation("false_failure=1,insufficient_funds=1")  # a real failure is not a lie
    sim.submit(instruction(1))
    assert not sim.payments["pay_0001"].plan.falsely_failed
    sim, clock = simulation("false_failure=1")
    sim.submit({**instruction(2), "direction": "outbound"})
    assert not sim.payments["pay_0002"].plan.falsely_failed


def test_hung_and_slow_submits_are_accepted_but_answered_late() -> None:
    sim, _ = simulation("hang=1,hang_for=300")
    reply = sim.submit(instruction(1))
    assert reply.delay == 300 and "pay_0001" in sim.payments  # accepted: the payment exists
    sim, _ = simulation("slow=1,slow_for=7,latency=0.5")
    assert sim.submit(instruction(1)).delay == 7.5


def test_in_an_outage_window_every_call_fails_and_nothing_is_accepted() -> None:
    sim, clock = simulation("outage=10-20")
    sim.submit(instruction(1))
    clock.now += 10
    assert sim.submit(instruction(2)).status == 503 and "pay_0002" not in sim.payments
    assert sim.query("pay_0001").body["code"] == "BANK_MAINTENANCE"
    clock.now += 10
    assert sim.query("pay_0001").status == 200
    sim, clock = simulation("outage=0-5,outage_mode=hang,hang_for=30")
    assert sim.submit(instruction(1)).delay == 30


def test_statement_faults_leave_out_misstate_and_invent_rows() -> None:
    sim, _ = simulation("statement_missing=1")
    sim.submit(instruction(1))
    assert sim.statement(date(2026, 11, 22)).rows == ()
    sim, _clock = simulation("statement_mismatch=1,statement_extra=2")
    sim.submit(instruction(1))
    statement = sim.statement(date(2026, 11, 22))
    ours, *extra = statement.rows
    assert ours.amount == 10_001 and len(extra) == 2
    assert all(row.payment_id not in sim.payments for row in extra)
    assert sim.statement(date(2026, 11, 23)).rows[0].payment_id != "pay_0001"  # another day, only extras


def test_a_redelivered_callback_is_queued_again() -> None:
    sim, clock = simulation()
    sim.submit(instruction(1))
    [delivery] = sim.due_callbacks()
    sim.redeliver(delivery, clock.now + 2)
    assert sim.due_callbacks() == []
    clock.now += 2
    [again] = sim.due_callbacks()
    assert again.attempt == 1 and again.callback == delivery.callback
