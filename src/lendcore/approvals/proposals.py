"""Propose, approve, reject: maker-checker over the staff use cases (the kinds: :mod:`.kinds`).

Each function runs in the caller's unit of work and appends an audit record (who, what, when, why and
from where: the client address) in the same transaction as the change, so neither exists without the
other. Approval locks the proposal, checks it, runs the use case with ``approval:<proposal id>`` as its
idempotency key and marks the proposal ``executed`` with the use case's result; a refusal of the use
case rolls everything back (the proposal stays ``proposed``).

Refusals: ``UNKNOWN_PROPOSAL_KIND``, ``INVALID_PROPOSAL_PAYLOAD``, ``REASON_REQUIRED``, the target's
not-found code, ``PERMISSION_DENIED`` (the role may not propose or approve that kind),
``PROPOSAL_NOT_FOUND``, ``SELF_APPROVAL`` (the proposer approves their own), ``PROPOSAL_ALREADY_DECIDED``
(approved, executed or rejected before), ``PROPOSAL_EXPIRED``; and whatever the use case refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.approvals.kinds import Execution, ProposalKind, check_target, kind_of
from lendcore.auth.errors import PermissionDeniedError
from lendcore.auth.principal import StaffRole
from lendcore.core.errors import ConflictError, NotFoundError
from lendcore.core.records import JsonRecord
from lendcore.servicing.business_day import resolve_business_date
from lendcore.servicing.common import check_text
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models_api import StaffUser
from lendcore.store.models_approvals import ApprovalProposal

#: How long a proposal waits for its checker.
PROPOSAL_TTL: Final = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class Staff:
    """Who acts: a staff id (``stf_…``, what audit records name), its roles and the client address."""

    subject: str
    roles: frozenset[StaffRole]
    client_ip: str | None = None

    def may(self, roles: frozenset[StaffRole]) -> bool:
        return StaffRole.ADMIN in self.roles or bool(self.roles & roles)


@dataclass(frozen=True, slots=True)
class ProposeRequest:
    kind: str
    target_id: str
    reason: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ProposalView(JsonRecord):
    id: str
    kind: str
    target_type: str
    target_id: str
    payload: dict[str, Any]
    reason: str
    proposer: str
    created_at: datetime
    expires_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    result: dict[str, Any] | None

    @classmethod
    def of(cls, row: ApprovalProposal) -> ProposalView:
        return cls(
            row.id, row.kind, row.target_type, row.target_id, dict(row.payload), row.reason, row.proposer,
            row.created_at, row.expires_at, row.status, row.decided_by, row.decided_at,
            row.decision_reason, dict(row.result) if row.result is not None else None,
        )  # fmt: skip


def _audit(
    session: Session, row: ApprovalProposal, staff: Staff, action: str, why: str, at: datetime
) -> None:
    record_audit(
        session,
        actor=staff.subject,
        action=f"approval.{action}",
        target_type="proposal",
        target_id=row.id,
        details={
            "kind": row.kind,
            "target_type": row.target_type,
            "target_id": row.target_id,
            "payload": dict(row.payload),
            "client_ip": staff.client_ip,
        },
        reason=why,
        at=at,
    )


def propose(session: Session, request: ProposeRequest, staff: Staff, *, now: datetime) -> ProposalView:
    """Record a proposal (nothing runs yet)."""
    kind = kind_of(request.kind)
    if not staff.may(kind.proposers):
        raise _denied(kind, "propose", kind.proposers)
    why = check_text(request.reason, "REASON_REQUIRED", "a reason")
    payload = kind.check_payload(request.payload)
    check_target(session, kind, request.target_id)
    row = ApprovalProposal(
        kind=kind.name,
        target_type=kind.target_type,
        target_id=request.target_id,
        payload=payload,
        reason=why,
        proposer=staff.subject,
        proposer_ip=staff.client_ip,
        created_at=now,
        expires_at=now + PROPOSAL_TTL,
        status="proposed",
    )
    session.add(row)
    session.flush()
    _audit(session, row, staff, "propose", why, now)
    return ProposalView.of(row)


def _denied(kind: ProposalKind, what: str, roles: frozenset[StaffRole]) -> PermissionDeniedError:
    names = ", ".join(sorted(r.value for r in roles))
    return PermissionDeniedError(
        f"to {what} a {kind.name} needs a staff role: {names}", code="PERMISSION_DENIED"
    )


def _open_proposal(session: Session, proposal_id: str, now: datetime) -> ApprovalProposal:
    statement = for_update(select(ApprovalProposal).where(ApprovalProposal.id == proposal_id))
    row = session.scalars(statement).one_or_none()
    if row is None:
        raise NotFoundError("no such proposal", code="PROPOSAL_NOT_FOUND")
    if row.status != "proposed":
        raise ConflictError(
            f"the proposal was already decided ({row.status})",
            code="PROPOSAL_ALREADY_DECIDED",
            status=row.status,
        )
    if now >= row.expires_at:
        raise ConflictError("the proposal expired before it was decided", code="PROPOSAL_EXPIRED")
    return row


def approve(
    session: Session, proposal_id: str, staff: Staff, *, now: datetime, reason: str | None = None
) -> ProposalView:
    """Approve and run a proposal (module docstring)."""
    row = _open_proposal(session, proposal_id, now)
    kind = kind_of(row.kind)
    if row.proposer == staff.subject:
        raise PermissionDeniedError(
            "a proposal needs a second member of staff to approve it", code="SELF_APPROVAL"
        )
    if not staff.may(kind.approvers):
        raise _denied(kind, "approve", kind.approvers)
    why = reason.strip() if reason and reason.strip() else row.reason
    on: date = resolve_business_date(session, None, today=now.date())
    result = kind.execute(
        session, Execution(row.id, row.target_id, row.payload, row.reason, staff.subject, on, now)
    )
    row.status, row.result = "executed", result
    _decide(row, staff, why, now)
    session.flush()
    _audit(session, row, staff, "approve", why, now)
    return ProposalView.of(row)


def reject(session: Session, proposal_id: str, staff: Staff, *, now: datetime, reason: str) -> ProposalView:
    """Reject a proposal: a checker (the approver roles of its kind) or its own proposer withdrawing it."""
    why = check_text(reason, "REASON_REQUIRED", "a reason")
    row = _open_proposal(session, proposal_id, now)
    kind = kind_of(row.kind)
    if row.proposer != staff.subject and not staff.may(kind.approvers):
        raise _denied(kind, "reject", kind.approvers)
    row.status = "rejected"
    _decide(row, staff, why, now)
    session.flush()
    _audit(session, row, staff, "reject", why, now)
    return ProposalView.of(row)


def _decide(row: ApprovalProposal, staff: Staff, why: str, now: datetime) -> None:
    row.decided_by, row.decided_ip, row.decided_at, row.decision_reason = (
        staff.subject,
        staff.client_ip,
        now,
        why,
    )


def staff_member(session: Session, username: str, *, client_ip: str | None = None) -> Staff:
    """The active staff user ``username`` as a :class:`Staff` (how the CLI names who acts)."""
    name = username.strip().lower() if isinstance(username, str) else ""
    user = session.scalars(select(StaffUser).where(StaffUser.username == name)).one_or_none()
    if user is None or user.status != "active":
        raise NotFoundError(f"no active staff user {username!r}", code="STAFF_USER_NOT_FOUND")
    return Staff(user.id, frozenset(StaffRole(r) for r in user.roles), client_ip)


def list_proposals(session: Session, *, status: str | None = None, limit: int = 50) -> list[ProposalView]:
    """The most recent proposals (of one status), newest first."""
    statement = select(ApprovalProposal).order_by(ApprovalProposal.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(ApprovalProposal.status == status)
    return [ProposalView.of(row) for row in session.scalars(statement)]
