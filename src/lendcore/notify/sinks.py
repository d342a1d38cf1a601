"""Notification sinks: where SMS and push messages go, behind one narrow interface.

A sink is to a notification provider what an httpx transport is to the network (the seam
``payments/adapter.py`` follows for channels): three synchronous calls, never made inside a database
transaction (:mod:`lendcore.notify.delivery` commits first, calls, then records the answer).

* ``send(message) -> SendResult``: hand one message over. ``message.message_id`` is our notification id:
  a provider keys the message by it, so a status can be asked by our id even when the answer to the
  send was lost. The result is ``sent`` (accepted, delivery to be confirmed), ``delivered`` (a sink that
  knows at once, like the development sink) or ``failed`` with a code. Raises
  :class:`SinkUnavailableError` when the message certainly did not arrive (connection refused, 503:
  it is sent again later) and :class:`SinkTimeoutError` when it may have (it is then tracked as sent).
* ``status(message_id) -> DeliveryReport``: pulled status (``sent`` while unknown). Safe to repeat.
* ``receipts() -> list[DeliveryReport]``: the delivery receipts the provider pushed since the last call
  (a real provider POSTs them to us; the HTTP endpoint hands them to the same recorder).

:class:`DevelopmentSink` "delivers" by logging the text (PII masked) and answering ``delivered``;
:class:`~lendcore.notify.simulated.SimulatedProvider` acts out a real provider with seeded fates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, Protocol

from lendcore.security.pii import mask_text

log = logging.getLogger("lendcore.notify")

SendState = Literal["sent", "delivered", "failed"]
#: Failure codes a provider reports (ours; a real adapter maps its own onto them).
FAILURE_CODES: Final = ("NO_ADDRESS", "UNREACHABLE", "BLOCKED", "INVALID_ADDRESS", "EXPIRED")


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    message_id: str
    channel: str  # sms | push
    address: str  # a phone number (sms) or a device/app token (push): never stored, never logged
    text: str


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    provider_message_id: str | None
    state: SendState
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    message_id: str
    state: SendState
    at: datetime | None = None
    failure_code: str | None = None
    provider_message_id: str | None = None


class SinkError(Exception):
    may_have_arrived: bool = False


class SinkUnavailableError(SinkError):
    """The message did not reach the provider: send it again later."""


class SinkTimeoutError(SinkError):
    """No answer: the message may have reached the provider (tracked as sent, polled)."""

    may_have_arrived = True


class NotificationSink(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> SendResult: ...

    def status(self, message_id: str) -> DeliveryReport: ...

    def receipts(self) -> list[DeliveryReport]: ...


@dataclass
class DevelopmentSink:
    """Development only: logs each message (masked) and calls it delivered; ``sent`` keeps them."""

    name: str = "development"
    sent: dict[str, OutboundMessage] = field(default_factory=dict)

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent[message.message_id] = message
        log.info(
            "development notification sink: %s %s to %s: %s",
            message.channel,
            message.message_id,
            mask_text(message.address),
            mask_text(message.text),
        )
        return SendResult(message.message_id, f"dev_{message.message_id}", "delivered")

    def status(self, message_id: str) -> DeliveryReport:
        state: SendState = "delivered" if message_id in self.sent else "sent"
        return DeliveryReport(message_id, state)

    def receipts(self) -> list[DeliveryReport]:
        return []
