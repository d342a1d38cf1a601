"""``/api/v1/drawdowns``: a customer confirms a drawdown on their line (money-moving: Idempotency-Key
required) and follows its status. The use case is :func:`lendcore.servicing.draw.draw` with
origination's real-time gate; the drawdown's id is its contract's (``ln_…``).

* disbursed → 201 (``Location: /api/v1/drawdowns/{id}``); paid out asynchronously → 202 ``processing``;
* the gate declined it → 409 ``DRAWDOWN_DECLINED``, the channel declined the payout → 409
  ``DISBURSEMENT_FAILED``: both raised *after* the unit of work commits (the decline record behind the
  cooldown, the failed payment are kept), and stored like any answer for the key's retries;
* above the available limit → 409 ``LIMIT_EXCEEDED`` (the line is locked for the check: two racing
  drawdowns for the last of a limit, one wins).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from lendcore.api.auth import CurrentCustomer, ensure_owner
from lendcore.api.idempotency import IdempotencyKeyDep
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.access import Reader
from lendcore.api.routers.contracts import readable_contract
from lendcore.api.routers.dated import dated_write
from lendcore.api.routers.quotes import Purpose, Term
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel, ContractId, LineId, Money, PositiveFen
from lendcore.auth.principal import Principal
from lendcore.core.errors import BusinessRuleError, NotFoundError
from lendcore.core.schedule import Method
from lendcore.origination.drawdown_check import drawdown_gate
from lendcore.servicing.draw import DrawRequest, DrawResult, draw
from lendcore.servicing.drawdown_quote import DEFAULT_PURPOSE
from lendcore.store.models import CreditLine, Payment

router = APIRouter(prefix=API_PREFIX, tags=["drawdowns"])


def use_case_key(principal: Principal, key: str) -> str:
    """The use case's idempotency key for an API key: API keys are scoped by principal (two customers
    may send the same one), the use case's are global, so the principal is folded in."""
    return "api:" + hashlib.sha256(f"{principal.key}\n{key}".encode()).hexdigest()


class DrawdownBody(ApiModel):
    line_id: LineId
    amount: PositiveFen
    term: Term
    method: Method | None = None
    purpose: Purpose = DEFAULT_PURPOSE
    merchant_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class DrawdownView(BaseModel):
    id: str  # the contract's id
    status: str  # disbursed | processing
    line_id: str
    payment_id: str | None
    payment_state: str | None
    paid_to: str | None
    amount: Money
    term: int
    total_interest: Money
    total_repayable: Money
    apr: str
    available_limit: Money | None

    @classmethod
    def of(cls, result: DrawResult) -> DrawdownView:
        assert result.contract_id is not None and result.quote is not None  # disbursed or processing
        q = result.quote
        return cls(
            id=result.contract_id,
            status=result.status,
            line_id=result.line_id,
            payment_id=result.payment_id,
            payment_state=result.payment_state,
            paid_to=result.paid_to,
            amount=Money.of(q.amount),
            term=q.term,
            total_interest=Money.of(q.total_interest),
            total_repayable=Money.of(q.total_repayable),
            apr=str(q.apr),
            available_limit=Money.of(result.available_limit) if result.available_limit is not None else None,
        )


class DrawdownStatus(BaseModel):
    id: str
    line_id: str
    status: str  # the contract's: pending, active, closed, cancelled …
    amount: Money
    start_date: date
    payment_id: str | None
    payment_state: str | None


def _refusal(result: DrawResult) -> BusinessRuleError:
    if result.status == "declined":
        retry = f"; retry on or after {result.retry_on}" if result.retry_on else ""
        return BusinessRuleError(f"the drawdown was declined{retry}", code="DRAWDOWN_DECLINED")
    return BusinessRuleError(
        "the payout was declined by the payment channel; nothing was lent", code="DISBURSEMENT_FAILED"
    )


@router.post(
    "/drawdowns",
    status_code=201,
    response_model=DrawdownView,
    summary="Confirm a drawdown on a credit line (Idempotency-Key required)",
    responses={
        202: {"model": DrawdownView, "description": "Accepted: the payout is in flight"},
        **problem_responses(400, 401, 403, 404, 409, 422),
    },
)
def create_drawdown(
    body: DrawdownBody,
    principal: CurrentCustomer,
    key: IdempotencyKeyDep,
    state: StateDep,
    response: Response,
) -> DrawdownView:
    with dated_write(state) as (session, on):
        line = session.get(CreditLine, body.line_id)
        if line is None:
            raise NotFoundError("no such credit line", code="LINE_NOT_FOUND")
        ensure_owner(principal, line.customer_id, code="LINE_NOT_FOUND", what="credit line")
        request = DrawRequest(
            line_id=body.line_id,
            amount=body.amount,
            term=body.term,
            business_date=on,
            idempotency_key=use_case_key(principal, key),
            method=body.method,
            purpose=body.purpose,
            merchant_id=body.merchant_id,
        )
        result = draw(session, request, gate=drawdown_gate())
    if result.status not in ("disbursed", "processing"):
        raise _refusal(result)
    if result.status == "processing":
        response.status_code = 202
    response.headers["Location"] = f"{API_PREFIX}/drawdowns/{result.contract_id}"
    return DrawdownView.of(result)


@router.get(
    "/drawdowns/{drawdown_id}",
    response_model=DrawdownStatus,
    summary="A drawdown's status (its contract and its payout)",
    responses=problem_responses(401, 403, 404, 422),
)
def show_drawdown(drawdown_id: ContractId, principal: Reader, state: StateDep) -> DrawdownStatus:
    with state.database.read() as session:
        contract = readable_contract(session, principal, drawdown_id)
        payout = session.scalars(
            select(Payment)
            .where(Payment.contract_id == contract.id, Payment.direction == "outbound")
            .order_by(Payment.requested_at.desc())
        ).first()
        return DrawdownStatus(
            id=contract.id,
            line_id=contract.credit_line_id,
            status=contract.status,
            amount=Money.of(contract.principal),
            start_date=contract.start_date,
            payment_id=payout.id if payout else None,
            payment_state=payout.state if payout else None,
        )
