"""The simulation's settings (:class:`SimConfig`, with the collection side in :class:`CollectConfig`)
and what a run reports (:class:`SimReport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

#: The default faults: every kind the channel can act out, often enough to meet each one many times.
DEFAULT_FAULTS: Final = (
    "settle_after=600,callback_delay=60,lost_callback=0.15,duplicate_callback=0.15,out_of_order=0.1,"
    "late_success=0.05,late_after=86400,hang=0.03,slow=0.03,wrong_amount=0.02,false_failure=0.01,"
    "insufficient_funds=0.06,card_frozen=0.02,limit_exceeded=0.01,bank_maintenance=0.02,"
    "statement_missing=0.03,statement_mismatch=0.02,statement_extra=1"
)


@dataclass(frozen=True, slots=True)
class CollectConfig:
    """Autopay, reminders and scheduled repayments in the world (:mod:`lendcore.simulation.collect`)."""

    mandate_rate: float = 0.3  # customers with an autopay mandate on a primary card
    fallback_rate: float = 0.5  # of those, with a fallback card mandated too
    missed_run_rate: float = 0.05  # business days on which the autopay scheduler never runs
    reminders: bool = True  # the reminders.run job every morning, delivered by the simulated provider
    reminder_failed: float = 0.05  # a reminder the provider reports failed
    reminder_unconfirmed: float = 0.05  # … accepted and never confirmed
    reminder_lost_receipt: float = 0.1  # … delivered, but only polling finds out
    scheduled_rate: float = 0.1  # customers who book each installment ahead (预约还款)
    cancel_rate: float = 0.2  # of their bookings, cancelled before the take date (then paid by hand)
    # Mandate holders also pay by hand and book ahead, racing autopay. Until main's 5473580 a manual
    # repayment settling after an autopay debit had paid the contract was NOTHING_TO_PAY →
    # settlement_unbookable and halted the close; now the surplus is customer credit. False keeps
    # autopay alone collecting from mandate holders (the world before that fix).
    mandate_holders_pay_too: bool = True


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 0
    customers: int = 20
    days: int = 30
    # business dates are the simulated clock's dates (Asia/Shanghai): jobs are stamped with the wall
    # clock (outbox), so the start must lie after today (simulate refuses one that does not)
    start: date = date(2030, 1, 7)
    faults: str = DEFAULT_FAULTS
    kill_rate: float = 0.05
    outage_rate: float = 0.05
    double_tap_rate: float = 0.05
    key_reuse_rate: float = 0.02
    collect: CollectConfig = field(default_factory=CollectConfig)


@dataclass
class SimReport:
    seed: int
    days: int = 0
    operations: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    checks: int = 0
    met: dict[str, int] = field(default_factory=dict)  # what the run met, counted at the end
    seconds: float = 0.0

    def count(self, what: str, n: int = 1) -> None:
        self.operations[what] = self.operations.get(what, 0) + n

    @property
    def total_operations(self) -> int:
        return sum(self.operations.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "days": self.days,
            "operations": dict(sorted(self.operations.items())),
            "total_operations": self.total_operations,
            "checks": self.checks,
            "met": dict(sorted(self.met.items())),
            "violations": list(self.violations),
            "seconds": round(self.seconds, 2),
        }
