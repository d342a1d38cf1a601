"""The channel simulator's logic, without HTTP: what the channel does with each request, and when.

Deterministic: a payment's fate (its outcome, failure code, callbacks and their faults, its statement
fault) is drawn from a random generator seeded with ``(seed, payment id)``, always drawing the same
numbers in the same order, so it depends on nothing else: not on the order of requests, not on other
payments, not on the other fault probabilities. Per-request latency is drawn from ``(seed, request
number)``. Time comes from ``clock`` (seconds, like :func:`time.time`), injected for tests, and
outage windows are measured from the simulator's start.

An account token ``fail:<CODE>`` makes that payment fail with ``CODE`` whatever the faults say.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from lendcore.core.errors import ValidationError
from lendcore.payments import wire
from lendcore.payments.adapter import Accepted, ChannelStatus
from lendcore.payments.callbacks import Callback, callback_to_json
from lendcore.payments.channel import PaymentInstruction
from lendcore.payments.sim.faults import NO_FAULTS, FaultSpec
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.payments.statement import Statement, StatementRow

BUSINESS_TZ: Final = ZoneInfo("Asia/Shanghai")
#: What a false failure (``false_failure``) is reported with: the channel's own error, not the payer's.
FALSE_FAILURE_REPORT: Final = "SYSTEM_ERROR"


@dataclass(frozen=True, slots=True)
class PlannedCallback:
    at: float
    callback: Callback


@dataclass(frozen=True, slots=True)
class Plan:
    """A payment's fate, fixed when the channel accepts it."""

    state: PaymentState  # the final state: succeeded or failed (the truth: the statement's)
    failure_code: str | None
    settle_at: float
    answer_delay: float  # a hung or slow submit answer (seconds)
    callbacks: tuple[PlannedCallback, ...]
    statement_fault: str | None  # "missing" | "mismatch" | None
    reported: PaymentState  # what callbacks and queries say: ``state``, but a false failure's FAILED
    reported_code: str | None

    @property
    def falsely_failed(self) -> bool:
        return self.reported is not self.state


@dataclass(frozen=True, slots=True)
class SimPayment:
    instruction: PaymentInstruction
    reference: str
    accepted_at: float
    callback_url: str | None
    plan: Plan


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer to give after ``delay`` seconds."""

    status: int
    body: dict[str, Any]
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """A callback to POST to ``url``; ``attempt`` counts redeliveries."""

    url: str
    callback: Callback
    attempt: int = 0

    @property
    def body(self) -> bytes:
        return json.dumps(callback_to_json(self.callback), separators=(",", ":")).encode()


def instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _refuse(status: int, code: str, message: str, delay: float = 0.0) -> Reply:
    return Reply(status, {"code": code, "message": message}, delay)


@dataclass
class ChannelSimulation:
    seed: int = 0
    faults: FaultSpec = NO_FAULTS
    clock: Callable[[], float] = time.time
    name: str = "simulator"
    started: float = field(init=False)
    requests: int = field(init=False, default=0)
    payments: dict[str, SimPayment] = field(init=False, default_factory=dict)
    _outbox: list[tuple[float, int, Delivery]] = field(init=False, default_factory=list)
    _queued: int = field(init=False, default=0)  # ties in the outbox keep their queueing order
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.started = self.clock()

    # --- randomness -------------------------------------------------------------------------------
    def _rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(str(p) for p in (self.seed, *parts)))

    def reference_for(self, payment_id: str) -> str:
        return "sim_" + hashlib.sha256(f"{self.seed}|{payment_id}".encode()).hexdigest()[:24]

    def _latency(self) -> float:
        low, high = self.faults.latency
        self.requests += 1
        return low if high <= low else self._rng("latency", self.requests).uniform(low, high)

    def _outage(self, now: float, latency: float) -> Reply | None:
        if not self.faults.in_outage(now - self.started):
            return None
        delay = latency + (self.faults.hang_for if self.faults.outage_mode == "hang" else 0.0)
        return _refuse(503, "BANK_MAINTENANCE", "the channel is in an outage", delay)

    def plan(self, instruction: PaymentInstruction, accepted_at: float) -> Plan:
        """The fate of a payment accepted at ``accepted_at`` (see the module docstring)."""
        f = self.faults
        rng = self._rng(instruction.payment_id)
        draw = {
            name: rng.random()
            for name in (
                "fail",
                "hang",
                "slow",
                "lost",
                "duplicate",
                "stale",
                "late",
                "wrong",
                "missing",
                "mismatch",
                "false",  # drawn last: adding it left every other draw of a seed as it was
            )
        }
        code = _failure_code(f, draw["fail"])
        if instruction.account_token.startswith("fail:"):
            code = instruction.account_token[5:] or "DECLINED"
        state = PaymentState.FAILED if code else PaymentState.SUCCEEDED
        late = state is PaymentState.SUCCEEDED and draw["late"] < f.late_success
        falsely = (
            state is PaymentState.SUCCEEDED
            and instruction.direction is PaymentDirection.INBOUND
            and draw["false"] < f.false_failure
        )
        reported, reported_code = (PaymentState.FAILED, FALSE_FAILURE_REPORT) if falsely else (state, code)
        settle_at = accepted_at + f.settle_after + (f.late_after if late else 0.0)
        delay = f.hang_for if draw["hang"] < f.hang else f.slow_for if draw["slow"] < f.slow else 0.0
        reference = self.reference_for(instruction.payment_id)
        amount = instruction.amount + (f.wrong_amount_by if draw["wrong"] < f.wrong_amount else 0)
        final = Callback(
            event_id=f"evt_{reference}_1",
            payment_id=instruction.payment_id,
            channel_reference=reference,
            state=reported,
            amount=amount,
            failure_code=reported_code,
            occurred_at=instant(settle_at),
            sequence=1,
        )
        at = settle_at + f.callback_delay
        callbacks: list[PlannedCallback] = []
        if draw["lost"] >= f.lost_callback:
            callbacks.append(PlannedCallback(at, final))
            if draw["duplicate"] < f.duplicate_callback:
                callbacks.append(PlannedCallback(at, final))  # a redelivery: the same event id
        if draw["stale"] < f.out_of_order:
            stale = Callback(
                f"evt_{reference}_0",
                instruction.payment_id,
                reference,
                PaymentState.PROCESSING,
                instruction.amount,
                occurred_at=instant(accepted_at),
                sequence=0,
            )
            callbacks.append(PlannedCallback(at, stale))  # queued after the final one: arrives later
        fault = "missing" if draw["missing"] < f.statement_missing else None
        fault = fault or ("mismatch" if draw["mismatch"] < f.statement_mismatch else None)
        return Plan(state, code, settle_at, delay, tuple(callbacks), fault, reported, reported_code)

    # --- the API ------------------------------------------------------------------------------------
    def submit(self, data: dict[str, Any]) -> Reply:
        with self._lock:
            now = self.clock()
            latency = self._latency()
            refused = self._outage(now, latency)
            if refused is not None:
                return refused
            try:
                instruction = wire.instruction_from_json(data)
            except ValidationError as error:
                return _refuse(422, "INVALID_INSTRUCTION", error.message, latency)
            callback_url = data.get("callback_url") if isinstance(data.get("callback_url"), str) else None
            known = self.payments.get(instruction.payment_id)
            if known is not None:
                if known.instruction != instruction:
                    return _refuse(409, "ORDER_NUMBER_REUSED", "another instruction had this id", latency)
                return Reply(202, self._accepted(known), latency)
            plan = self.plan(instruction, now)
            payment = SimPayment(
                instruction, self.reference_for(instruction.payment_id), now, callback_url, plan
            )
            self.payments[instruction.payment_id] = payment
            if callback_url:
                for planned in plan.callbacks:
                    self._enqueue(planned.at, Delivery(callback_url, planned.callback))
            return Reply(202, self._accepted(payment), latency + plan.answer_delay)

    def _accepted(self, payment: SimPayment) -> dict[str, Any]:
        accepted = Accepted(
            payment.instruction.payment_id, payment.reference, accepted_at=instant(payment.accepted_at)
        )
        return wire.accepted_to_json(accepted)

    def status(self, payment: SimPayment, now: float) -> ChannelStatus:
        settled = now >= payment.plan.settle_at
        return ChannelStatus(
            payment_id=payment.instruction.payment_id,
            channel_reference=payment.reference,
            state=payment.plan.reported if settled else PaymentState.PROCESSING,
            amount=payment.instruction.amount,
            settled_at=instant(payment.plan.settle_at) if settled else None,
            failure_code=payment.plan.reported_code if settled else None,
        )

    def query(self, payment_id: str) -> Reply:
        with self._lock:
            now = self.clock()
            latency = self._latency()
            refused = self._outage(now, latency)
            if refused is not None:
                return refused
            payment = self.payments.get(payment_id)
            if payment is None:
                return _refuse(404, "PAYMENT_UNKNOWN_TO_CHANNEL", f"no payment {payment_id}", latency)
            return Reply(200, wire.status_to_json(self.status(payment, now)), latency)

    # --- callbacks ----------------------------------------------------------------------------------
    def _enqueue(self, at: float, delivery: Delivery) -> None:
        self._queued += 1
        heapq.heappush(self._outbox, (at, self._queued, delivery))

    def due_callbacks(self, now: float | None = None) -> list[Delivery]:
        """Remove and return the callbacks due by ``now`` (default: the clock), in sending order."""
        with self._lock:
            now = self.clock() if now is None else now
            due: list[Delivery] = []
            while self._outbox and self._outbox[0][0] <= now:
                due.append(heapq.heappop(self._outbox)[2])
            return due

    def next_callback_at(self) -> float | None:
        with self._lock:
            return self._outbox[0][0] if self._outbox else None

    def redeliver(self, delivery: Delivery, at: float) -> None:
        """Queue a callback again (the receiver did not acknowledge it), as real channels do."""
        with self._lock:
            self._enqueue(at, Delivery(delivery.url, delivery.callback, delivery.attempt + 1))

    # --- statements ---------------------------------------------------------------------------------
    def statement(self, day: date) -> Statement:
        """The statement of ``day`` (Asia/Shanghai): payments that reached their final state that day,
        with the spec's statement faults."""
        with self._lock:
            start = datetime.combine(day, datetime.min.time(), BUSINESS_TZ).timestamp()
            end = start + 86_400
            rows: list[StatementRow] = []
            for payment in sorted(self.payments.values(), key=lambda p: (p.plan.settle_at, p.reference)):
                plan = payment.plan
                if not start <= plan.settle_at < end or plan.statement_fault == "missing":
                    continue
                amount = payment.instruction.amount + (1 if plan.statement_fault == "mismatch" else 0)
                rows.append(
                    StatementRow(
                        payment.reference,
                        payment.instruction.payment_id,
                        payment.instruction.direction,
                        amount,
                        plan.state,
                        instant(plan.settle_at),
                        plan.failure_code,
                    )
                )
            rows.extend(self._extra_rows(day, start))
            return Statement(self.name, day, tuple(rows))

    def _extra_rows(self, day: date, start: float) -> list[StatementRow]:
        rows = []
        for number in range(self.faults.statement_extra):
            rng = self._rng("extra", day.isoformat(), number)
            payment_id = f"pay_SIMEXTRA{rng.getrandbits(40):012X}"
            rows.append(
                StatementRow(
                    self.reference_for(payment_id),
                    payment_id,
                    PaymentDirection.INBOUND,
                    rng.randint(100, 1_000_000),
                    PaymentState.SUCCEEDED,
                    instant(start + rng.uniform(0, 86_399)),
                )
            )
        return rows


def _failure_code(faults: FaultSpec, draw: float) -> str | None:
    cumulative = 0.0
    for code, weight in faults.failure_weights():
        cumulative += weight
        if draw < cumulative:
            return code
    return None
