"""The simulator's fault spec: every fault by name, validated, one clear error for anything else."""

from __future__ import annotations

import pytest

from lendcore.core.errors import ValidationError
from lendcore.payments.sim.faults import NO_FAULTS, parse_faults


def test_an_empty_spec_means_no_faults() -> None:
    assert parse_faults(None) == parse_faults("") == parse_faults("  ") == NO_FAULTS


def test_every_fault_is_read_from_its_name() -> None:
    spec = parse_faults(
        "latency=0.01-0.2, hang=0.1, hang_for=30, slow=0.2, slow_for=6, settle_after=1, callback_delay=0.5,"
        "lost_callback=0.3, duplicate_callback=0.4, out_of_order=0.5, late_success=0.05, late_after=600,"
        "wrong_amount=0.02, wrong_amount_by=7, insufficient_funds=0.1, card_frozen=0.1, limit_exceeded=0.1,"
        "bank_maintenance=0.1, outage=10-20+40-45, outage_mode=hang, statement_missing=0.1,"
        "statement_mismatch=0.2, statement_extra=3"
    )
    assert spec.latency == (0.01, 0.2)
    assert (spec.hang, spec.hang_for, spec.slow, spec.slow_for) == (0.1, 30, 0.2, 6)
    assert (spec.lost_callback, spec.duplicate_callback, spec.out_of_order) == (0.3, 0.4, 0.5)
    assert (spec.late_success, spec.late_after, spec.wrong_amount, spec.wrong_amount_by) == (
        0.05,
        600,
        0.02,
        7,
    )
    assert spec.failure_weights() == [
        ("INSUFFICIENT_FUNDS", 0.1), ("CARD_FROZEN", 0.1), ("LIMIT_EXCEEDED", 0.1), ("BANK_MAINTENANCE", 0.1),
    ]  # fmt: skip
    assert spec.outages == ((10, 20), (40, 45)) and spec.outage_mode == "hang"
    assert spec.in_outage(10) and spec.in_outage(44.9) and not spec.in_outage(20) and not spec.in_outage(30)
    assert (spec.statement_missing, spec.statement_mismatch, spec.statement_extra) == (0.1, 0.2, 3)


@pytest.mark.parametrize(
    "spec",
    [
        "bogus=1",
        "hang",
        "hang=",
        "hang=1.5",
        "hang=-0.1",
        "hang=nan",
        "latency=abc",
        "latency=0.5-0.1",
        "outage=20-10",
        "outage_mode=sometimes",
        "statement_extra=2.5",
        "hang=0.1,hang=0.2",
        "insufficient_funds=0.6,card_frozen=0.6",
        "settle_after=1e9",
    ],
)
def test_a_bad_spec_is_one_error_naming_the_pair(spec: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_faults(spec)
    assert caught.value.code == "FAULT_SPEC_INVALID"
