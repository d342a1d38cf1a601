"""Collection contact rules: debtor only, no contact 22:00–08:00 Shanghai unless agreed, ≤ 3
connected calls a day; the queue by bucket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lendcore.core.collection_rules import (
    SHANGHAI,
    Channel,
    ContactAttempt,
    QueueBucket,
    Refusal,
    judge,
    queue_bucket,
)
from lendcore.core.errors import ValidationError


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=SHANGHAI)


def test_a_call_at_22_30_shanghai_is_refused_unless_agreed() -> None:
    call = ContactAttempt("cus_1", Channel.CALL, _at(22, 30))
    assert judge(call, 0) is Refusal.QUIET_HOURS
    agreed = ContactAttempt("cus_1", Channel.CALL, _at(22, 30), quiet_hours_agreed=True)
    assert judge(agreed, 0) is None


def test_quiet_hours_are_shanghai_time_whatever_zone_the_moment_is_given_in() -> None:
    # 14:30 UTC is 22:30 in Shanghai; 00:30 UTC is 08:30
    assert judge(ContactAttempt("cus_1", Channel.SMS, datetime(2026, 3, 2, 14, 30, tzinfo=UTC)), 0) is (
        Refusal.QUIET_HOURS
    )
    assert judge(ContactAttempt("cus_1", Channel.SMS, datetime(2026, 3, 2, 0, 30, tzinfo=UTC)), 0) is None
    with pytest.raises(ValidationError) as err:
        judge(ContactAttempt("cus_1", Channel.SMS, datetime(2026, 3, 2, 10, 0)), 0)
    assert err.value.code == "NAIVE_TIMESTAMP"


@pytest.mark.parametrize(
    ("hour", "minute", "refused"),
    [(7, 59, True), (8, 0, False), (21, 59, False), (22, 0, True), (0, 0, True), (12, 0, False)],
)
def test_the_quiet_window_edges(hour: int, minute: int, refused: bool) -> None:
    outcome = judge(ContactAttempt("cus_1", Channel.LETTER, _at(hour, minute)), 0)
    assert (outcome is Refusal.QUIET_HOURS) is refused


def test_the_fourth_connected_call_of_the_day_is_refused_but_an_sms_is_not() -> None:
    assert judge(ContactAttempt("cus_1", Channel.CALL, _at(15)), 2) is None
    assert judge(ContactAttempt("cus_1", Channel.CALL, _at(15)), 3) is Refusal.CALL_LIMIT
    assert judge(ContactAttempt("cus_1", Channel.SMS, _at(15)), 3) is None


def test_only_the_debtor_is_contacted() -> None:
    assert judge(ContactAttempt("cus_1", Channel.CALL, _at(10), to_debtor=False), 0) is Refusal.NOT_DEBTOR


@pytest.mark.parametrize(
    ("dpd", "queue"),
    [
        (0, None),
        (1, QueueBucket.M1),
        (30, QueueBucket.M1),
        (31, QueueBucket.M2),
        (60, QueueBucket.M2),
        (61, QueueBucket.M3_PLUS),
        (400, QueueBucket.M3_PLUS),
    ],
)
def test_queue_bucket_by_dpd(dpd: int, queue: QueueBucket | None) -> None:
    assert queue_bucket(dpd) is queue
