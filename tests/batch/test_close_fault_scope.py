"""A lender-fault window folds only the contracts it concerns: on a day a window names a customer or a
contract (or one ended within the waiver's look-back), those contracts are folded, so the waiver reads
their snapshots, and every other quiet contract is still accrued in aggregate. A window for everyone
(a channel outage) folds the whole book, as before.

Before, any window covering the day folded every contract: a real book has an undelivered reminder
somewhere every day, so the aggregate close never had a quiet night (the simulation's windows showed
it). The engines' equality under windows is the property of ``test_close_overdue`` (windows on
customers, both engines, both databases)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.faults import FaultKind
from lendcore.servicing.faults import RECENT_DAYS, record_fault
from lendcore.store.engine import unit_of_work
from lendcore.store.models import DAILY_ACCRUAL_TYPE, LoanTransaction
from tests.batch.test_close_aggregate import AGGREGATE
from tests.servicing.support import D0, assert_invariants, do_draw, open_line


def _folded_on(factory: sessionmaker[Session], day: date) -> set[str]:
    with unit_of_work(factory, read_only=True) as session:
        return set(
            session.scalars(
                select(LoanTransaction.contract_id).where(
                    LoanTransaction.value_date == day, LoanTransaction.type == DAILY_ACCRUAL_TYPE
                )
            )
        )


def _three_quiet_loans(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    loans = []
    for _ in range(3):
        customer, line = open_line(factory)
        loans.append((customer, do_draw(factory, line, 1_000_000, 3)["contract_id"]))
    assert run_daily_close(factory, D0, options=AGGREGATE).ok  # drawn today: folded
    return loans


def _window(factory: sessionmaker[Session], starts: date, ends: date | None = None, **scope: str) -> None:
    with unit_of_work(factory) as session:
        record_fault(session, kind=FaultKind.MANUAL, starts_on=starts, ends_on=ends, reason="test", **scope)


@pytest.mark.parametrize("scope", ["customer", "contract"])
def test_a_window_for_one_customer_or_contract_folds_only_that_contract(
    session_factory: sessionmaker[Session], scope: str
) -> None:
    (customer, mine), (_, other), (_, third) = _three_quiet_loans(session_factory)
    day = D0 + timedelta(days=1)
    _window(
        session_factory, day, **({"customer_id": customer} if scope == "customer" else {"contract_id": mine})
    )
    report = run_daily_close(session_factory, day, options=AGGREGATE)
    assert report.ok and report.quiet_contracts == 2
    assert _folded_on(session_factory, day) == {mine}
    assert {other, third}.isdisjoint(_folded_on(session_factory, day))
    assert_invariants(session_factory)


def test_the_windows_look_back_folds_its_contracts_and_then_they_are_quiet_again(
    session_factory: sessionmaker[Session],
) -> None:
    """The three loans are alike (drawn the same day, same terms): besides the window, a day folds all
    of them (an installment falls due) or none. A one-day window on the first one's customer folds
    it every day of the look-back; after it, it is folded exactly when the others are."""
    (customer, mine), *_ = _three_quiet_loans(session_factory)
    first = D0 + timedelta(days=1)
    _window(session_factory, first, first, customer_id=customer)
    alone = 0
    for t in range(1, RECENT_DAYS + 6):
        day = D0 + timedelta(days=t)
        assert run_daily_close(session_factory, day, options=AGGREGATE).ok
        folded = _folded_on(session_factory, day)
        others = folded - {mine}
        if t <= 1 + RECENT_DAYS:
            assert mine in folded, day
            alone += not others
        else:
            assert (mine in folded) == bool(others), day
    # the others were quiet every day of the look-back (32 days) but the due date (04-01) and the day
    # after it (the first day overdue: not quiet, its row starts to bear penalty)
    assert alone == 1 + RECENT_DAYS - 2
    assert_invariants(session_factory)


def test_a_window_for_everyone_folds_the_whole_book(session_factory: sessionmaker[Session]) -> None:
    loans = _three_quiet_loans(session_factory)
    day = D0 + timedelta(days=1)
    _window(session_factory, day, day)
    report = run_daily_close(session_factory, day, options=AGGREGATE)
    assert report.ok and report.quiet_contracts == 0
    assert _folded_on(session_factory, day) == {contract for _, contract in loans}
