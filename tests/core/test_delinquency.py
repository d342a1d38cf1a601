"""Delinquency: DPD from the oldest unpaid installment, M-buckets, 五级分类, write-off eligibility."""

from __future__ import annotations

from datetime import date

import pytest

from lendcore.core.accrual import accrue
from lendcore.core.delinquency import (
    Bucket,
    ClassificationThresholds,
    LoanClass,
    assess,
    bucket,
    classify,
    days_past_due,
    write_off_eligible,
)
from lendcore.core.errors import ConfigurationError
from lendcore.core.loan import Repayment
from tests.core.loan_factory import book_many, disbursed, installment_terms, revolving_terms


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, Bucket.CURRENT),
        (1, Bucket.M1),
        (30, Bucket.M1),
        (31, Bucket.M2),
        (60, Bucket.M2),
        (61, Bucket.M3),
        (150, Bucket.M5),
        (151, Bucket.M6),
        (180, Bucket.M6),
        (181, Bucket.M7_PLUS),
        (1000, Bucket.M7_PLUS),
    ],
)
def test_buckets_are_thirty_day_bands_up_to_m7_plus(dpd: int, expected: Bucket) -> None:
    assert bucket(dpd) is expected


def test_bucket_bureau_digits() -> None:
    assert [b.bureau_digit for b in Bucket] == ["N", "1", "2", "3", "4", "5", "6", "7"]


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, LoanClass.NORMAL),
        (1, LoanClass.SPECIAL_MENTION),
        (90, LoanClass.SPECIAL_MENTION),
        (91, LoanClass.SUBSTANDARD),
        (270, LoanClass.SUBSTANDARD),
        (271, LoanClass.DOUBTFUL),
        (360, LoanClass.DOUBTFUL),
        (361, LoanClass.LOSS),
    ],
)
def test_five_level_classification_defaults(dpd: int, expected: LoanClass) -> None:
    assert classify(dpd) is expected


def test_classification_thresholds_are_configurable_and_validated() -> None:
    strict = ClassificationThresholds(
        special_mention_over=0, substandard_over=60, doubtful_over=180, loss_over=270
    )
    assert classify(61, strict) is LoanClass.SUBSTANDARD
    assert classify(61) is LoanClass.SPECIAL_MENTION
    with pytest.raises(ConfigurationError) as caught:
        ClassificationThresholds(substandard_over=300)
    assert caught.value.code == "INVALID_CLASSIFICATION_THRESHOLDS"


def test_write_off_after_the_configured_days() -> None:
    assert not write_off_eligible(180)
    assert write_off_eligible(181)
    assert write_off_eligible(91, after_days=90)


def test_dpd_counts_from_the_day_after_the_oldest_unpaid_due_date() -> None:
    terms = installment_terms()  # row 1 due Feb 15, row 2 Mar 15
    state = disbursed(terms).state
    assert days_past_due(state, date(2026, 2, 15)) == 0  # the due day is not overdue
    assert days_past_due(state, date(2026, 2, 16)) == 1
    assert days_past_due(state, date(2026, 3, 20)) == 33  # from row 1 (Feb 15), not row 2 (Mar 15)


def test_paying_the_oldest_installment_moves_dpd_to_the_next_unpaid_one() -> None:
    terms = installment_terms()
    on = date(2026, 3, 20)
    row1_due = accrue(disbursed(terms).state, on)[0].rows[0].outstanding
    book = book_many(disbursed(terms), Repayment("r", on, 1, row1_due))
    assert book.state.rows[0].outstanding == 0
    assert days_past_due(book.state, on) == 5  # row 2, due Mar 15
    cured = book_many(book, Repayment("r2", on, 2, book.state.rows[1].outstanding))
    result = assess(cured.state, on)
    assert (result.dpd, result.bucket, result.loan_class) == (0, Bucket.CURRENT, LoanClass.NORMAL)


def test_a_revolving_contract_is_overdue_only_after_maturity() -> None:
    state = disbursed(revolving_terms(maturity=date(2026, 4, 1))).state
    assert days_past_due(state, date(2026, 3, 31)) == 0
    late = assess(accrue(state, date(2026, 7, 1))[0], date(2026, 7, 1))
    assert late.dpd == 91
    assert (late.bucket, late.loan_class, late.write_off_eligible) == (
        Bucket.M4,
        LoanClass.SUBSTANDARD,
        False,
    )
