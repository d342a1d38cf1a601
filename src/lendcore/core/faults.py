"""Lender-fault windows (pure): days on which a customer must not be charged for being late.

A :class:`FaultWindow` says that from ``starts_on`` to ``ends_on`` (inclusive; open-ended while
``ends_on`` is None) something on our side failed: an autopay that did not run, a reminder not
delivered, a payment left past its SLA, a channel outage, or an operator's judgement. Its scope is one
contract, one customer (all their contracts), or everyone (both None: a channel outage).

:func:`in_lender_fault` is the one predicate the daily close (penalty waived, overdue status
suppressed) and, later, bureau reporting ask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from lendcore.core.errors import ValidationError

#: How long a window opened for something we failed to do (an autopay run, a 预约还款 take, by default a
#: reminder delivered) lasts after the day it was found: the customer pays another way meanwhile.
MISSED_FAULT_DAYS: Final = 7


class FaultKind(StrEnum):
    AUTOPAY_MISSED = "autopay_missed"
    REMINDER_UNDELIVERED = "reminder_undelivered"
    PAYMENT_PAST_SLA = "payment_past_sla"
    CHANNEL_OUTAGE = "channel_outage"
    MANUAL = "manual"
    SCHEDULED_MISSED = "scheduled_missed"  # a booked repayment (预约还款) we never took


@dataclass(frozen=True, slots=True)
class FaultWindow:
    fault_id: str
    kind: FaultKind
    starts_on: date
    ends_on: date | None = None  # None: still open
    contract_id: str | None = None
    customer_id: str | None = None

    def __post_init__(self) -> None:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValidationError(
                f"a fault window cannot end ({self.ends_on}) before it starts ({self.starts_on})",
                code="FAULT_WINDOW_INVALID",
            )

    def covers(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)

    def applies_to(self, contract_id: str, customer_id: str) -> bool:
        if self.contract_id is not None:
            return self.contract_id == contract_id
        if self.customer_id is not None:
            return self.customer_id == customer_id
        return True  # everyone (a channel outage)


def in_lender_fault(
    windows: Iterable[FaultWindow], *, contract_id: str, customer_id: str, on: date
) -> FaultWindow | None:
    """The first window (by start, then id) covering ``on`` for this contract, or None."""
    matching = [w for w in windows if w.covers(on) and w.applies_to(contract_id, customer_id)]
    return min(matching, key=lambda w: (w.starts_on, w.fault_id)) if matching else None
