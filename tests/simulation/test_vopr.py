"""The simulation (lendcore.simulation): whatever the seeded faults do — lost, duplicate and stale
callbacks, hung and slow channels, late successes, wrong amounts, failures, outages, statement
mismatches, workers killed between a job's effect and its acknowledgement — after every business day
the books balance, no payment is applied twice, the channel and we agree or operations know, nothing
hangs unseen past its SLA and nobody is charged penalty inside a lender-fault window."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendcore.simulation import desk
from lendcore.simulation.world import DEFAULT_FAULTS, SimConfig, simulate
from lendcore.store.engine import create_engine, create_session_factory
from lendcore.store.migrate import upgrade_database

#: (seed, customers, days). Seed 3 at 60 × 25 met a customer paying on an outage day, who paid that
#: day's penalty until payments waived a fault's penalty before being planned.
SEEDS = [(1, 12, 20), (2, 12, 20), (3, 60, 25)]


@pytest.mark.parametrize(("seed", "customers", "days"), SEEDS)
def test_a_short_seed_set_holds_every_invariant_every_day(
    session_factory: sessionmaker[Session], seed: int, customers: int, days: int
) -> None:
    config = SimConfig(seed=seed, customers=customers, days=days, outage_rate=0.1)
    report = simulate(session_factory, config)
    assert report.violations == []
    assert report.checks == report.days == days
    # the run met what it is about, or it proves nothing
    ops = report.operations
    assert ops["repayment_requests"] > 0 and ops["callbacks"] > 0 and ops["jobs"] > 0


def test_a_seed_is_a_reproducible_run(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    """The world's choices and the channel's faults come from the seed alone: the same seed on
    another fresh book (an SQLite file here, whatever the first one is on) does exactly the same."""
    config = SimConfig(seed=5, customers=10, days=15, outage_rate=0.2)
    url = f"sqlite:///{tmp_path / 'again.db'}"
    upgrade_database(url)
    engine = create_engine(url)
    try:
        again = simulate(create_session_factory(engine), config)
    finally:
        engine.dispose()
    first = simulate(session_factory, config)
    assert first.operations["repayment_requests"] > 0
    assert (first.operations, first.violations) == (again.operations, again.violations)


#: A channel that says "failed" for 30 % of the successes it took (the default is 1 %).
LYING = DEFAULT_FAULTS.replace("false_failure=0.01", "false_failure=0.3")


def test_money_the_channel_took_and_said_failed_is_applied_to_its_payer(
    session_factory: sessionmaker[Session],
) -> None:
    """Each false failure is failed here, its customer told so; the statement says the money was
    taken, so reconciliation holds it in channel suspense and the desk applies it, value-dated when
    the customer paid (check 12, and every other check, every day)."""
    assert "false_failure=0.01" in DEFAULT_FAULTS
    report = simulate(session_factory, SimConfig(seed=4, customers=12, days=20, faults=LYING))
    assert report.violations == []
    assert report.operations["suspense_applied"] > 0


def test_check_12_finds_money_taken_and_not_given_back(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk that returns every item (it does not check with the channel) is caught."""
    monkeypatch.setattr(desk, "_truly_taken", lambda *_: False)
    report = simulate(session_factory, SimConfig(seed=4, customers=12, days=20, faults=LYING))
    assert report.operations["suspense_applied"] == 0
    assert any("it was not given to its payer" in v for v in report.violations)
