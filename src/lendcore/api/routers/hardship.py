"""A customer's hardship offers (展期 / 重新分期): see the plan, accept or decline it.

* ``GET /api/v1/hardship-offers``: the customer's own offers, newest first, each with its new
  schedule, APR and total cost, status as of the open business date (``expired`` once past it);
* ``GET /api/v1/hardship-offers/{id}``: one of them; another customer's is 404
  ``HARDSHIP_OFFER_NOT_FOUND``, as if it did not exist;
* ``POST …/{id}/accept`` and ``POST …/{id}/decline`` (Idempotency-Key required): the decision, through
  :func:`lendcore.servicing.hardship.accept_offer` / ``decline_offer``; only acceptance books.

Staff make offers through the approvals API (kind ``hardship-plan``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel

from lendcore.api.auth import CurrentCustomer
from lendcore.api.idempotency import IdempotencyKeyDep
from lendcore.api.problems import problem_responses
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.dated import business_date, dated_write
from lendcore.api.routers.drawdowns import use_case_key
from lendcore.api.state import StateDep
from lendcore.api.types import IdOf, Money
from lendcore.servicing.hardship import (
    DecideOfferRequest,
    OfferDecision,
    OfferView,
    accept_offer,
    decline_offer,
    get_offer,
    list_offers,
)

router = APIRouter(prefix=API_PREFIX, tags=["hardship offers"])

HardshipOfferId = Annotated[str, IdOf("hso")]


class InstallmentOut(BaseModel):
    period: int
    start_date: date
    due_date: date
    principal: Money
    interest: Money
    total: Money


class PlanOut(BaseModel):
    kind: str
    periods: int
    principal: Money  # re-planned: every fen still owed
    arrears: Money  # already due, kept as due (not capitalised)
    carried_interest: Money  # accrued on the current period, due with the first new installment
    total_interest: Money
    total_to_pay: Money
    apr: str  # nominal IRR, a fraction ("0.1825" = 18.25 %)
    schedule: list[InstallmentOut]

    @classmethod
    def of(cls, plan: dict[str, Any]) -> PlanOut:
        money = ("principal", "arrears", "carried_interest", "total_interest", "total_to_pay")
        return cls(
            kind=plan["kind"],
            periods=plan["periods"],
            apr=plan["apr"],
            schedule=[
                InstallmentOut(
                    period=r["period"],
                    start_date=r["start_date"],
                    due_date=r["due_date"],
                    principal=Money.of(r["principal"]),
                    interest=Money.of(r["interest"]),
                    total=Money.of(r["total"]),
                )
                for r in plan["schedule"]
            ],
            **{k: Money.of(plan[k]) for k in money},
        )


class OfferOut(BaseModel):
    id: str
    contract_id: str
    status: str  # offered | accepted | declined | expired
    offered_on: date
    expires_on: date
    plan: PlanOut
    txn_id: str | None
    decided_on: date | None

    @classmethod
    def of(cls, view: OfferView) -> OfferOut:
        return cls(
            id=view.id, contract_id=view.contract_id, status=view.status, offered_on=view.offered_on,
            expires_on=view.expires_on, plan=PlanOut.of(view.plan), txn_id=view.txn_id,
            decided_on=view.decided_on,
        )  # fmt: skip


class DecisionOut(BaseModel):
    offer_id: str
    contract_id: str
    status: str
    decided_on: date
    txn_id: str | None
    maturity_date: date | None

    @classmethod
    def of(cls, d: OfferDecision) -> DecisionOut:
        return cls.model_validate(d.to_json())


@router.get(
    "/hardship-offers",
    response_model=list[OfferOut],
    summary="The customer's hardship offers: new schedule, APR and total cost",
    responses=problem_responses(401, 403, 422),  # dated: as of the open business date
)
def my_offers(principal: CurrentCustomer, state: StateDep) -> list[OfferOut]:
    with state.database.read() as session:
        on = business_date(session, state)
        return [OfferOut.of(v) for v in list_offers(session, on=on, customer_id=principal.customer_id)]


@router.get(
    "/hardship-offers/{offer_id}",
    response_model=OfferOut,
    summary="One of the customer's hardship offers",
    responses=problem_responses(401, 403, 404, 422),
)
def my_offer(offer_id: HardshipOfferId, principal: CurrentCustomer, state: StateDep) -> OfferOut:
    with state.database.read() as session:
        on = business_date(session, state)
        return OfferOut.of(get_offer(session, offer_id, on=on, customer_id=principal.customer_id))


def _decide(
    offer_id: str, principal: CurrentCustomer, key: str, state: StateDep, *, accept: bool
) -> DecisionOut:
    assert principal.customer_id is not None  # CurrentCustomer
    with dated_write(state) as (session, on):
        request = DecideOfferRequest(offer_id, principal.customer_id, on, use_case_key(principal, key))
        result = accept_offer(session, request) if accept else decline_offer(session, request)
    return DecisionOut.of(result)


@router.post(
    "/hardship-offers/{offer_id}/accept",
    response_model=DecisionOut,
    summary="Accept a hardship offer: the contract is re-planned (Idempotency-Key required)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def accept(
    offer_id: HardshipOfferId, principal: CurrentCustomer, key: IdempotencyKeyDep, state: StateDep
) -> DecisionOut:
    return _decide(offer_id, principal, key, state, accept=True)


@router.post(
    "/hardship-offers/{offer_id}/decline",
    response_model=DecisionOut,
    summary="Decline a hardship offer: nothing changes (Idempotency-Key required)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def decline(
    offer_id: HardshipOfferId, principal: CurrentCustomer, key: IdempotencyKeyDep, state: StateDep
) -> DecisionOut:
    return _decide(offer_id, principal, key, state, accept=False)
