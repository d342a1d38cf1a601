"""``POST /api/v1/repayments``: a customer repays (money-moving: Idempotency-Key required) by amount,
by contract (按合同) or paying off everything (一次性还清), through the channel
(:mod:`lendcore.servicing.repay_channel`): recorded and committed, then submitted with no transaction
open; the in-process channel of development confirms at once and it is booked at once, a real one
(``LENDCORE_CHANNEL_URL``) answers later and the worker books it at its value date. The answer is the
use case's own result: the exact allocation per contract and installment (penalty, fee, interest,
principal, prepaid principal, prepayment fee, customer credit), booked or (processing) planned, never
recomputed here.

* succeeded → 201 (``Location: /api/v1/payments/{id}``); the channel answers later → 202 ``processing``
  with the allocation it will book;
  the channel declined → 409 ``PAYMENT_FAILED`` after the unit of work commits (the failed payment is
  kept, as the use case intends);
* a contract id that is not the customer's → 404 ``CONTRACT_NOT_FOUND``, as if it did not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final

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
from lendcore.api.types import ApiModel, ContractId, InstallmentRef, Money, PositiveFen
from lendcore.core.allocation import Bucket, CustomerMode
from lendcore.core.errors import BusinessRuleError
from lendcore.servicing.repay import ContractRepayment, InstallmentPaid, RepayRequest, RepayResult
from lendcore.servicing.repay_channel import record_repayment, settle_at_once

router = APIRouter(prefix=API_PREFIX, tags=["repayments"])

MAX_CONTRACTS: Final = 50


class RepaymentBody(ApiModel):
    """``by-amount`` needs ``amount``; ``by-contract`` needs ``contract_ids`` (``amount`` optional: the
    payoff of those contracts); ``pay-off-all`` takes neither (the payoff of everything) or an amount."""

    mode: CustomerMode = CustomerMode.BY_AMOUNT
    amount: PositiveFen | None = None
    contract_ids: Annotated[list[ContractId], Field(min_length=1, max_length=MAX_CONTRACTS)] | None = None


class InstallmentPaidView(InstallmentRef):
    bucket: Bucket
    penalty: Money
    fee: Money
    interest: Money
    principal: Money
    settled: bool

    @classmethod
    def of(cls, i: InstallmentPaid) -> InstallmentPaidView:
        return cls(
            period=i.period,
            due_date=i.due_date,
            bucket=i.bucket,
            penalty=Money.of(i.penalty),
            fee=Money.of(i.fee),
            interest=Money.of(i.interest),
            principal=Money.of(i.principal),
            settled=i.settled,
        )


class ContractRepaymentView(BaseModel):
    contract_id: str
    amount: Money
    penalty: Money
    fee: Money
    interest: Money
    principal: Money
    prepaid_principal: Money
    prepayment_fee: Money
    unapplied: Money
    installments: list[InstallmentPaidView]
    status: str
    schedule_version: int | None
    principal_outstanding: Money
    total_outstanding: Money

    @classmethod
    def of(cls, c: ContractRepayment) -> ContractRepaymentView:
        return cls(
            contract_id=c.contract_id,
            amount=Money.of(c.amount),
            penalty=Money.of(c.penalty),
            fee=Money.of(c.fee),
            interest=Money.of(c.interest),
            principal=Money.of(c.principal),
            prepaid_principal=Money.of(c.prepaid_principal),
            prepayment_fee=Money.of(c.prepayment_fee),
            unapplied=Money.of(c.unapplied),
            installments=[InstallmentPaidView.of(i) for i in c.installments],
            status=c.status,
            schedule_version=c.schedule_version,
            principal_outstanding=Money.of(c.principal_outstanding),
            total_outstanding=Money.of(c.total_outstanding),
        )


class RepaymentView(BaseModel):
    payment_id: str
    status: str  # succeeded | processing
    mode: CustomerMode
    amount: Money
    value_date: date
    business_date: date
    contracts: list[ContractRepaymentView]
    unapplied: Money  # of this payment, held as customer credit
    customer_unapplied_balance: Money | None

    @classmethod
    def of(cls, r: RepayResult) -> RepaymentView:
        balance = r.customer_unapplied_balance
        return cls(
            payment_id=r.payment_id,
            status=r.status,
            mode=r.mode,
            amount=Money.of(r.amount),
            value_date=r.value_date,
            business_date=r.business_date,
            contracts=[ContractRepaymentView.of(c) for c in r.contracts],
            unapplied=Money.of(r.unapplied),
            customer_unapplied_balance=Money.of(balance) if balance is not None else None,
        )


@router.post(
    "/repayments",
    status_code=201,
    response_model=RepaymentView,
    summary="Repay by amount, by contract or pay off everything (Idempotency-Key required)",
    responses={
        202: {"model": RepaymentView, "description": "Accepted: the channel has not answered yet"},
        **problem_responses(400, 401, 403, 404, 409, 422),
    },
)
def create_repayment(
    body: RepaymentBody,
    principal: CurrentCustomer,
    key: IdempotencyKeyDep,
    state: StateDep,
    response: Response,
) -> RepaymentView:
    assert principal.customer_id is not None  # CurrentCustomer
    with dated_write(state) as (session, on):
        for contract_id in body.contract_ids or ():
            readable_contract(session, principal, contract_id)  # another customer's: 404
        request = RepayRequest(
            customer_id=principal.customer_id,
            business_date=on,
            idempotency_key=use_case_key(principal, key),
            amount=body.amount,
            mode=body.mode,
            contract_ids=tuple(body.contract_ids) if body.contract_ids is not None else None,
        )
        recorded = record_repayment(session, request, now=state.clock())
    # committed: submitted with no transaction open; the in-process channel confirms at once
    result = settle_at_once(
        state.database.session_factory,
        recorded,
        account_token=f"customer:{principal.customer_id}",
        channel=state.payment_channel,
        now=state.clock(),
    )
    if result.status == "failed":
        raise BusinessRuleError(
            f"the payment channel declined the payment: {result.failure_reason or 'no reason given'}",
            code="PAYMENT_FAILED",
        )
    if result.status == "processing":
        response.status_code = 202
    response.headers["Location"] = f"{API_PREFIX}/payments/{result.payment_id}"
    return RepaymentView.of(result)
