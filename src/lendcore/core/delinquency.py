"""Delinquency: days past due, M-buckets, five-level classification (五级分类), write-off eligibility.

Days past due (DPD) are counted from the oldest installment still unpaid after its due date: the due
day itself ends at 23:59:59 and is not overdue, so DPD 1 is the day after the due date. A row counts as
unpaid while any principal, interest, fee or penalty of it is owed. Pass a state accrued (replayed) to
the date asked about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import pairwise

from lendcore.core.contract import LoanState, Status
from lendcore.core.errors import ConfigurationError


def days_past_due(state: LoanState, on: date) -> int:
    """DPD of the contract on ``on`` (0 when current, closed or not yet disbursed)."""
    if state.status not in (Status.ACTIVE, Status.WRITTEN_OFF):
        return 0
    row = state.oldest_overdue_row(on)  # a written-off contract keeps its rows as they were
    return 0 if row is None else (on - row.due_date).days


class Bucket(StrEnum):
    """Delinquency buckets; the digit is the bureau's repayment-status digit (N = current)."""

    CURRENT = "M0"
    M1 = "M1"  # DPD 1–30
    M2 = "M2"  # 31–60
    M3 = "M3"  # 61–90
    M4 = "M4"  # 91–120
    M5 = "M5"  # 121–150
    M6 = "M6"  # 151–180
    M7_PLUS = "M7+"  # over 180

    @property
    def bureau_digit(self) -> str:
        return "N" if self is Bucket.CURRENT else self.value[1]


_BUCKETS = (Bucket.M1, Bucket.M2, Bucket.M3, Bucket.M4, Bucket.M5, Bucket.M6)


def bucket(dpd: int) -> Bucket:
    """M-bucket of a DPD: 0 → M0, 1–30 → M1, …, 151–180 → M6, over 180 → M7+."""
    if dpd <= 0:
        return Bucket.CURRENT
    if dpd > 180:
        return Bucket.M7_PLUS
    return _BUCKETS[(dpd - 1) // 30]


class LoanClass(StrEnum):
    """Five-level loan classification (贷款五级分类), in increasing severity."""

    NORMAL = "正常"
    SPECIAL_MENTION = "关注"
    SUBSTANDARD = "次级"
    DOUBTFUL = "可疑"
    LOSS = "损失"


@dataclass(frozen=True, slots=True)
class ClassificationThresholds:
    """A contract is at least the class whose threshold its DPD *exceeds* (defaults: any overdue is
    关注, over 90 days 次级, over 270 可疑, over 360 损失)."""

    special_mention_over: int = 0
    substandard_over: int = 90
    doubtful_over: int = 270
    loss_over: int = 360

    def __post_init__(self) -> None:
        steps = (self.special_mention_over, self.substandard_over, self.doubtful_over, self.loss_over)
        if steps[0] < 0 or any(b <= a for a, b in pairwise(steps)):
            raise ConfigurationError(
                "classification thresholds must be non-negative and strictly increasing",
                code="INVALID_CLASSIFICATION_THRESHOLDS",
            )


DEFAULT_THRESHOLDS = ClassificationThresholds()


def classify(dpd: int, thresholds: ClassificationThresholds = DEFAULT_THRESHOLDS) -> LoanClass:
    if dpd > thresholds.loss_over:
        return LoanClass.LOSS
    if dpd > thresholds.doubtful_over:
        return LoanClass.DOUBTFUL
    if dpd > thresholds.substandard_over:
        return LoanClass.SUBSTANDARD
    if dpd > thresholds.special_mention_over:
        return LoanClass.SPECIAL_MENTION
    return LoanClass.NORMAL


def write_off_eligible(dpd: int, after_days: int = 180) -> bool:
    """A contract may be written off once its DPD exceeds ``after_days`` (configured per product)."""
    return dpd > after_days


@dataclass(frozen=True, slots=True)
class Delinquency:
    dpd: int
    bucket: Bucket
    loan_class: LoanClass
    write_off_eligible: bool


def assess(
    state: LoanState,
    on: date,
    thresholds: ClassificationThresholds = DEFAULT_THRESHOLDS,
    write_off_after_days: int = 180,
) -> Delinquency:
    dpd = days_past_due(state, on)
    return Delinquency(
        dpd, bucket(dpd), classify(dpd, thresholds), write_off_eligible(dpd, write_off_after_days)
    )
