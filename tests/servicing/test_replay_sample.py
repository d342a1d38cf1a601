"""The sampling replay check: the snapshot a repayment books on is what replaying its history gives.

Random histories (draws, on-time and backdated repayments, closes) booked through the use cases on
both databases: every contract's stored snapshot equals its replay, and the sample finds a snapshot
that was tampered with.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import LendcoreError
from lendcore.servicing.replay_sample import check_replay_sample
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from tests.servicing.support import D0, do_draw, do_repay, open_line


def _book(factory: sessionmaker[Session], payments: list[tuple[int, int, int]]) -> list[str]:
    customers = []
    for product, term in (("quick", 3), ("premium", 6)):
        cid, line = open_line(factory, product=product)
        do_draw(factory, line, 1_200_000, term)
        customers.append(cid)
    for who, day, amount in payments:
        on = D0 + timedelta(days=10 + day)
        # value-dated up to 9 days back: backdated bookings replay the contract, on-time ones do not
        try:
            do_repay(factory, customers[who % 2], amount, on, value_date=on - timedelta(days=day % 10))
        except LendcoreError:
            continue  # refused (too much): nothing written
    return customers


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 40), st.integers(1, 900_000)), max_size=6))
def test_snapshots_booked_by_repayments_equal_their_replay(
    session_factory: sessionmaker[Session], payments: list[tuple[int, int, int]]
) -> None:
    _book(session_factory, payments)  # the examples share the database: the book grows, all must match
    with unit_of_work(session_factory, read_only=True) as session:
        sample = check_replay_sample(session, size=50, seed=len(payments))
    assert sample.checked and sample.ok, sample.mismatches


def test_the_sample_finds_a_tampered_snapshot(session_factory: sessionmaker[Session]) -> None:
    _book(session_factory, [(0, 3, 50_000), (1, 5, 70_000)])
    with unit_of_work(session_factory) as session:
        victim = session.scalars(select(Contract).order_by(Contract.id)).first()
        assert victim is not None
        state = dict(victim.state)
        state["cash_in"] = int(state["cash_in"]) + 1
        victim.state = state
        victim_id = victim.id
    with unit_of_work(session_factory, read_only=True) as session:
        sample = check_replay_sample(session, size=200, seed=1)
    assert victim_id in sample.checked
    assert sample.mismatches == (victim_id,)


def test_same_seed_same_sample_and_bad_sizes_are_refused(session_factory: sessionmaker[Session]) -> None:
    _book(session_factory, [])
    with unit_of_work(session_factory, read_only=True) as session:
        assert check_replay_sample(session, size=3, seed=7) == check_replay_sample(session, size=3, seed=7)
        for bad in (0, -1, 10_001, True):
            with pytest.raises(LendcoreError) as caught:
                check_replay_sample(session, size=bad)
            assert caught.value.code == "INVALID_SAMPLE_SIZE"


def test_an_empty_book_samples_nothing(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory, read_only=True) as session:
        assert check_replay_sample(session, size=5) == check_replay_sample(session, size=5)
        assert check_replay_sample(session, size=5).checked == ()
