"""A simulated SMS / push provider with seeded delivery fates (for tests, benchmarks and rehearsals).

Like the channel simulator (``payments/sim``), each message's fate is drawn from a generator seeded
with ``(seed, message id)`` and nothing else, so it does not depend on other messages or on the order
of calls:

| fate | what the provider does |
|---|---|
| ``delivered`` | accepts; after ``receipt_after`` a delivery receipt is pushed, the status says so |
| ``delivered_silently`` (``lost_receipt``) | as delivered, but no receipt is pushed: only polling finds it |
| ``failed`` (``failed``) | accepts; after ``receipt_after`` a failure receipt: ``UNREACHABLE``, ``BLOCKED`` |
| ``never_confirmed`` (``unconfirmed``) | accepts and then says nothing: the status stays ``sent`` for ever |

An address ``fail:<CODE>`` always fails with ``CODE``; ``down=True`` makes every send raise
:class:`~lendcore.notify.sinks.SinkUnavailableError` (an outage). A message sent again with the same id is
the same message (counted in ``sends`` but not delivered twice: ``deliveries`` counts what reached a
phone).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lendcore.notify.sinks import (
    DeliveryReport,
    OutboundMessage,
    SendResult,
    SendState,
    SinkUnavailableError,
)
from lendcore.store.types import utc_now

FAILURE_DRAWS = ("UNREACHABLE", "BLOCKED")


@dataclass(frozen=True, slots=True)
class Fate:
    outcome: str  # delivered | failed | never_confirmed
    receipt: bool  # a receipt is pushed
    failure_code: str | None = None


def draw_fate(seed: int, message_id: str, failed: float, unconfirmed: float, lost_receipt: float) -> Fate:
    """The fate of one message (pure: the same arguments give the same fate)."""
    rng = random.Random(f"{seed}:{message_id}")
    roll, receipt_roll, code = rng.random(), rng.random(), rng.choice(FAILURE_DRAWS)
    if roll < failed:
        return Fate("failed", True, code)
    if roll < failed + unconfirmed:
        return Fate("never_confirmed", False)
    return Fate("delivered", receipt_roll >= lost_receipt)


@dataclass
class SimulatedProvider:
    seed: int = 0
    failed: float = 0.05
    unconfirmed: float = 0.05
    lost_receipt: float = 0.1
    receipt_after: timedelta = timedelta(seconds=5)
    clock: Callable[[], datetime] = utc_now
    down: bool = False
    name: str = "simulator"
    accepted: dict[str, tuple[datetime, Fate]] = field(default_factory=dict)
    sends: dict[str, int] = field(default_factory=dict)
    _pushed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for p in (self.failed, self.unconfirmed, self.lost_receipt):
            if not 0 <= p <= 1:
                raise ValueError("a probability is between 0 and 1")
        if self.failed + self.unconfirmed > 1:
            raise ValueError("failed + unconfirmed is at most 1")

    def _fate(self, message: OutboundMessage) -> Fate:
        if message.address.startswith("fail:"):
            return Fate("failed", True, message.address.removeprefix("fail:") or "UNREACHABLE")
        return draw_fate(self.seed, message.message_id, self.failed, self.unconfirmed, self.lost_receipt)

    def send(self, message: OutboundMessage) -> SendResult:
        if self.down:
            raise SinkUnavailableError("the notification provider is unavailable")
        self.sends[message.message_id] = self.sends.get(message.message_id, 0) + 1
        if message.message_id not in self.accepted:
            self.accepted[message.message_id] = (self.clock(), self._fate(message))
        return SendResult(message.message_id, f"sim_{message.message_id}", "sent")

    @property
    def deliveries(self) -> int:
        return sum(1 for _, fate in self.accepted.values() if fate.outcome == "delivered")

    def _report(self, message_id: str, at: datetime) -> DeliveryReport:
        accepted_at, fate = self.accepted[message_id]
        done = accepted_at + self.receipt_after
        if fate.outcome == "never_confirmed" or at < done:
            return DeliveryReport(message_id, "sent", provider_message_id=f"sim_{message_id}")
        state: SendState = "delivered" if fate.outcome == "delivered" else "failed"
        return DeliveryReport(message_id, state, done, fate.failure_code, f"sim_{message_id}")

    def status(self, message_id: str) -> DeliveryReport:
        if message_id not in self.accepted:  # never reached us: still "sent" as far as anyone knows
            return DeliveryReport(message_id, "sent")
        return self._report(message_id, self.clock())

    def receipts(self) -> list[DeliveryReport]:
        now, out = self.clock(), []
        for message_id, (_, fate) in sorted(list(self.accepted.items())):
            if message_id in self._pushed or not fate.receipt:
                continue
            report = self._report(message_id, now)
            if report.state != "sent":
                self._pushed.add(message_id)
                out.append(report)
        return out
