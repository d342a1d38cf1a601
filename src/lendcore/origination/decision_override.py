"""Decision override: staff decide an application differently from the automated decision (the
``decision-override`` approval kind, :mod:`lendcore.approvals.kinds`: a risk user proposes, another
risk user approves; this module is what the approval runs).

The payload (:func:`check_override_payload`, at proposal time: ``INVALID_PROPOSAL_PAYLOAD`` with the
field) is ``{"outcome": "approved", "credit_limit": fen, "grade": "B" | null}`` or
``{"outcome": "declined"}``. :func:`override_decision` then, on the approver's business date:

* **approve** a declined application: opens the credit line for the application's product with the
  staff's limit and grade (the decision's grade when none is given; ``GRADE_REQUIRED`` if neither);
  an application already approved, or a customer who already holds an open line of the product: sets
  that line's limit and grade (as a review override does; one line per customer and product).
  The limit is within the line bounds and the product's amounts (``LIMIT_OUT_OF_RANGE``), the grade one
  the product prices (``UNKNOWN_GRADE``), never below what the line lends (``LIMIT_BELOW_OUTSTANDING``);
* **decline** an approved application: closes the customer's line of that product (refused while it
  lends: ``LINE_HAS_OUTSTANDING``; nothing is taken back from a customer who borrowed).

Overriding to what the application already is (declined → declined; approved with the same limit and
grade) is ``DECISION_UNCHANGED``. The application's status follows the override (the half-year retry
rule counts it); the automated decision row is kept as it was, the record of what the model said.
Line changes carry reason code ``DECISION_OVERRIDE`` with the proposal; one audit record
``decision.overridden`` names the previous and the new outcome. A human review still open on the
decision is left to its reviewer (it can be confirmed or closed with a note).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.money import Fen
from lendcore.core.records import JsonRecord
from lendcore.origination.review import override_limit_range
from lendcore.products.catalog import Catalog, default_catalog
from lendcore.servicing.lines import (
    change_limit,
    change_pricing_grade,
    check_grade,
    check_line_limit,
    close_line,
    open_credit_line,
)
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models import CreditLine
from lendcore.store.models_origination import CreditApplication, CreditDecision

DECISION_OVERRIDE: Final = "DECISION_OVERRIDE"
OUTCOMES: Final = ("approved", "declined")


def _bad(message: str, field: str) -> ValidationError:
    return ValidationError(message, code="INVALID_PROPOSAL_PAYLOAD", field=field)


def check_override_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload's shape (what can be checked without the database); the normalised payload."""
    unknown = sorted(set(payload) - {"outcome", "credit_limit", "grade"})
    if unknown:
        raise _bad(f"unknown payload field(s): {', '.join(unknown)}", unknown[0])
    outcome = payload.get("outcome")
    if outcome not in OUTCOMES:
        raise _bad("outcome must be approved or declined", "outcome")
    limit, grade = payload.get("credit_limit"), payload.get("grade")
    if outcome == "declined":
        if limit is not None or grade is not None:
            raise _bad(
                "a decline takes no credit_limit or grade", "credit_limit" if limit is not None else "grade"
            )
        return {"outcome": outcome}
    if limit is None:
        raise _bad("an approval needs credit_limit (fen)", "credit_limit")
    if grade is not None and (not isinstance(grade, str) or not 1 <= len(grade) <= 8):
        raise _bad("grade is a pricing grade of the product, e.g. B (or null: the decision's)", "grade")
    return {"outcome": outcome, "credit_limit": check_line_limit(limit), "grade": grade}


@dataclass(frozen=True, slots=True)
class OverrideDecision:
    decision_id: str
    payload: Mapping[str, Any]  # checked by check_override_payload
    reason: str
    actor: str
    business_date: date
    proposal_id: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionOverridden(JsonRecord):
    decision_id: str
    application_id: str
    previous_status: str
    outcome: str
    credit_line_id: str | None
    credit_limit: Fen | None
    grade: str | None


def _open_line(session: Session, application: CreditApplication) -> CreditLine | None:
    """The customer's line of the application's product that is not closed (one at a time)."""
    statement = select(CreditLine).where(
        CreditLine.customer_id == application.customer_id,
        CreditLine.product_code == application.product_code,
        CreditLine.status != "closed",
    )
    return session.scalars(statement.order_by(CreditLine.id)).first()


def _line_reason(request: OverrideDecision, decision: CreditDecision) -> dict[str, Any]:
    return {
        "reason_code": DECISION_OVERRIDE,
        "business_date": request.business_date,
        "actor": request.actor,
        "details": {"decision_id": decision.id, "proposal_id": request.proposal_id, "reason": request.reason},
    }


def _approve(
    session: Session,
    request: OverrideDecision,
    decision: CreditDecision,
    application: CreditApplication,
    catalog: Catalog | None,
) -> tuple[str, Fen, str]:
    payload = check_override_payload(request.payload)
    limit: Fen = payload["credit_limit"]
    grade = payload["grade"] or decision.grade
    if grade is None:
        raise ValidationError(
            "a pricing grade is required to approve this application", code="GRADE_REQUIRED"
        )
    product = (catalog or default_catalog()).get(application.product_code)
    low, high = override_limit_range(product)
    check_line_limit(limit, minimum=low, maximum=high)
    check_grade(product.code, grade, catalog)
    line = _open_line(session, application)
    why = _line_reason(request, decision)
    if line is None:
        opened = open_credit_line(
            session, customer_id=application.customer_id, product_code=application.product_code,
            credit_limit=limit, pricing_grade=grade, catalog=catalog, **why,
        )  # fmt: skip
        return opened.id, limit, grade
    if application.status == "approved" and line.credit_limit == limit and line.pricing_grade == grade:
        raise BusinessRuleError(
            "the application is already approved with this limit and grade", code="DECISION_UNCHANGED"
        )
    change_limit(session, line.id, new_limit=limit, **why)  # LIMIT_BELOW_OUTSTANDING, LINE_CLOSED
    if line.pricing_grade != grade:
        change_pricing_grade(session, line.id, grade=grade, catalog=catalog, **why)
    return line.id, limit, grade


def override_decision(
    session: Session, request: OverrideDecision, *, catalog: Catalog | None = None
) -> DecisionOverridden:
    """Apply a decision override (module docstring); refusals roll nothing forward."""
    decision = session.get(CreditDecision, request.decision_id) if request.decision_id else None
    if decision is None:
        raise NotFoundError("no such decision", code="DECISION_NOT_FOUND")
    application = session.scalars(
        for_update(select(CreditApplication).where(CreditApplication.id == decision.application_id))
    ).one()
    previous = application.status
    outcome = check_override_payload(request.payload)["outcome"]
    line_id: str | None
    limit: Fen | None
    grade: str | None
    if outcome == "approved":
        line_id, limit, grade = _approve(session, request, decision, application, catalog)
    else:
        if previous == "declined":
            raise BusinessRuleError("the application is already declined", code="DECISION_UNCHANGED")
        line = _open_line(session, application)
        if line is not None:
            close_line(session, line.id, **_line_reason(request, decision))  # LINE_HAS_OUTSTANDING
        line_id, limit, grade = (line.id if line else None), None, None
    application.status = outcome
    session.flush()
    result = DecisionOverridden(decision.id, application.id, previous, outcome, line_id, limit, grade)
    record_audit(
        session,
        actor=request.actor,
        action="decision.overridden",
        target_type="decision",
        target_id=decision.id,
        details={**result.to_json(), "proposal_id": request.proposal_id, "model_outcome": decision.outcome},
        reason=request.reason,
        at=None,
    )
    return result
