"""``/api/v1/payments``: payments in (repayments) and out (disbursements) and their state
(:mod:`lendcore.payments.state`: created → processing → succeeded | failed, reversed). Read only;
a customer sees only their own (another's id → 404); staff with a reading role see all."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select

from lendcore.api.auth import ensure_owner
from lendcore.api.pagination import Page, PageRequest, page_request, paginate
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.access import Reader, owned_by
from lendcore.api.state import StateDep
from lendcore.api.types import Money, PaymentId
from lendcore.core.errors import NotFoundError
from lendcore.payments.state import PaymentDirection, PaymentState
from lendcore.store.models import Payment

router = APIRouter(prefix=API_PREFIX, tags=["payments"])


class PaymentView(BaseModel):
    id: str
    direction: PaymentDirection
    customer_id: str
    contract_id: str | None
    purpose: str | None
    amount: Money
    state: PaymentState
    value_date: date
    requested_at: datetime
    settled_at: datetime | None
    failure_code: str | None
    failure_reason: str | None

    @classmethod
    def of(cls, p: Payment) -> PaymentView:
        return cls(
            id=p.id,
            direction=PaymentDirection(p.direction),
            customer_id=p.customer_id,
            contract_id=p.contract_id,
            purpose=p.purpose,
            amount=Money.of(p.amount),
            state=PaymentState(p.state),
            value_date=p.value_date,
            requested_at=p.requested_at,
            settled_at=p.settled_at,
            failure_code=p.failure_code,
            failure_reason=p.failure_reason,
        )


@router.get(
    "/payments",
    response_model=Page[PaymentView],
    summary="Payments (a customer's own; staff: all), by id",
    responses=problem_responses(401, 403, 422),
)
def list_payments(
    principal: Reader, state: StateDep, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[PaymentView]:
    with state.database.read() as session:
        return paginate(
            session,
            select(Payment).where(owned_by(principal, Payment.customer_id)),
            key=Payment.id,
            page=page,
            to_item=PaymentView.of,
        )


@router.get(
    "/payments/{payment_id}",
    response_model=PaymentView,
    summary="One payment and its state",
    responses=problem_responses(401, 403, 404, 422),
)
def show_payment(payment_id: PaymentId, principal: Reader, state: StateDep) -> PaymentView:
    with state.database.read() as session:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise NotFoundError("no such payment", code="PAYMENT_NOT_FOUND")
        ensure_owner(principal, payment.customer_id, code="PAYMENT_NOT_FOUND", what="payment")
        return PaymentView.of(payment)
