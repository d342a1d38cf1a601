"""Windows one after another give back every day once: the penalty a contract is charged on a day a
window covers is nil, however the contract's windows overlap, touch or were opened late.

The 1,000,000-operation simulation found the rule broken (seed 3): a repayment past its SLA opened a
window for its value date and the next day (the close refunded that day's penalty, which the payment
had paid); an undelivered reminder opened a second window from the next day. The second window,
measured from its own start, counted the first one's refund as its own waiver and left the customer
charged 3 + 3 + 114 fen for three of its days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import run_daily_close
from lendcore.core.allocation import CustomerMode
from lendcore.core.contract import LoanState
from lendcore.core.faults import FaultKind, in_lender_fault
from lendcore.servicing.faults import fault_windows, record_fault
from lendcore.servicing.repository import state_as_of
from lendcore.store.engine import unit_of_work
from lendcore.store.models import Contract
from tests.servicing.support import assert_invariants, do_draw, do_repay, open_line

DUE = date(2026, 4, 1)


def _penalty(state: LoanState) -> int:
    return sum(r.penalty_accrued for r in state.rows) - sum(r.penalty_waived for r in state.rows)


def charged(factory: sessionmaker[Session], contract_id: str, day: date) -> int:
    """Penalty booked on ``day`` less penalty waived on it (the simulation's check 5)."""
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        now = state_as_of(session, contract, day)
        before = state_as_of(session, contract, day - timedelta(days=1))
        return _penalty(now) - _penalty(before)


def covered(factory: sessionmaker[Session], contract_id: str, day: date) -> bool:
    with unit_of_work(factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        windows = fault_windows(session, day)
        return (
            in_lender_fault(windows, contract_id=contract_id, customer_id=contract.customer_id, on=day)
            is not None
        )


@dataclass(frozen=True)
class Window:
    starts: int  # days past due
    found: int  # the day it is recorded (starts_on may be earlier: found late)
    length: int | None  # ends_on = starts + length; None: still open


@dataclass(frozen=True)
class Plan:
    pays_on: int | None  # a repayment of ¥3,000 that morning, before that day's windows are found
    windows: tuple[Window, ...]


def _record(factory: sessionmaker[Session], customer_id: str, window: Window) -> None:
    ends = None if window.length is None else DUE + timedelta(days=window.starts + window.length)
    with unit_of_work(factory) as session:
        record_fault(
            session,
            kind=FaultKind.REMINDER_UNDELIVERED,
            starts_on=DUE + timedelta(days=window.starts),
            ends_on=ends,
            customer_id=customer_id,
            reason="reminder not delivered",
        )


def run(factory: sessionmaker[Session], plans: list[Plan], days: int) -> list[str]:
    """Every plan on a bullet loan of ¥10,000 due ``DUE``, closed day by day; check 5 after each close.
    The violations, as sentences."""
    loans = []
    for _ in plans:
        customer_id, line = open_line(factory)
        loans.append((customer_id, do_draw(factory, line, 1_000_000, 1, method="bullet")["contract_id"]))
    found = []
    for day in range(1, days + 1):
        on = DUE + timedelta(days=day)
        for plan, (customer_id, _) in zip(plans, loans, strict=True):
            if plan.pays_on == day:
                do_repay(factory, customer_id, 300_000, on, CustomerMode.BY_AMOUNT)
            for window in plan.windows:
                if window.found == day:
                    _record(factory, customer_id, window)
        run_daily_close(factory, on)
        for plan, (_, contract_id) in zip(plans, loans, strict=True):
            if covered(factory, contract_id, on) and (amount := charged(factory, contract_id, on)) > 0:
                found.append(f"{plan}: charged {amount} fen on {on}, inside a window")
    return found


def test_a_window_the_day_after_another_does_not_count_the_first_ones_refund_as_its_waiver(
    session_factory: sessionmaker[Session],
) -> None:
    """The simulation's case: paid on day 6 (its penalty with it); on day 7 a window for days 6–7 is
    found (the payment was past its SLA: day 6's penalty is refunded as credit that day) and a second
    for days 7–14 (the reminder). Nothing is charged on days 7–14."""
    plan = Plan(pays_on=6, windows=(Window(6, 7, 1), Window(7, 7, 7)))
    assert run(session_factory, [plan], 12) == []
    assert_invariants(session_factory)


def _plans(seed: int, count: int) -> list[Plan]:
    rng = random.Random(seed)

    def window() -> Window:
        starts = rng.randint(1, 9)
        return Window(starts, starts + rng.choice((0, 0, 1, 2)), rng.choice((None, 0, 1, 2, 3, 5)))

    return [
        Plan(
            pays_on=rng.choice((None, rng.randint(1, 10))),
            windows=tuple(window() for _ in range(rng.randint(1, 3))),
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_no_contract_is_charged_penalty_on_a_day_its_windows_cover(
    session_factory: sessionmaker[Session], seed: int
) -> None:
    """Property, over 24 seeded contracts a seed: one to three windows each (overlapping, touching,
    apart, open, found up to two days late), some paid in the middle; on every day a window covers,
    after the close, the contract was charged no penalty."""
    assert run(session_factory, _plans(seed, 24), 14) == []
    assert_invariants(session_factory)
