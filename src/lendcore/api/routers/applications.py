"""``/api/v1/applications`` and ``/api/v1/decisions``: a customer applies for a credit line and gets
the instant decision (:func:`lendcore.origination.applications.apply_for_credit`, with the shipped
scorecard and strategies, idempotent: Idempotency-Key required, rate limited ``applications``); reads
the decision with its explanation (:func:`lendcore.origination.explain.explain_decision`); asks for a
human review (:func:`lendcore.origination.review.request_review`).

The form is the use case's (:func:`~lendcore.origination.applications.parse_form`: amounts in fen,
enums by value; every bad field reported with its own code, unknown form fields refused).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from lendcore.api.auth import CurrentCustomer, ensure_owner
from lendcore.api.idempotency import IdempotencyKeyDep
from lendcore.api.problems import problem_responses
from lendcore.api.ratelimit import rate_limit
from lendcore.api.routers import API_PREFIX
from lendcore.api.routers.access import Reader
from lendcore.api.routers.dated import dated_write
from lendcore.api.routers.drawdowns import use_case_key
from lendcore.api.state import AppState, StateDep
from lendcore.api.types import ApiModel, IdOf, Money
from lendcore.core.errors import NotFoundError
from lendcore.origination.applications import ApplicationRequest, ApplicationResult, Decider, apply_for_credit
from lendcore.origination.explain import explain_decision
from lendcore.origination.review import ReviewAsk, request_review
from lendcore.products.catalog import default_catalog
from lendcore.risk.scorecard import default_scorecard
from lendcore.risk.strategy import default_strategies
from lendcore.store.models_origination import CreditApplication, CreditDecision

router = APIRouter(prefix=API_PREFIX, tags=["applications"])

DecisionId = Annotated[str, IdOf("dec")]
FormValue = Annotated[str, Field(max_length=64)] | int


class ApplicationBody(ApiModel):
    product_code: Annotated[str, Field(min_length=1, max_length=32)]
    form: Annotated[dict[Annotated[str, Field(max_length=40)], FormValue], Field(max_length=20)]
    device_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class ApplicationView(BaseModel):
    application_id: str
    decision_id: str
    outcome: str
    credit_line_id: str | None
    credit_limit: Money | None
    daily_rate: str | None
    apr: str | None
    grade: str | None
    score: int | None
    reason_codes: list[str]
    reasons_zh: list[str]
    reasons_en: list[str]
    retry_on: date | None
    business_date: date

    @classmethod
    def of(cls, r: ApplicationResult) -> ApplicationView:
        return cls(
            application_id=r.application_id,
            decision_id=r.decision_id,
            outcome=r.outcome,
            credit_line_id=r.credit_line_id,
            credit_limit=Money.of(r.credit_limit) if r.credit_limit is not None else None,
            daily_rate=None if r.daily_rate is None else str(r.daily_rate),
            apr=None if r.apr is None else str(r.apr),
            grade=r.grade,
            score=r.score,
            reason_codes=list(r.reason_codes),
            reasons_zh=list(r.reasons_zh),
            reasons_en=list(r.reasons_en),
            retry_on=r.retry_on,
            business_date=r.business_date,
        )


class ReviewBody(ApiModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class ReviewView(BaseModel):
    id: str
    decision_id: str
    status: str
    requested_at: datetime
    reason: str | None


def _decider(state: AppState) -> Decider:
    return Decider(
        scorecard=default_scorecard(),
        strategies=default_strategies(),
        catalog=default_catalog(),
        cipher=state.cipher,
        clock=state.clock,
        perf_counter=time.perf_counter,
    )


@router.post(
    "/applications",
    status_code=201,
    response_model=ApplicationView,
    summary="Apply for a credit line: the instant decision (Idempotency-Key required)",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429),
    dependencies=[Depends(rate_limit("applications"))],
)
def apply(
    body: ApplicationBody,
    principal: CurrentCustomer,
    key: IdempotencyKeyDep,
    state: StateDep,
    response: Response,
) -> ApplicationView:
    assert principal.customer_id is not None
    with dated_write(state) as (session, on):
        request = ApplicationRequest(
            customer_id=principal.customer_id,
            product_code=body.product_code,
            form=dict(body.form),
            device_id=body.device_id,
            business_date=on,
            idempotency_key=use_case_key(principal, key),
        )
        result = apply_for_credit(session, request, decider=_decider(state))
    response.headers["Location"] = f"{API_PREFIX}/decisions/{result.decision_id}"
    return ApplicationView.of(result)


def _owner_of(session: Session, decision_id: str) -> str:
    decision = session.get(CreditDecision, decision_id)
    application = session.get(CreditApplication, decision.application_id) if decision else None
    if application is None:
        raise NotFoundError("no such decision", code="DECISION_NOT_FOUND")
    return str(application.customer_id)


@router.get(
    "/decisions/{decision_id}",
    response_model=dict[str, Any],
    summary="A decision with its explanation (reasons, rule hits, features, contributions, versions)",
    responses=problem_responses(401, 403, 404, 422),
)
def show_decision(decision_id: DecisionId, principal: Reader, state: StateDep) -> dict[str, Any]:
    with state.database.read() as session:
        ensure_owner(principal, _owner_of(session, decision_id), code="DECISION_NOT_FOUND", what="decision")
        return explain_decision(session, decision_id)


@router.post(
    "/decisions/{decision_id}/review",
    status_code=201,
    response_model=ReviewView,
    summary="Ask for a human review of a decision",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def ask_for_review(
    decision_id: DecisionId, body: ReviewBody, principal: CurrentCustomer, state: StateDep
) -> ReviewView:
    with state.database.write() as session:
        ensure_owner(principal, _owner_of(session, decision_id), code="DECISION_NOT_FOUND", what="decision")
        ask = ReviewAsk(decision_id, requested_by=principal.subject, reason=body.reason)
        review = request_review(session, ask, at=state.clock())
        return ReviewView(
            id=review.id,
            decision_id=review.decision_id,
            status=review.status,
            requested_at=review.requested_at,
            reason=review.reason,
        )
