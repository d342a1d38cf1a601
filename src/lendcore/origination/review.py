"""Human review of automated decisions (PIPL Art. 24: 个人有权要求个人信息处理者予以说明 … 拒绝仅通过
自动化决策的方式作出决定).

* :func:`request_review` – the customer (or staff on their behalf) asks for review of a decision:
  a ``review_requests`` row in status ``queued`` (one open review per decision:
  ``REVIEW_ALREADY_OPEN``).
* :func:`list_reviews` – the staff queue, oldest first.
* :func:`confirm_review` – a staff member confirms the automated decision (``confirmed``).
* :func:`propose_override` (maker) then :func:`approve_override` (checker, a different person:
  ``MAKER_CHECKER_VIOLATION``; nor the requester: ``REVIEWER_IS_REQUESTER``) – ``overridden``.
  Overriding a decline opens a credit line with the staff-set limit and grade; overriding an approval
  sets the line's limit and pricing grade (``REVIEW_OVERRIDE``). The proposal is validated when it is
  made (limit within the line bounds and the product's amounts, grade one the product prices). The
  application's status follows the override (so the half-year rule counts it); the automated
  decision row is kept as it was.
* :func:`resolve_review` – one entry point (``confirm`` | ``override``) for the CLI.

Each use case takes a frozen request (:class:`ReviewAsk`, :class:`ConfirmReview`, :class:`ProposeOverride`,
:class:`ApproveOverride`, :class:`ResolveReview`; the timestamp ``at`` and the catalog are collaborators)
and returns the review as a typed :class:`ReviewResult`. Every staff action appends an audit record in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.products.catalog import Catalog, Product, default_catalog
from lendcore.servicing.lines import (
    MAX_LINE_LIMIT,
    MIN_LINE_LIMIT,
    change_limit,
    change_pricing_grade,
    check_grade,
    check_line_limit,
    open_credit_line,
    outstanding_principal,
)
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models import CreditLine
from lendcore.store.models_origination import CreditApplication, CreditDecision, ReviewRequest

OPEN_STATUSES: Final = ("queued", "proposed")
REVIEW_OVERRIDE: Final = "REVIEW_OVERRIDE"


@dataclass(frozen=True, slots=True)
class ReviewAsk:
    """Ask for human review of a decision (the customer, or staff on their behalf)."""

    decision_id: str
    requested_by: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmReview:
    review_id: str
    staff: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ProposeOverride:
    """The maker's proposal: a limit, and a grade (``None``: the decision's)."""

    review_id: str
    staff: str
    credit_limit: Fen
    grade: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ApproveOverride:
    """The checker's approval of the pending proposal, applied on ``business_date``."""

    review_id: str
    staff: str
    business_date: date
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ResolveReview:
    """``confirm`` or ``override`` (the latter approves the pending proposal: maker-checker)."""

    review_id: str
    staff: str
    action: str
    business_date: date
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewResult(JsonRecord):
    """A review as it stands after the use case (its JSON form is the CLI's ``review list`` row)."""

    id: str
    decision_id: str
    status: str
    requested_by: str
    requested_at: datetime
    reason: str | None
    proposed_by: str | None
    proposed_limit: Fen | None
    proposed_grade: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None
    credit_line_id: str | None

    @classmethod
    def of(cls, review: ReviewRequest) -> ReviewResult:
        return cls(
            id=review.id,
            decision_id=review.decision_id,
            status=review.status,
            requested_by=review.requested_by,
            requested_at=review.requested_at,
            reason=review.reason,
            proposed_by=review.proposed_by,
            proposed_limit=review.proposed_limit,
            proposed_grade=review.proposed_grade,
            resolved_by=review.resolved_by,
            resolved_at=review.resolved_at,
            resolution_note=review.resolution_note,
            credit_line_id=review.credit_line_id,
        )


def _actor(name: str, what: str) -> str:
    if not name or not name.strip():
        raise ValidationError(f"{what} is required", code="ACTOR_REQUIRED")
    return name.strip()


def _lock_review(session: Session, review_id: str) -> ReviewRequest:
    row = session.scalars(
        for_update(select(ReviewRequest).where(ReviewRequest.id == review_id))
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"review {review_id} not found", code="REVIEW_NOT_FOUND")
    return row


def _audit(
    session: Session, review: ReviewRequest, actor: str, action: str, at: datetime, **details: Any
) -> None:
    record_audit(
        session,
        actor=actor,
        action=f"review.{action}",
        target_type="review_request",
        target_id=review.id,
        details={"decision_id": review.decision_id, "status": review.status, **details},
        reason=review.resolution_note if action in ("confirmed", "overridden") else None,
        at=at,
    )


def request_review(session: Session, request: ReviewAsk, *, at: datetime) -> ReviewResult:
    """Queue a decision for human review."""
    decision_id, reason = request.decision_id, request.reason
    requested_by = _actor(request.requested_by, "the requester")
    decision = session.get(CreditDecision, decision_id)
    if decision is None:
        raise NotFoundError(f"decision {decision_id} not found", code="DECISION_NOT_FOUND")
    open_review = session.scalar(
        select(ReviewRequest.id).where(
            ReviewRequest.decision_id == decision_id, ReviewRequest.status.in_(OPEN_STATUSES)
        )
    )
    if open_review is not None:
        raise BusinessRuleError(
            "a review of this decision is already open", code="REVIEW_ALREADY_OPEN", review_id=open_review
        )
    review = ReviewRequest(
        decision_id=decision_id, requested_by=requested_by, reason=reason, requested_at=at, status="queued"
    )
    session.add(review)
    session.flush()
    _audit(session, review, requested_by, "requested", at)
    return ReviewResult.of(review)


def list_reviews(session: Session, *, status: str | None = "queued") -> Sequence[ReviewRequest]:
    """Reviews in ``status`` (``None``: all; ``open``: queued or proposed), oldest first."""
    query = select(ReviewRequest).order_by(ReviewRequest.requested_at, ReviewRequest.id)
    if status == "open":
        query = query.where(ReviewRequest.status.in_(OPEN_STATUSES))
    elif status is not None:
        query = query.where(ReviewRequest.status == status)
    return session.scalars(query).all()


def review_row(review: ReviewRequest) -> dict[str, Any]:
    return ReviewResult.of(review).to_json()


def _check_open(review: ReviewRequest) -> None:
    if review.status not in OPEN_STATUSES:
        raise BusinessRuleError(f"the review is already {review.status}", code="REVIEW_ALREADY_RESOLVED")


def confirm_review(session: Session, request: ConfirmReview, *, at: datetime) -> ReviewResult:
    """Uphold the automated decision (any pending override proposal is dropped)."""
    staff = _actor(request.staff, "the staff member")
    review = _lock_review(session, request.review_id)
    _check_open(review)
    review.status = "confirmed"
    review.resolved_by = staff
    review.resolved_at = at
    review.resolution_note = request.note
    session.flush()
    _audit(session, review, staff, "confirmed", at)
    return ReviewResult.of(review)


def propose_override(
    session: Session, request: ProposeOverride, *, at: datetime, catalog: Catalog | None = None
) -> ReviewResult:
    """Maker step: propose a new outcome (a limit, and a grade: by default the decision's).

    The proposal is checked now, against what the checker's step will apply, so an impossible one
    never waits in the queue: the limit within the line bounds and the product's amounts
    (``LIMIT_OUT_OF_RANGE``), not below what the open line already lends (``LIMIT_BELOW_OUTSTANDING``),
    the grade one the product prices (``UNKNOWN_GRADE``)."""
    staff = _actor(request.staff, "the staff member")
    credit_limit = request.credit_limit
    review = _lock_review(session, request.review_id)
    _check_open(review)
    if staff == review.requested_by:
        raise BusinessRuleError("the requester cannot review their own request", code="REVIEWER_IS_REQUESTER")
    if not isinstance(credit_limit, int) or isinstance(credit_limit, bool) or credit_limit <= 0:
        raise ValidationError("the proposed limit must be a positive amount in fen", code="INVALID_LIMIT")
    decision = session.get(CreditDecision, review.decision_id)
    assert decision is not None
    grade = decision.grade if request.grade is None else request.grade
    if grade is None:
        raise ValidationError("a pricing grade is required to override this decision", code="GRADE_REQUIRED")
    _check_proposal(session, decision, credit_limit, grade, catalog)
    review.status = "proposed"
    review.proposed_by = staff
    review.proposed_at = at
    review.proposed_limit = credit_limit
    review.proposed_grade = grade
    review.resolution_note = request.note
    session.flush()
    _audit(session, review, staff, "override_proposed", at, proposed_limit=credit_limit, proposed_grade=grade)
    return ReviewResult.of(review)


def override_limit_range(product: Product) -> tuple[Fen, Fen]:
    """The limits staff may set on an override: within a line's bounds and the product's amounts."""
    return max(MIN_LINE_LIMIT, product.min_amount), min(MAX_LINE_LIMIT, product.max_amount)


def _check_proposal(
    session: Session, decision: CreditDecision, credit_limit: Fen, grade: str, catalog: Catalog | None
) -> None:
    application = session.get(CreditApplication, decision.application_id)
    assert application is not None
    product = (catalog or default_catalog()).get(application.product_code)
    low, high = override_limit_range(product)
    check_line_limit(credit_limit, minimum=low, maximum=high)
    check_grade(product.code, grade, catalog)
    line = None if decision.credit_line_id is None else session.get(CreditLine, decision.credit_line_id)
    if line is not None and line.status != "closed":
        owed = outstanding_principal(session, line.id)
        if credit_limit < owed:
            raise BusinessRuleError(
                "the proposed limit is below the line's outstanding principal",
                code="LIMIT_BELOW_OUTSTANDING",
                outstanding=owed,
            )


def approve_override(
    session: Session, request: ApproveOverride, *, at: datetime, catalog: Catalog | None = None
) -> ReviewResult:
    """Checker step: apply the proposed override (a different staff member than the maker)."""
    staff = _actor(request.staff, "the staff member")
    business_date = request.business_date
    review = _lock_review(session, request.review_id)
    _check_open(review)
    if review.status != "proposed" or review.proposed_limit is None or review.proposed_by is None:
        raise BusinessRuleError("no override has been proposed for this review", code="OVERRIDE_NOT_PROPOSED")
    if staff == review.proposed_by:
        raise BusinessRuleError(
            "the override must be approved by someone other than its proposer", code="MAKER_CHECKER_VIOLATION"
        )
    if staff == review.requested_by:
        raise BusinessRuleError("the requester cannot review their own request", code="REVIEWER_IS_REQUESTER")
    decision = session.get(CreditDecision, review.decision_id)
    assert decision is not None
    application = session.get(CreditApplication, decision.application_id)
    assert application is not None
    details = {
        "review_id": review.id,
        "decision_id": decision.id,
        "maker": review.proposed_by,
        "checker": staff,
    }
    line_id: str | None = decision.credit_line_id
    line = None if line_id is None else session.get(CreditLine, line_id)
    if line is not None and line.status != "closed":
        change_limit(
            session,
            line.id,
            new_limit=review.proposed_limit,
            reason_code=REVIEW_OVERRIDE,
            business_date=business_date,
            actor=staff,
            details=details,
        )
        if review.proposed_grade is not None:  # the staff's grade prices the line from now on
            change_pricing_grade(
                session,
                line.id,
                grade=review.proposed_grade,
                reason_code=REVIEW_OVERRIDE,
                business_date=business_date,
                actor=staff,
                details=details,
                catalog=catalog,
            )
    else:
        opened = open_credit_line(
            session,
            customer_id=application.customer_id,
            product_code=application.product_code,
            credit_limit=review.proposed_limit,
            pricing_grade=review.proposed_grade or "C",
            business_date=business_date,
            actor=staff,
            reason_code=REVIEW_OVERRIDE,
            details=details,
            catalog=catalog,
        )
        line_id = opened.id
    application.status = "approved"
    review.status = "overridden"
    review.resolved_by = staff
    review.resolved_at = at
    if request.note:
        review.resolution_note = request.note
    review.credit_line_id = line_id
    session.flush()
    _audit(
        session, review, staff, "overridden", at, credit_line_id=line_id, credit_limit=review.proposed_limit
    )
    return ReviewResult.of(review)


def resolve_review(
    session: Session, request: ResolveReview, *, at: datetime, catalog: Catalog | None = None
) -> ReviewResult:
    """``confirm`` or ``override`` (the latter approves the pending proposal: maker-checker)."""
    if request.action == "confirm":
        return confirm_review(session, ConfirmReview(request.review_id, request.staff, request.note), at=at)
    if request.action == "override":
        approval = ApproveOverride(request.review_id, request.staff, request.business_date, request.note)
        return approve_override(session, approval, at=at, catalog=catalog)
    raise ValidationError("action must be confirm or override", code="INVALID_REVIEW_ACTION")
