"""``/app/scheduled``: 预约还款, the customer books a repayment for a chosen day up to an installment's
due date, sees their bookings with their state and cancels one before its day
(:mod:`lendcore.servicing.scheduled`: the same window, refusal codes and idempotency as the API's
``/api/v1/scheduled-repayments``).

* The page offers, per open contract, its next unpaid installment: the amount that will be due on the
  due date (what the booking takes), and a take-date field bounded by the window (the day after today
  up to the due date) once the window has opened (:data:`BOOKABLE_DAYS` before the due date).
* The book form carries a key minted when the page was rendered, folded with the customer (the use
  case's keys are global): a double submit replays the first booking instead of booking twice.
* A refusal renders the page again with its message and stable code and the error table's HTTP
  status; nothing is written. Cancelling one already cancelled (a double submit) shows it cancelled.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.api.state import AppState, StateDep
from lendcore.core.allocation import amount_due
from lendcore.core.contract import LoanState, Status
from lendcore.core.errors import LendcoreError, ValidationError
from lendcore.core.money import Fen
from lendcore.error_table import spec_for
from lendcore.servicing.business_day import enter_open_business_date
from lendcore.servicing.repository import state_as_of
from lendcore.servicing.scheduled import (
    BOOKABLE_DAYS,
    ScheduledRepaymentView,
    ScheduleRepaymentRequest,
    book_scheduled,
    cancel_scheduled,
    get_scheduled,
    list_scheduled,
)
from lendcore.store.models import Contract
from lendcore.web.common import Csrf, business_date, customer_of, signed_in_page
from lendcore.web.session import check_csrf

router = APIRouter(prefix="/app", include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Offer:
    """A contract's next unpaid installment, as the booking form offers it."""

    contract_id: str
    period: int
    due_date: date
    amount: Fen  # what will be due on the due date: what a booking takes
    opens_on: date  # the first day it can be booked (BOOKABLE_DAYS before the due date)
    first_take: date  # the take-date window: the day after today …
    bookable: bool  # the window has opened and is not empty

    @property
    def last_take(self) -> date:
        return self.due_date  # … up to the due date


def offer_of(contract_id: str, state: LoanState, today: date) -> Offer | None:
    """The installment a booking on ``today`` would be for (the use case's choice: the first unpaid
    one falling due from today), or None when there is none or nothing will be due."""
    if state.status is not Status.ACTIVE:
        return None
    row = next((r for r in state.rows if r.settled_on is None and r.due_date >= today), None)
    if row is None:
        return None
    amount = amount_due(state, row.due_date)
    if amount <= 0:
        return None
    opens = row.due_date - timedelta(days=BOOKABLE_DAYS)
    first = today + timedelta(days=1)
    bookable = today >= opens and first <= row.due_date
    return Offer(contract_id, row.period, row.due_date, amount, opens, first, bookable)


def _offers(session: Session, customer_id: str, today: date) -> list[Offer]:
    contracts = session.scalars(
        select(Contract)
        .where(Contract.customer_id == customer_id, Contract.status == Status.ACTIVE.value)
        .order_by(Contract.start_date, Contract.id)
    ).all()
    found = (offer_of(c.id, state_as_of(session, c, today), today) for c in contracts)
    return [offer for offer in found if offer is not None]


def scheduled_page(
    state: AppState, request: Request, customer_id: str, *, status_code: int = 200, **context: Any
) -> Response:
    with state.database.read() as session:
        today = business_date(state, session)
        offers = _offers(session, customer_id, today)
        bookings = list_scheduled(session, customer_id)
    held = {(b.contract_id, b.period) for b in bookings if b.status in {"booked", "taken"}}
    return signed_in_page(
        state, request, "scheduled.html", "scheduled_title", status_code=status_code, today=today,
        offers=offers, held=held, bookings=bookings, book_key=f"web-sched-{uuid.uuid4()}", **context,
    )  # fmt: skip


def _refused(state: AppState, request: Request, customer_id: str, error: LendcoreError) -> Response:
    return scheduled_page(
        state, request, customer_id, status_code=spec_for(error).http_status,
        error=f"{error.message} ({error.code})",
    )  # fmt: skip


@router.get("/scheduled")
def my_scheduled(request: Request, state: StateDep) -> Response:
    return scheduled_page(state, request, customer_of(state, request))


def _take_on(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = f"take date {text!r} is not a date (YYYY-MM-DD)"
        raise ValidationError(message, code="INVALID_INPUT") from None


def _period(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 600:
        raise ValidationError(f"installment {text!r} is not an installment number", code="INVALID_INPUT")
    return int(text)


def web_key(customer_id: str, key: str) -> str:
    """The use case's key for a form's key: theirs are global, so the customer is folded in."""
    return "web-sched:" + hashlib.sha256(f"{customer_id}\n{key}".encode()).hexdigest()


@router.post("/scheduled")
def book(
    request: Request,
    state: StateDep,
    csrf: Csrf,
    contract_id: Annotated[str, Form(max_length=64)],
    period: Annotated[str, Form(max_length=3)],
    take_on: Annotated[str, Form(max_length=10)],
    key: Annotated[str, Form(min_length=8, max_length=64)],
) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    try:
        chosen, installment = _take_on(take_on), _period(period)
        with state.database.write() as session:
            on = enter_open_business_date(session, today=state.clock().date())
            booking = ScheduleRepaymentRequest(
                customer_id=customer_id, contract_id=contract_id, take_on=chosen, business_date=on,
                idempotency_key=web_key(customer_id, key), period=installment,
            )  # fmt: skip
            booked = book_scheduled(session, booking)
    except LendcoreError as error:
        return _refused(state, request, customer_id, error)
    return scheduled_page(state, request, customer_id, booked=booked)


def _already_cancelled(state: AppState, scheduled_id: str, customer_id: str) -> ScheduledRepaymentView | None:
    with state.database.read() as session:
        row = get_scheduled(session, scheduled_id, customer_id=customer_id)
    return row if row.status == "cancelled" else None


@router.post("/scheduled/{scheduled_id}/cancel")
def cancel(scheduled_id: str, request: Request, state: StateDep, csrf: Csrf) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    try:
        with state.database.write() as session:
            on = enter_open_business_date(session, today=state.clock().date())
            cancelled = cancel_scheduled(
                session, scheduled_id, customer_id=customer_id, business_date=on, actor=customer_id
            )
    except LendcoreError as error:
        not_cancellable = error.code == "SCHEDULED_NOT_CANCELLABLE"
        again = _already_cancelled(state, scheduled_id, customer_id) if not_cancellable else None
        if again is None:
            return _refused(state, request, customer_id, error)
        cancelled = again  # a double submit: the first one cancelled it
    return scheduled_page(state, request, customer_id, cancelled=cancelled)
