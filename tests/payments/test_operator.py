"""Staff resolve what the machines could not, through the same state machine, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.payments.operator import resolve_issue, resolve_payment
from lendcore.payments.records import Observation, apply_observation, lock_payment
from lendcore.payments.state import EventSource, PaymentState, Verdict
from lendcore.payments.sweeper import sweep_stuck_payments
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord
from lendcore.store.models_payments import PaymentIssue
from tests.payments.support import NOW, events, issues, payment, recorded_payment


def test_a_stuck_payment_marked_failed_by_staff_then_succeeding_late_is_raised_not_flipped(
    session_factory: sessionmaker[Session],
) -> None:
    payment_id = recorded_payment(session_factory)
    sweep_stuck_payments(session_factory, None, now=NOW + timedelta(hours=3))
    with unit_of_work(session_factory) as session:
        applied = resolve_payment(
            session,
            payment_id,
            state=PaymentState.FAILED,
            actor="ops1",
            reason="bank: never received",
            now=NOW,
        )
    assert applied.verdict is Verdict.APPLY
    assert events(session_factory, payment_id)[-1] == ("operator", "transition", "failed")
    with unit_of_work(session_factory) as session:
        late = Observation(EventSource.CALLBACK, PaymentState.SUCCEEDED, "ref_1", 10_000)
        assert (
            apply_observation(session, lock_payment(session, payment_id), late, NOW).verdict
            is Verdict.DISCREPANCY
        )
    assert payment(session_factory, payment_id).state == "failed"
    assert [kind for kind, _ in issues(session_factory)] == ["sla_breached", "late_success_after_failure"]
    with unit_of_work(session_factory, read_only=True) as session:
        assert session.scalar(select(AuditRecord.reason).where(AuditRecord.action == "payment.resolve")) == (
            "bank: never received"
        )


def test_an_issue_is_closed_once_with_what_was_done(session_factory: sessionmaker[Session]) -> None:
    recorded_payment(session_factory)
    sweep_stuck_payments(session_factory, None, now=NOW + timedelta(hours=3))
    with unit_of_work(session_factory, read_only=True) as session:
        issue_id = session.scalars(select(PaymentIssue.id)).one()
    with unit_of_work(session_factory) as session:
        closed = resolve_issue(session, issue_id, actor="ops1", resolution="refunded", now=NOW)
        assert (closed.status, closed.resolved_by) == ("resolved", "ops1")
    with unit_of_work(session_factory) as session, pytest.raises(BusinessRuleError):
        resolve_issue(session, issue_id, actor="ops1", resolution="again", now=NOW)
    with unit_of_work(session_factory) as session, pytest.raises(NotFoundError):
        resolve_issue(session, issue_id + 99, actor="ops1", resolution="x", now=NOW)


@pytest.mark.parametrize(
    ("state", "actor", "reason", "code"),
    [
        (PaymentState.PROCESSING, "ops1", "r", "INVALID_RESOLUTION"),
        (PaymentState.FAILED, " ", "r", "ACTOR_REQUIRED"),
        (PaymentState.FAILED, "ops1", "", "REASON_REQUIRED"),
    ],
)
def test_a_resolution_needs_an_outcome_an_actor_and_a_reason(
    session_factory: sessionmaker[Session], state: PaymentState, actor: str, reason: str, code: str
) -> None:
    payment_id = recorded_payment(session_factory)
    with pytest.raises(ValidationError) as caught, unit_of_work(session_factory) as session:
        resolve_payment(session, payment_id, state=state, actor=actor, reason=reason, now=NOW)
    assert caught.value.code == code
    assert payment(session_factory, payment_id).state == "created"
