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


# --- what a source tells us, and what we do with it ----------------------------------------------
#
# A payment learns its fate from several sources that race each other: the answer to our submit, the
# channel's callbacks (which may arrive twice, late, or out of order), our own queries, the daily
# statement file and, last, an operator. :func:`decide` is the one rule that says what an observation
# does to a payment, whatever its source. It never moves a terminal state backwards and never flips
# a failed payment to succeeded (or the reverse) by itself: that contradiction is a discrepancy for
# operations, because money may have moved while we told the customer it did not.


class EventSource(StrEnum):
    """Where the knowledge behind a payment event came from (``payment_events.source``)."""

    REQUEST = "request"  # the use case that created the payment record
    SUBMIT = "submit"  # the channel's answer to our instruction
    CALLBACK = "callback"  # a signed notification from the channel
    QUERY = "query"  # our own status query (the stuck-payment sweeper)
    STATEMENT = "statement"  # the channel's daily statement file
    OPERATOR = "operator"  # a member of staff, with a reason


class Verdict(StrEnum):
    """What :func:`decide` makes of one observation."""

    APPLY = "apply"  # move the payment to the observed state
    DUPLICATE = "duplicate"  # the payment is already in that state: record, change nothing
    STALE = "stale"  # older news than what we know (processing after final): ignore
    DISCREPANCY = "discrepancy"  # contradicts a terminal state: raise to operations, change nothing


TERMINAL: Final = frozenset({PaymentState.SUCCEEDED, PaymentState.FAILED, PaymentState.REVERSED})

#: Contradictions that are raised to operations, by (what we hold, what was observed).
DISCREPANCY_KINDS: Final[dict[tuple[PaymentState, PaymentState], str]] = {
    (PaymentState.FAILED, PaymentState.SUCCEEDED): "late_success_after_failure",
    (PaymentState.SUCCEEDED, PaymentState.FAILED): "failure_after_success",
    (PaymentState.FAILED, PaymentState.REVERSED): "reversal_of_failed_payment",
    (PaymentState.REVERSED, PaymentState.FAILED): "failure_after_reversal",
}


def decide(current: PaymentState, observed: PaymentState) -> tuple[Verdict, str | None]:
    """The verdict on observing ``observed`` while the payment is ``current``, with the discrepancy
    kind when there is one.

    * the same state again → DUPLICATE (a retried callback is harmless);
    * an allowed edge, or ``created → succeeded`` (the channel's callback can overtake our record
      of its answer to the submit: it goes through ``processing``) → APPLY;
    * ``created`` or ``processing`` observed on a payment that already moved on → STALE (an
      out-of-order callback or a query answered before a callback we already applied);
    * ``succeeded`` on a reversed payment → STALE (the reversal is the newer fact);
    * any other contradiction of a terminal state → DISCREPANCY (never applied silently).
    """
    if observed == current:
        return Verdict.DUPLICATE, None
    if path(current, observed):
        return Verdict.APPLY, None
    if observed in (PaymentState.CREATED, PaymentState.PROCESSING):
        return Verdict.STALE, None
    if current is PaymentState.REVERSED and observed is PaymentState.SUCCEEDED:
        return Verdict.STALE, None
    kind = DISCREPANCY_KINDS.get((current, observed), f"{observed}_while_{current}")
    return Verdict.DISCREPANCY, kind


def path(current: PaymentState, target: PaymentState) -> tuple[PaymentState, ...]:
    """The states a payment passes through from ``current`` to ``target`` (``target`` last), or ``()``
    when there is no way there. One edge, or two through ``processing``."""
    if target in ALLOWED[current]:
        return (target,)
    if PaymentState.PROCESSING in ALLOWED[current] and target in ALLOWED[PaymentState.PROCESSING]:
        return (PaymentState.PROCESSING, target)
    return ()
