"""``POST /api/v1/quotes``: what a drawdown on a line would be (every installment, total interest,
APR) before the customer confirms it: :func:`lendcore.servicing.drawdown_quote.quote_drawdown` with
the line's product and pricing grade on the open business date, the very numbers ``POST /drawdowns``
books. Not money-moving: no Idempotency-Key, nothing written."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from lendcore.api.auth import ensure_owner
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.access import Reader
from lendcore.api.routers.dated import business_date_from
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel, LineId, Money, PositiveFen
from lendcore.core.errors import NotFoundError
from lendcore.core.schedule import MAX_PERIODS, Installment, Method
from lendcore.servicing.business_day import stored_business_date
from lendcore.servicing.drawdown_quote import DEFAULT_PURPOSE, DrawdownQuote, quote_drawdown
from lendcore.store.models import CreditLine

router = APIRouter(prefix=API_PREFIX, tags=["quotes"])

Term = Annotated[int, Field(ge=1, le=MAX_PERIODS, strict=True, description="monthly periods")]
Purpose = Annotated[str, Field(min_length=1, max_length=32, description="declared purpose (consumption)")]


class QuoteBody(ApiModel):
    line_id: LineId
    amount: PositiveFen
    term: Term
    method: Method | None = None
    purpose: Purpose = DEFAULT_PURPOSE


class InstallmentQuote(BaseModel):
    period: int
    start_date: date
    due_date: date
    days: int
    principal: Money
    interest: Money
    fee: Money
    total: Money
    remaining_principal: Money

    @classmethod
    def of(cls, i: Installment) -> InstallmentQuote:
        return cls(
            period=i.period,
            start_date=i.start_date,
            due_date=i.due_date,
            days=i.days,
            principal=Money.of(i.principal),
            interest=Money.of(i.interest),
            fee=Money.of(i.fee),
            total=Money.of(i.total),
            remaining_principal=Money.of(i.remaining_principal),
        )


class QuoteView(BaseModel):
    product_code: str
    amount: Money
    term: int
    method: Method
    grade: str
    purpose: str
    start_date: date
    daily_rate: str  # decimals as text, never floats
    apr: str  # disclosed APR (IRR method)
    total_interest: Money
    total_fee: Money
    total_repayable: Money
    installments: list[InstallmentQuote]
    contract_text: str

    @classmethod
    def of(cls, q: DrawdownQuote) -> QuoteView:
        return cls(
            product_code=q.product_code,
            amount=Money.of(q.amount),
            term=q.term,
            method=q.method,
            grade=q.grade,
            purpose=q.purpose,
            start_date=q.start_date,
            daily_rate=str(q.daily_rate),
            apr=str(q.apr),
            total_interest=Money.of(q.total_interest),
            total_fee=Money.of(q.total_fee),
            total_repayable=Money.of(q.total_repayable),
            installments=[InstallmentQuote.of(i) for i in q.schedule.installments],
            contract_text=q.contract_text(),
        )


@router.post(
    "/quotes",
    response_model=QuoteView,
    summary="Quote a drawdown on a credit line: every installment, total interest, APR",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def quote(body: QuoteBody, principal: Reader, state: StateDep) -> QuoteView:
    with state.database.read() as session:
        # one round trip: the line's three columns and the open business date
        line = session.execute(
            select(
                CreditLine.customer_id,
                CreditLine.product_code,
                CreditLine.pricing_grade,
                stored_business_date(),
            ).where(CreditLine.id == body.line_id)
        ).one_or_none()
    if line is None:
        raise NotFoundError("no such credit line", code="LINE_NOT_FOUND")
    customer_id, product_code, grade, stored = line
    ensure_owner(principal, customer_id, code="LINE_NOT_FOUND", what="credit line")
    return QuoteView.of(
        quote_drawdown(
            product_code,
            amount=body.amount,
            term=body.term,
            grade=grade,
            start=business_date_from(stored, state),
            method=body.method,
            purpose=body.purpose,
        )
    )
