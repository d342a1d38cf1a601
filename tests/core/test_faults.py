"""A contract's windows that overlap or touch are one run (``fault_span``): every day of the run is
covered by one of them, the run covering a day exists exactly when a window covers it, and it is
answered for by the first window covering that day."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from lendcore.core.faults import FaultKind, FaultWindow, fault_span, in_lender_fault

D = date(2026, 4, 1)

windows = st.lists(
    st.tuples(
        st.integers(0, 30),
        st.one_of(st.none(), st.integers(0, 6)),
        st.sampled_from(["c1", "u1", None, "c2", "u2"]),
    ),
    max_size=6,
).map(
    lambda specs: [
        FaultWindow(
            f"flt_{n}",
            FaultKind.MANUAL,
            D + timedelta(days=start),
            None if length is None else D + timedelta(days=start + length),
            contract_id=scope if scope and scope.startswith("c") else None,
            customer_id=scope if scope and scope.startswith("u") else None,
        )
        for n, (start, length, scope) in enumerate(specs)
    ]
)


@given(windows=windows, on=st.integers(0, 40).map(lambda n: D + timedelta(days=n)))
def test_the_run_is_the_contracts_touching_windows_and_has_no_uncovered_day(
    windows: list[FaultWindow], on: date
) -> None:
    span = fault_span(windows, contract_id="c1", customer_id="u1", on=on)
    mine = [w for w in windows if w.applies_to("c1", "u1") and w.starts_on <= on]
    assert (span is None) == (not mine)
    if span is None:
        return
    covering = in_lender_fault(windows, contract_id="c1", customer_id="u1", on=on)
    assert span.covers(on) == (covering is not None)
    if covering is not None:
        assert span.fault_id == covering.fault_id
    last = on if span.ends_on is None else min(span.ends_on, on)
    day = span.starts_on
    while day <= last:  # no day of the run is outside every window
        assert any(w.covers(day) for w in mine), day
        day += timedelta(days=1)
    for window in mine:  # a window touching the run is in it
        ends = window.ends_on or on
        if window.starts_on <= last + timedelta(days=1) and ends >= span.starts_on - timedelta(days=1):
            assert span.starts_on <= window.starts_on
            assert span.ends_on is None or (window.ends_on is not None and window.ends_on <= span.ends_on)


def test_two_windows_the_day_after_each_other_are_one_run_named_by_the_one_covering_the_day() -> None:
    sla = FaultWindow("flt_sla", FaultKind.PAYMENT_PAST_SLA, D, D + timedelta(days=1), customer_id="u1")
    sms = FaultWindow(
        "flt_sms",
        FaultKind.REMINDER_UNDELIVERED,
        D + timedelta(days=2),
        D + timedelta(days=8),
        customer_id="u1",
    )
    apart = FaultWindow(
        "flt_old", FaultKind.MANUAL, D - timedelta(days=9), D - timedelta(days=5), customer_id="u1"
    )
    span = fault_span([apart, sms, sla], contract_id="c1", customer_id="u1", on=D + timedelta(days=3))
    assert span == FaultWindow(
        "flt_sms", FaultKind.REMINDER_UNDELIVERED, D, D + timedelta(days=8), customer_id="u1"
    )
    after = fault_span([apart, sms, sla], contract_id="c1", customer_id="u1", on=D + timedelta(days=20))
    assert after is not None and (after.fault_id, after.starts_on, after.covers(D + timedelta(days=20))) == (
        "flt_sms",
        D,
        False,
    )
