"""Collection in the simulation (lendcore.simulation.collect): with autopay mandates (both attempts,
fallback cards), reminders delivered or not by the simulated provider, scheduled repayments booked,
cancelled and taken, autopay runs the scheduler missed and channel outages found by the real
detector, every check of every day holds — and the run met each of those, or it proves nothing."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session, sessionmaker

from lendcore.simulation.collect import missed_run_days
from lendcore.simulation.config import CollectConfig, SimConfig
from lendcore.simulation.world import simulate

#: A world heavy on collection: half the customers mandated, a missed autopay run every fifth day,
#: four in ten booking ahead, more undelivered reminders than by default.
HEAVY = CollectConfig(
    mandate_rate=0.5,
    missed_run_rate=0.2,
    scheduled_rate=0.4,
    cancel_rate=0.3,
    reminder_failed=0.15,
    reminder_unconfirmed=0.1,
)


def test_a_collection_heavy_world_holds_every_check_every_day(session_factory: sessionmaker[Session]) -> None:
    config = SimConfig(seed=9, customers=20, days=12, outage_rate=0.15, collect=HEAVY)
    report = simulate(session_factory, config)
    assert report.violations == []
    assert report.checks == report.days == 12
    met = report.met
    for what in (
        "faults:autopay_missed",  # raised the morning after a missed run
        "faults:reminder_undelivered",
        "faults:channel_outage",  # opened by the detector, not by hand
        "autopay_debits:succeeded",
        "bookings:taken",
        "bookings:cancelled",
    ):
        assert met.get(what, 0) > 0, what
    assert report.operations["autopay_runs"] > 0 and report.operations["autopay_runs_missed"] > 0


def test_missed_autopay_runs_are_drawn_day_by_day_and_may_run_for_days() -> None:
    """A scheduler down for days is acted out (record_missed_days raises every one of them)."""
    missed = missed_run_days(random.Random(1), 60, 0.5)
    assert any(day + 1 in missed for day in missed)
    assert missed_run_days(random.Random(1), 60, 0.5) == missed  # seeded
