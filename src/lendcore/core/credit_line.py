"""The credit line's one rule: what may still be drawn (可用额度, DESIGN.md invariant 3).

    available = credit limit − outstanding principal − pending drawdowns, never below 0,
                and 0 unless the line is active (a frozen or closed line lends nothing).

Outstanding principal counts every contract that still uses the line (active and written-off
contracts: a write-off does not give the limit back); pending drawdowns are contracts signed but not
yet disbursed, which hold the limit until their payout settles or fails. Every caller (the line
views, the drawdown use case, the drawdown risk check) computes availability here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lendcore.core.money import Fen


class LineStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"  # no new drawdowns; repayments continue
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class LineUsage:
    """What a line is lending: principal outstanding and drawdowns not yet paid out (fen)."""

    outstanding_principal: Fen
    pending_drawdowns: Fen

    @property
    def used(self) -> Fen:
        return self.outstanding_principal + self.pending_drawdowns


def available_limit(credit_limit: Fen, status: LineStatus | str, usage: LineUsage) -> Fen:
    """What may still be drawn on a line (see the module docstring)."""
    if LineStatus(status) is not LineStatus.ACTIVE:
        return 0
    return max(0, credit_limit - usage.used)
