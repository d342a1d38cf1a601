"""Schedule specs name instants in Asia/Shanghai: intervals anchored at midnight, cron fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.errors import ValidationError
from lendcore.jobs.schedule import BUSINESS_TZ, Cron, Every, instants, parse_schedule


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BUSINESS_TZ)


def test_autopay_runs_at_09_30_and_15_30_shanghai_time() -> None:
    found = instants(parse_schedule("30 9,15 * * *"), local("2026-11-22T00:00"), local("2026-11-23T23:59"))
    assert [t.astimezone(BUSINESS_TZ).strftime("%d %H:%M") for t in found] == [
        "22 09:30", "22 15:30", "23 09:30", "23 15:30",
    ]  # fmt: skip
    assert found[0] == datetime(2026, 11, 22, 1, 30, tzinfo=UTC)


def test_an_interval_is_anchored_at_local_midnight_so_every_process_agrees() -> None:
    spec = parse_schedule("every 5m")
    assert spec == Every(timedelta(minutes=5))
    found = instants(spec, local("2026-11-22T10:02:13"), local("2026-11-22T10:17"))
    assert [t.astimezone(BUSINESS_TZ).strftime("%H:%M") for t in found] == ["10:05", "10:10", "10:15"]


def test_the_window_is_open_at_the_start_and_closed_at_the_end() -> None:
    spec = parse_schedule("0 10 * * *")
    assert instants(spec, local("2026-11-22T10:00"), local("2026-11-23T10:00")) == [local("2026-11-23T10:00")]
    assert instants(spec, local("2026-11-22T10:00"), local("2026-11-22T10:00")) == []


def test_cron_fields_ranges_steps_lists_and_days() -> None:
    spec = parse_schedule("*/20 8-10/2 1,15 * 1-5")
    assert isinstance(spec, Cron)
    assert spec.minutes == {0, 20, 40} and spec.hours == {8, 10}
    # both day fields restricted: the 1st, the 15th, or any weekday (cron's rule)
    assert spec.runs_on(local("2026-11-01T00:00").date())  # a Sunday, but the 1st
    assert spec.runs_on(local("2026-11-23T00:00").date())  # a Monday
    assert not spec.runs_on(local("2026-11-22T00:00").date())  # a Sunday, the 22nd
    sundays = parse_schedule("0 0 * * 0")
    assert isinstance(sundays, Cron) and sundays == parse_schedule("0 0 * * 7")


@pytest.mark.parametrize(
    "text", ["", "every", "every 0s", "every 2d", "every 25h", "* * * *", "60 * * * *", "* 24 * * *",
             "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "a b c d e"],
)  # fmt: skip
def test_a_bad_spec_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_schedule(text)
    assert caught.value.code == "INVALID_SCHEDULE"


@given(
    st.sampled_from(["every 1m", "every 7m", "every 1h", "30 9,15 * * *", "*/15 * * * *", "5 0 * * *"]),
    st.integers(0, 3 * 86_400),
    st.integers(1, 2 * 86_400),
)
def test_splitting_a_window_never_loses_or_repeats_an_instant(text: str, offset: int, length: int) -> None:
    spec = parse_schedule(text)
    start = local("2026-11-22T00:00") + timedelta(seconds=offset)
    middle, end = start + timedelta(seconds=length // 2), start + timedelta(seconds=length)
    assert instants(spec, start, middle) + instants(spec, middle, end) == instants(spec, start, end)
