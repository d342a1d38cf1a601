"""A payment in flight has deadlines: query when the callback is late, back off, raise at the SLA."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ValidationError
from lendcore.payments.deadlines import DeadlinePolicy, deadlines, is_past_sla, next_query_at, query_interval

AT = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
POLICY = DeadlinePolicy(
    callback_timeout=timedelta(minutes=2),
    first_query_interval=timedelta(minutes=1),
    backoff_factor=2,
    max_query_interval=timedelta(minutes=30),
    sla=timedelta(hours=2),
)


def test_the_first_query_is_due_when_the_callback_is_late_and_the_sla_counts_from_submission() -> None:
    due = deadlines(AT, POLICY)
    assert due.timeout_at == AT + timedelta(minutes=2)
    assert due.next_query_at == due.timeout_at
    assert due.sla_at == AT + timedelta(hours=2)


def test_queries_back_off_exponentially_up_to_the_cap() -> None:
    assert [query_interval(n, POLICY) for n in range(7)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 30, 30)
    ]
    assert next_query_at(1, AT, POLICY) == AT + timedelta(minutes=1)
    assert next_query_at(3, AT, POLICY) == AT + timedelta(minutes=4)


@given(st.integers(0, 10_000))
def test_the_query_interval_never_shrinks_and_never_exceeds_the_cap(attempts: int) -> None:
    interval = query_interval(attempts, POLICY)
    assert POLICY.first_query_interval <= interval <= POLICY.max_query_interval
    assert query_interval(attempts + 1, POLICY) >= interval


def test_a_payment_is_past_its_sla_from_the_sla_instant_on() -> None:
    sla_at = AT + timedelta(hours=2)
    assert not is_past_sla(sla_at, sla_at - timedelta(seconds=1))
    assert is_past_sla(sla_at, sla_at)
    assert not is_past_sla(None, AT)


@pytest.mark.parametrize(
    "changes",
    [{"sla": timedelta(0)}, {"backoff_factor": 0}, {"max_query_interval": timedelta(seconds=1)}],
)
def test_a_policy_that_cannot_work_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        replace(POLICY, **changes)
    assert caught.value.code == "INVALID_DEADLINE_POLICY"
