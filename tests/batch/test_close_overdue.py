"""Overdue books: the aggregate close equals the per-contract close across bucket and class boundaries.

Loans left unpaid (or paid in part, late, backdated; penalty waived; a lender-fault window on a
customer) for 65–125 closed days: their DPD crosses M1 → M2 → M3 (→ M4, 次级 past 90 days), so
the aggregate close accrues their penalty in aggregate between events and folds them at each
boundary, each due date and each event. After closing every day with each engine every contract's
state brought to the last date, its mirrors (DPD, worst DPD, class) and every general-ledger balance
(1132.91 / 1132.92 counted as interest / penalty receivable) agree to the fen, and both books pass
every invariant with replay. New engine on SQLite and PostgreSQL, the oracle on SQLite
(``LENDCORE_CLOSE_EXAMPLES=N``, as for the random books of ``test_close_aggregate``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta

from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.batch.close import CloseOptions, run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.core.faults import FaultKind
from lendcore.servicing.faults import record_fault
from lendcore.store.engine import unit_of_work
from lendcore.store.models_close import AccrualAggregate
from tests.batch.test_close_aggregate import (
    AGGREGATE,
    PER_CONTRACT,
    Loan,
    Op,
    _apply,
    contract_view,
    fresh_books,
    ledger_view,
    shown,
)
from tests.servicing.support import D0, do_draw, open_line

__all__ = ["fresh_books"]  # the fixture, shared with test_close_aggregate

overdue_loans = st.builds(
    Loan,
    method=st.sampled_from(["equal-installment", "bullet", "equal-principal"]),
    term=st.integers(1, 2),
    amount=st.integers(50, 3_000).map(lambda n: n * 1_000),
    drawn=st.integers(0, 4),
)
late_ops = st.builds(
    Op,
    day=st.integers(25, 124),
    kind=st.sampled_from(["repay", "backdated", "waive-penalty", "fault"]),
    who=st.integers(0, 2),
    amount=st.integers(1, 400).map(lambda n: n * 1_000),
    back=st.integers(1, 6),
)


def _act(factory: sessionmaker[Session], op: Op, customer: str, contract: str, on: date) -> str:
    if op.kind != "fault":
        return _apply(factory, op, customer, contract, on)
    try:
        with unit_of_work(factory) as session:  # a window on the customer from today, for `back` days
            record_fault(
                session,
                kind=FaultKind.MANUAL,
                starts_on=on,
                ends_on=on + timedelta(days=op.back - 1),
                customer_id=customer,
                reason="test outage",
            )
    except LendcoreError as error:
        return error.code
    return "ok"


def run_overdue_book(
    factory: sessionmaker[Session], options: CloseOptions, book: list[Loan], events: list[Op], days: int
) -> tuple[list[str], list[str]]:
    lines = [open_line(factory) for _ in book]
    contracts: list[str | None] = [None] * len(book)
    outcomes: list[str] = []
    for t in range(days):
        on = D0 + timedelta(days=t)
        for i, loan in enumerate(book):
            if loan.drawn == t:
                drawn = do_draw(factory, lines[i][1], loan.amount, loan.term, on=on, method=loan.method)
                contracts[i] = drawn["contract_id"]
        for op in (e for e in events if e.day == t):
            who = op.who % len(book)
            target = contracts[who]
            outcomes.append("not-drawn" if target is None else _act(factory, op, lines[who][0], target, on))
        report = run_daily_close(factory, on, options=options)
        assert report.ok, report.invariants
    return [c for c in contracts if c is not None], outcomes


def _penalty_in_aggregate(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, read_only=True) as session:
        return int(session.scalar(select(func.coalesce(func.sum(AccrualAggregate.penalty), 0))) or 0)


@settings(
    max_examples=int(os.environ.get("LENDCORE_CLOSE_EXAMPLES", "6")) // 2 or 1,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(
    book=st.lists(overdue_loans, min_size=1, max_size=3),
    events=st.lists(late_ops, max_size=4),
    days=st.integers(65, 125),
)
def test_overdue_books_close_the_same_with_either_engine(
    fresh_books: Callable[[], tuple[sessionmaker[Session], sessionmaker[Session]]],
    book: list[Loan],
    events: list[Op],
    days: int,
) -> None:
    note(repr((book, events, days)))
    new, oracle = fresh_books()
    new_ids, new_outcomes = run_overdue_book(new, AGGREGATE, book, events, days)
    old_ids, old_outcomes = run_overdue_book(oracle, PER_CONTRACT, book, events, days)
    assert new_outcomes == old_outcomes
    for outcome in new_outcomes:
        event(outcome)
    event(f"penalty accrued in aggregate: {'yes' if _penalty_in_aggregate(new) else 'no'}")
    last = D0 + timedelta(days=days - 1)
    for new_id, old_id in zip(new_ids, old_ids, strict=True):
        assert contract_view(new, new_id, last) == contract_view(oracle, old_id, last)
        assert shown(new, new_id) == shown(oracle, old_id)  # penalty and DPD as the customer sees them
    assert ledger_view(new) == ledger_view(oracle)
