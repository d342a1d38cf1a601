"""``/api/v1/scheduled-repayments``: scheduled repayment (预约还款), a customer's own only
(:mod:`lendcore.servicing.scheduled`).

* ``POST`` (Idempotency-Key required) books one for a contract's next installment: 201 with
  ``Location``; the refusals are the use case's (``SCHEDULED_TOO_EARLY``, ``SCHEDULED_AFTER_DUE_DATE``,
  ``SCHEDULED_DATE_NOT_FUTURE``, ``SCHEDULED_AMOUNT_TOO_LARGE``: 409; ``SCHEDULED_ALREADY_BOOKED``:
  409; another customer's contract: 404 ``CONTRACT_NOT_FOUND``).
* ``GET`` lists the customer's, ``GET /{id}`` shows one (another's: 404 ``SCHEDULED_NOT_FOUND``).
* ``DELETE /{id}`` (Idempotency-Key required) cancels one before its take date (else 409
  ``SCHEDULED_NOT_CANCELLABLE``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from lendcore.api.auth import CurrentCustomer
from lendcore.api.idempotency import IdempotencyKeyDep
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.contracts import readable_contract
from lendcore.api.routers.dated import dated_write
from lendcore.api.routers.drawdowns import use_case_key
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel, ContractId, IdOf, IsoDate, Money, PositiveFen
from lendcore.servicing.scheduled import (
    ScheduledRepaymentView,
    ScheduleRepaymentRequest,
    book_scheduled,
    cancel_scheduled,
    get_scheduled,
    list_scheduled,
)

router = APIRouter(prefix=API_PREFIX, tags=["scheduled repayments"])
URL = f"{API_PREFIX}/scheduled-repayments"
ScheduledId = Annotated[str, IdOf("srp")]


class ScheduleBody(ApiModel):
    """``amount`` defaults to what will be due on the due date; ``period`` to the next installment."""

    contract_id: ContractId
    take_on: IsoDate
    amount: PositiveFen | None = None
    period: Annotated[int, Field(ge=1, le=600)] | None = None


class ScheduledOut(BaseModel):
    id: str
    contract_id: str
    period: int
    due_date: date
    take_on: date
    amount: Money
    status: str
    booked_on: date
    payment_id: str | None

    @classmethod
    def of(cls, v: ScheduledRepaymentView) -> ScheduledOut:
        return cls(
            id=v.id, contract_id=v.contract_id, period=v.period, due_date=v.due_date, take_on=v.take_on,
            amount=Money.of(v.amount), status=v.status, booked_on=v.booked_on, payment_id=v.payment_id,
        )  # fmt: skip


@router.post(
    "/scheduled-repayments",
    status_code=201,
    response_model=ScheduledOut,
    summary="Book a repayment for a later day up to the due date (Idempotency-Key required)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def create_scheduled(
    body: ScheduleBody,
    principal: CurrentCustomer,
    key: IdempotencyKeyDep,
    state: StateDep,
    response: Response,
) -> ScheduledOut:
    assert principal.customer_id is not None  # CurrentCustomer
    with dated_write(state) as (session, on):
        readable_contract(session, principal, body.contract_id)  # another customer's: 404
        request = ScheduleRepaymentRequest(
            customer_id=principal.customer_id, contract_id=body.contract_id, take_on=body.take_on,
            business_date=on, idempotency_key=use_case_key(principal, key), amount=body.amount,
            period=body.period,
        )  # fmt: skip
        booked = book_scheduled(session, request)
    response.headers["Location"] = f"{URL}/{booked.id}"
    return ScheduledOut.of(booked)


@router.get(
    "/scheduled-repayments",
    response_model=list[ScheduledOut],
    summary="The customer's scheduled repayments, by take date",
    responses=problem_responses(401, 403),
)
def list_own(principal: CurrentCustomer, state: StateDep) -> list[ScheduledOut]:
    assert principal.customer_id is not None
    with state.database.read() as session:
        return [ScheduledOut.of(v) for v in list_scheduled(session, principal.customer_id)]


@router.get(
    "/scheduled-repayments/{scheduled_id}",
    response_model=ScheduledOut,
    summary="One of the customer's scheduled repayments",
    responses=problem_responses(401, 403, 404, 422),
)
def show(scheduled_id: ScheduledId, principal: CurrentCustomer, state: StateDep) -> ScheduledOut:
    with state.database.read() as session:
        return ScheduledOut.of(get_scheduled(session, scheduled_id, customer_id=principal.customer_id))


@router.delete(
    "/scheduled-repayments/{scheduled_id}",
    response_model=ScheduledOut,
    summary="Cancel a scheduled repayment before its take date (Idempotency-Key required)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def cancel(
    scheduled_id: ScheduledId, principal: CurrentCustomer, key: IdempotencyKeyDep, state: StateDep
) -> ScheduledOut:
    assert principal.customer_id is not None
    with dated_write(state) as (session, on):
        cancelled = cancel_scheduled(
            session, scheduled_id, customer_id=principal.customer_id, business_date=on,
            actor=principal.customer_id,
        )  # fmt: skip
    return ScheduledOut.of(cancelled)
