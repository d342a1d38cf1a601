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
from datetime import date, timedelta
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


def fault_span(
    windows: Iterable[FaultWindow], *, contract_id: str, customer_id: str, on: date
) -> FaultWindow | None:
    """The run of this contract's windows that overlap or touch, as one window: the run covering ``on``,
    else the last run that ended before it; None if no window of the contract started by ``on``.

    What a window gives back is measured from its start, against every waiver since: two windows one
    after the other (a payment past its SLA, then an undelivered reminder the next day) measured
    apart count the first one's waivers against the second one's days, and the customer pays the
    difference (the 1,000,000-operation simulation found it). Their run, one window from the first
    start to the last end, counts every day once. The run carries the id and kind of the window that
    answers for ``on`` (the first covering it, else the last to end), whose waivers name it.
    """
    mine = sorted(
        (w for w in windows if w.starts_on <= on and w.applies_to(contract_id, customer_id)),
        key=lambda w: (w.starts_on, w.fault_id),
    )
    runs: list[list[FaultWindow]] = []
    for window in mine:
        if runs and _touches(runs[-1], window):
            runs[-1].append(window)
        else:
            runs.append([window])
    if not runs:
        return None
    run = runs[-1]  # every window starts by ``on``: the last run covers it or is the last to end
    ends = [w.ends_on for w in run]
    ends_on = None if None in ends else max(e for e in ends if e is not None)
    answering = in_lender_fault(run, contract_id=contract_id, customer_id=customer_id, on=on) or max(
        run, key=lambda w: (w.ends_on or w.starts_on, w.fault_id)
    )
    return FaultWindow(
        answering.fault_id,
        answering.kind,
        run[0].starts_on,
        ends_on,
        answering.contract_id,
        answering.customer_id,
    )


def _touches(run: list[FaultWindow], window: FaultWindow) -> bool:
    ends = [w.ends_on for w in run]
    return None in ends or window.starts_on <= max(e for e in ends if e is not None) + timedelta(days=1)
