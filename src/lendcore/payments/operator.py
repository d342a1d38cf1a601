"""What a member of staff does with a payment or an issue: resolve a payment stuck past its SLA after
checking with the channel, and close an issue with what was done. Both audited, with a reason.

An operator's resolution goes through the same state machine as every other source (source
``operator``): it cannot move a terminal state back, and a later contradicting callback (a late
success after the operator marked it failed) is raised as a discrepancy, never applied.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.payments.records import Applied, Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentState
from lendcore.payments.suspense import holds_payment
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models_payments import PaymentIssue

RESOLVABLE = (PaymentState.SUCCEEDED, PaymentState.FAILED)


def _required(value: str | None, code: str, what: str) -> str:
    if value is None or not value.strip() or len(value) > 500:
        raise ValidationError(f"{what} is required (1-500 characters)", code=code)
    return value.strip()


def resolve_payment(
    session: Session,
    payment_id: str,
    *,
    state: PaymentState,
    actor: str,
    reason: str,
    now: datetime,
    failure_code: str | None = None,
) -> Applied:
    """Set the outcome of an open payment as confirmed with the channel by ``actor``."""
    actor = _required(actor, "ACTOR_REQUIRED", "the actor")
    reason = _required(reason, "REASON_REQUIRED", "a reason")
    if state not in RESOLVABLE:
        raise ValidationError(
            "an operator resolves a payment to succeeded or failed", code="INVALID_RESOLUTION"
        )
    payment = lock_payment(session, payment_id)
    if state is PaymentState.SUCCEEDED and holds_payment(session, payment.id):
        # the money is in channel suspense: booking the payment too would count it twice
        raise BusinessRuleError(
            f"payment {payment.id}'s money is held in channel suspense: clear the suspense instead",
            code="SUSPENSE_HOLDS_PAYMENT",
        )
    before = payment.state
    observation = Observation(
        EventSource.OPERATOR,
        state,
        failure_code=failure_code or ("OPERATOR_FAILED" if state is PaymentState.FAILED else None),
        occurred_at=now,
        details={"actor": actor, "reason": reason},
    )
    applied = apply_observation(session, payment, observation, now)
    record_audit(
        session,
        actor=actor,
        action="payment.resolve",
        target_type="payment",
        target_id=payment.id,
        details={"from": before, "to": state.value, "verdict": applied.verdict.value},
        reason=reason,
        at=now,
    )
    return applied


def resolve_issue(
    session: Session, issue_id: int, *, actor: str, resolution: str, now: datetime
) -> PaymentIssue:
    """Close an open issue with what was done about it."""
    actor = _required(actor, "ACTOR_REQUIRED", "the actor")
    resolution = _required(resolution, "REASON_REQUIRED", "the resolution")
    issue = session.scalars(for_update(select(PaymentIssue).where(PaymentIssue.id == issue_id))).one_or_none()
    if issue is None:
        raise NotFoundError(f"no payment issue {issue_id}", code="ISSUE_NOT_FOUND", id=issue_id)
    if issue.status != "open":
        raise BusinessRuleError(f"issue {issue_id} is already resolved", code="ISSUE_ALREADY_RESOLVED")
    issue.status = "resolved"
    issue.resolved_at = now
    issue.resolved_by = actor
    issue.resolution = resolution
    record_audit(
        session,
        actor=actor,
        action="payment_issue.resolve",
        target_type="payment_issue",
        target_id=str(issue.id),
        details={"kind": issue.kind, "payment_id": issue.payment_id},
        reason=resolution,
        at=now,
    )
    session.flush()
    return issue
