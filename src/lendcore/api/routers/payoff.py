"""Payoff quotes (一次性结清): what settles one contract, or every open contract of a customer, on a
date, exact to the fen (:func:`lendcore.queries.payoff.payoff_quote`). Read only.

``?date=`` defaults to the open business date; a quote is for a date from the contract's start up to
:data:`MAX_QUOTE_DAYS` after today (``DATE_OUT_OF_RANGE`` beyond: a quote for a date nobody can pay on
is not one).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from lendcore.api.auth import CurrentCustomer
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.access import Reader
from lendcore.api.routers.contracts import readable_contract
from lendcore.api.state import AppState, StateDep
from lendcore.api.types import ContractId, IsoDate, Money
from lendcore.core.errors import BusinessRuleError, ValidationError
from lendcore.queries.payoff import ContractPayoff, PayoffQuote, payoff_quote
from lendcore.servicing.business_day import EARLIEST_BUSINESS_DATE, open_business_date

router = APIRouter(prefix=API_PREFIX, tags=["payoff"])

#: How far after today a payoff may be quoted.
MAX_QUOTE_DAYS: Final = 366

DateQuery = Annotated[
    IsoDate | None, Query(alias="date", description="the payoff date (default: the open business date)")
]


class ContractPayoffView(BaseModel):
    contract_id: str
    product_code: str
    principal: Money
    interest: Money
    penalty: Money
    fee: Money
    prepayment_fee: Money
    total: Money

    @classmethod
    def of(cls, q: ContractPayoff) -> ContractPayoffView:
        return cls(
            contract_id=q.contract_id,
            product_code=q.product_code,
            principal=Money.of(q.principal),
            interest=Money.of(q.interest),
            penalty=Money.of(q.penalty),
            fee=Money.of(q.fee),
            prepayment_fee=Money.of(q.prepayment_fee),
            total=Money.of(q.total),
        )


class PayoffView(BaseModel):
    """Paying ``total`` on ``date`` in ``pay-off-all`` mode closes every contract listed."""

    customer_id: str
    date: date
    contracts: list[ContractPayoffView]
    total: Money

    @classmethod
    def of(cls, q: PayoffQuote) -> PayoffView:
        return cls(
            customer_id=q.customer_id,
            date=q.on,
            contracts=[ContractPayoffView.of(c) for c in q.contracts],
            total=Money.of(q.total),
        )


def quote_date(session: Session, state: AppState, requested: date | None) -> date:
    today = state.clock().date()
    on = requested or open_business_date(session) or today
    if on < EARLIEST_BUSINESS_DATE or on > today + timedelta(days=MAX_QUOTE_DAYS):
        raise ValidationError(
            f"a payoff is quoted for a date from {EARLIEST_BUSINESS_DATE} to {MAX_QUOTE_DAYS} days "
            "from today",
            code="DATE_OUT_OF_RANGE",
        )
    return on


@router.get(
    "/payoff",
    response_model=PayoffView,
    summary="What pays off every open contract of the signed-in customer on a date",
    responses=problem_responses(401, 403, 422),
)
def payoff_all(principal: CurrentCustomer, state: StateDep, on: DateQuery = None) -> PayoffView:
    assert principal.customer_id is not None  # CurrentCustomer
    with state.database.read() as session:
        return PayoffView.of(payoff_quote(session, principal.customer_id, quote_date(session, state, on)))


@router.get(
    "/contracts/{contract_id}/payoff",
    response_model=ContractPayoffView,
    summary="What pays off one contract on a date",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def payoff_contract(
    contract_id: ContractId, principal: Reader, state: StateDep, on: DateQuery = None
) -> ContractPayoffView:
    with state.database.read() as session:
        contract = readable_contract(session, principal, contract_id)
        day = quote_date(session, state, on)
        if day < contract.start_date:
            raise BusinessRuleError(
                f"the contract starts on {contract.start_date}", code="DATE_BEFORE_CONTRACT_START"
            )
        quote = payoff_quote(session, contract.customer_id, day)
        for one in quote.contracts:
            if one.contract_id == contract_id:
                return ContractPayoffView.of(one)
        raise BusinessRuleError("the contract is not open: nothing to pay off", code="CONTRACT_NOT_OPEN")
