"""The payment state machine: created → processing → succeeded / failed / reversed.

Every payment, inbound (a repayment) or outbound (a disbursement), moves only along these edges.
Terminal states are final except ``succeeded → reversed`` (a chargeback or a returned transfer).
A payment is never deleted or rewound: a wrong success is corrected by a reversal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from lendcore.core.errors import BusinessRuleError


class PaymentState(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REVERSED = "reversed"


class PaymentDirection(StrEnum):
    INBOUND = "inbound"  # customer → lender (repayment)
    OUTBOUND = "outbound"  # lender → customer or merchant (disbursement)


ALLOWED: Final[dict[PaymentState, frozenset[PaymentState]]] = {
    PaymentState.CREATED: frozenset({PaymentState.PROCESSING, PaymentState.FAILED}),
    PaymentState.PROCESSING: frozenset({PaymentState.SUCCEEDED, PaymentState.FAILED}),
    PaymentState.SUCCEEDED: frozenset({PaymentState.REVERSED}),
    PaymentState.FAILED: frozenset(),
    PaymentState.REVERSED: frozenset(),
}


def transition(current: PaymentState, target: PaymentState) -> PaymentState:
    """Return ``target`` if the edge exists; a repeat of the current state is a no-op (idempotent)."""
    if target == current:
        return current
    if target not in ALLOWED[current]:
        raise BusinessRuleError(
            f"a payment cannot go from {current} to {target}",
            code="PAYMENT_STATE_INVALID",
            current=str(current),
            target=str(target),
        )
    return target
