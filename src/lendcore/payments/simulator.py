"""A channel that confirms every instruction at once, for the embedded demo and the tests.

It is deterministic: the channel reference is derived from lendcore's payment id, so resubmitting
the same payment gives the same reference (the real channels behave the same way with merchant
order numbers, and the unique constraint on channel references relies on it). An account token that
starts with ``fail:`` is declined, so failure paths can be exercised without a fake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from lendcore.core.errors import NotFoundError
from lendcore.payments.channel import ChannelResult, PaymentInstruction
from lendcore.payments.state import PaymentState


@dataclass
class InstantSimulator:
    name: str = "simulator"
    _results: dict[str, ChannelResult] = field(default_factory=dict)

    def submit(self, instruction: PaymentInstruction, at: datetime) -> ChannelResult:
        if instruction.payment_id in self._results:
            return self._results[instruction.payment_id]
        reference = "sim_" + hashlib.sha256(instruction.payment_id.encode()).hexdigest()[:20]
        if instruction.account_token.startswith("fail:"):
            result = ChannelResult(
                PaymentState.FAILED, reference, failure_reason=instruction.account_token[5:] or "declined"
            )
        else:
            result = ChannelResult(PaymentState.SUCCEEDED, reference, settled_at=at)
        self._results[instruction.payment_id] = result
        return result

    def query(self, payment_id: str, at: datetime) -> ChannelResult:
        try:
            return self._results[payment_id]
        except KeyError:
            raise NotFoundError(
                f"the channel has no payment {payment_id}", code="PAYMENT_UNKNOWN_TO_CHANNEL"
            ) from None
