"""The simulated customers: each opens a line, draws one loan and repays by a habit.

A borrower may also hold an autopay mandate (``mandated``: autopay collects on the due date) or book
each installment ahead (``books_ahead``: a scheduled repayment, :mod:`lendcore.simulation.collect`);
such a borrower does not pay that installment by hand unless the booking was cancelled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.allocation import CustomerMode
from lendcore.core.schedule import Method
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.risk.decision import DrawdownConfig
from lendcore.servicing.draw import DrawRequest, draw
from lendcore.servicing.lines import open_credit_line
from lendcore.store.models import Customer, ScheduleRow

_RELAXED: Final = DrawdownConfig(max_drawdowns_per_window=10**9, max_failed_repayments=10**9)


class Habit(StrEnum):
    ON_TIME = "on-time"  # pays each installment on its due date
    EARLY = "early"  # a few days before
    LATE = "late"  # some days after
    NEVER = "never"  # does not pay
    PREPAYER = "prepayer"  # on time, and pays extra now and then


_HABITS: Final = (
    (Habit.ON_TIME, 0.35),
    (Habit.EARLY, 0.2),
    (Habit.LATE, 0.2),
    (Habit.NEVER, 0.1),
    (Habit.PREPAYER, 0.15),
)
_LOANS: Final = (  # product, method, terms, amount range (fen)
    ("quick", Method.EQUAL_INSTALLMENT, (1, 3, 6), (100_000, 2_000_000)),
    ("quick", Method.BULLET, (1,), (50_000, 500_000)),
    ("premium", Method.EQUAL_PRINCIPAL, (3, 6, 12), (500_000, 4_000_000)),
)


@dataclass
class Borrower:
    number: int  # the world's order: what a seed fixes (ids are random)
    customer_id: str
    contract_id: str
    habit: Habit
    lateness: int  # days early (EARLY) or late (LATE)
    dues: list[tuple[date, int]]  # the planned installments: due date, total
    keys: int = 0
    mandated: bool = False  # autopay collects from them
    pays_by_hand: bool = True  # False: a mandate holder left to autopay alone (CollectConfig)
    books_ahead: bool = False  # books each installment as a scheduled repayment
    booked: dict[date, str] = field(default_factory=dict)  # due date -> scheduled repayment id (held)

    def key(self) -> str:
        self.keys += 1
        return f"sim-{self.customer_id}-{self.keys}"


def _pick_habit(rng: random.Random) -> Habit:
    draw_ = rng.random()
    for habit, weight in _HABITS:
        draw_ -= weight
        if draw_ < 0:
            return habit
    return Habit.ON_TIME


def new_borrower(session: Session, rng: random.Random, on: date, number: int) -> Borrower:
    customer = Customer(status="active")
    session.add(customer)
    session.flush()
    product, method, terms, (low, high) = rng.choice(_LOANS)
    line = open_credit_line(
        session,
        customer_id=customer.id,
        product_code=product,
        credit_limit=5_000_000,
        pricing_grade=rng.choice("ABC"),
        business_date=on,
        actor="simulation",
    )
    request = DrawRequest(
        line_id=line.id,
        amount=rng.randrange(low, high, 100),
        term=rng.choice(terms),
        business_date=on,
        idempotency_key=f"sim-draw-{number}",
        method=method,
    )
    contract_id = draw(session, request, gate=drawdown_gate(_RELAXED)).contract_id
    assert contract_id is not None  # the relaxed gate lets every drawdown through
    dues = session.execute(
        select(ScheduleRow.due_date, ScheduleRow.total)
        .where(ScheduleRow.contract_id == contract_id)
        .order_by(ScheduleRow.period)
    ).all()
    habit = _pick_habit(rng)
    return Borrower(
        number,
        customer.id,
        contract_id,
        habit,
        rng.randint(1, 20) if habit is Habit.LATE else rng.randint(1, 5),
        [(d, t) for d, t in dues],
    )


def wanted(borrower: Borrower, day: date, rng: random.Random) -> tuple[CustomerMode, int | None] | None:
    """What the borrower pays by hand today, by habit: (mode, amount) or None."""
    if borrower.habit is Habit.NEVER or not borrower.pays_by_hand:
        return None
    # paying everything off while a booked repayment is taken would race it (both BY_CONTRACT)
    if not borrower.books_ahead and rng.random() < 0.003:
        return CustomerMode.PAY_OFF_ALL, None
    shift = {Habit.EARLY: -borrower.lateness, Habit.LATE: borrower.lateness}.get(borrower.habit, 0)
    for due, total in borrower.dues:
        if borrower.books_ahead and due in borrower.booked:
            continue  # the booking pays it
        if due + timedelta(days=0 if borrower.books_ahead else shift) == day:
            return CustomerMode.BY_AMOUNT, total
    if borrower.habit is Habit.PREPAYER and not borrower.books_ahead and rng.random() < 0.02:
        return CustomerMode.BY_AMOUNT, rng.randrange(100, 50_000)
    return None
