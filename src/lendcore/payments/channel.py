"""What lendcore needs from a payment channel (bank, card network, wallet).

A channel takes an instruction with lendcore's own unique reference and answers with its result.
``query`` must be safe to call any number of times: it is how a payment stuck in processing is
resolved rather than left hanging.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lendcore.core.money import Fen
from lendcore.payments.state import PaymentDirection, PaymentState


@dataclass(frozen=True, slots=True)
class PaymentInstruction:
    payment_id: str  # lendcore's id, sent to the channel as the merchant order number
    direction: PaymentDirection
    amount: Fen
    account_token: str  # an opaque reference to the bound card, never the card number itself


@dataclass(frozen=True, slots=True)
class ChannelResult:
    state: PaymentState  # PROCESSING, SUCCEEDED or FAILED
    channel_reference: str  # the channel's own unique reference
    settled_at: datetime | None = None
    failure_reason: str | None = None


class PaymentChannel(Protocol):
    name: str

    def submit(self, instruction: PaymentInstruction, at: datetime) -> ChannelResult: ...

    def query(self, payment_id: str, at: datetime) -> ChannelResult: ...
