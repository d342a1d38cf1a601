"""A decision explained to the customer, and their request for human review (PIPL Art. 24); the
back office's review queue. The explanation is :func:`lendcore.origination.explain.explain_decision`
(no PII: the context carries the age, not the birth date)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from lendcore.api.state import StateDep
from lendcore.core.errors import LendcoreError, NotFoundError
from lendcore.origination.explain import explain_decision
from lendcore.origination.review import ReviewAsk, list_reviews, request_review, review_row
from lendcore.web.common import Csrf, customer_of, signed_in_page
from lendcore.web.office import is_staff
from lendcore.web.render import page
from lendcore.web.session import check_csrf

router = APIRouter(include_in_schema=False)


def _explained(
    state: StateDep, request: Request, customer_id: str, decision_id: str, **context: object
) -> Response:
    with state.database.read() as session:
        why = explain_decision(session, decision_id)
    if why["customer_id"] != customer_id:  # another customer's decision is not found (as in the API)
        raise NotFoundError("no such decision", code="DECISION_NOT_FOUND")
    contributions = sorted(why.get("contributions") or [], key=lambda c: c["points"] - c["max_points"])
    return signed_in_page(
        state, request, "explain.html", "explain_title", why=why, contributions=contributions, **context
    )


@router.get("/app/decisions/{decision_id}")
def explain_page(decision_id: str, request: Request, state: StateDep) -> Response:
    customer_id = customer_of(state, request)
    return _explained(state, request, customer_id, decision_id)


@router.post("/app/decisions/{decision_id}/review")
def ask_for_review(
    decision_id: str,
    request: Request,
    state: StateDep,
    csrf: Csrf,
    reason: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    customer_id = customer_of(state, request)
    check_csrf(state, request, csrf)
    with state.database.read() as session:
        owner = explain_decision(session, decision_id)["customer_id"]
    if owner != customer_id:
        raise NotFoundError("no such decision", code="DECISION_NOT_FOUND")
    try:
        with state.database.write() as session:
            review = request_review(
                session,
                ReviewAsk(decision_id, requested_by=customer_id, reason=reason or None),
                at=state.clock(),
            )
            review_id = review.id
    except LendcoreError as error:
        return _explained(state, request, customer_id, decision_id, error=error.message)
    return _explained(state, request, customer_id, decision_id, review_id=review_id)


@router.get("/office/reviews")
def review_queue(request: Request, state: StateDep) -> Response:
    if not is_staff(state, request):
        return RedirectResponse("/office/login", status_code=303)
    with state.database.read() as session:
        rows = [review_row(r) for r in list_reviews(session, status="open")]
    return page(state, request, "office_reviews.html", "reviews_title", signed_in=True, reviews=rows)
