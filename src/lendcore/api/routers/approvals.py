"""``/api/v1/staff/proposals``: maker-checker (propose, list, show, approve, reject) and
``/api/v1/staff/audit-log``: the append-only audit log. Roles per endpoint: docs/api.md.

Which role may propose or approve a kind is the kind's (:mod:`lendcore.approvals.kinds`); the
endpoints admit any member of staff with a role that could propose (or approve) something, and the
use case refuses the rest (403 ``PERMISSION_DENIED``). Decisions are Idempotency-Key requests: a
retried approval replays its first answer instead of running twice. A proposal is answered as the
use case's own record (:class:`~lendcore.approvals.proposals.ProposalView`, the response model itself:
its fields are declared once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from lendcore.api.auth import require_roles
from lendcore.api.idempotency import IdempotencyKeyDep
from lendcore.api.pagination import Page, PageRequest, page_request, paginate
from lendcore.api.problems import problem_responses
from lendcore.api.ratelimit import client_address
from lendcore.api.routers import API_PREFIX
from lendcore.api.state import StateDep
from lendcore.api.types import ApiModel, ProposalId
from lendcore.approvals.kinds import KINDS
from lendcore.approvals.proposals import ProposalView, ProposeRequest, Staff, approve, propose, reject
from lendcore.auth.principal import Principal, StaffRole
from lendcore.core.errors import NotFoundError
from lendcore.store.models import AuditRecord
from lendcore.store.models_approvals import PROPOSAL_STATUSES, ApprovalProposal

router = APIRouter(prefix=f"{API_PREFIX}/staff", tags=["staff: approvals and audit"])

_MAKERS = require_roles(StaffRole.OPERATOR, StaffRole.RISK, StaffRole.FINANCE)
_READERS = require_roles(StaffRole.VIEWER, StaffRole.OPERATOR, StaffRole.RISK, StaffRole.FINANCE)
Maker = Annotated[Principal, Depends(_MAKERS)]
Reader = Annotated[Principal, Depends(_READERS)]

ProposalKindName = Literal[
    "waive",
    "write-off",
    "payment-reversal",
    "limit-override",
    "line-freeze",
    "line-close",
    "lender-fault",
    "hardship-plan",
    "decision-override",
    "channel-suspense",
]
ProposalStatus = Literal["proposed", "approved", "rejected", "executed", "expired"]
assert set(get_args(ProposalKindName)) == set(KINDS)  # one list of kinds
assert set(get_args(ProposalStatus)) == set(PROPOSAL_STATUSES)


class ProposeBody(ApiModel):
    kind: ProposalKindName
    target_id: str = Field(
        min_length=1,
        max_length=64,
        description="the contract, payment, credit line, customer, decision or channel suspense item",
    )
    reason: str = Field(min_length=1, max_length=500)
    payload: dict[str, Any] = Field(default_factory=dict, description="the kind's parameters (docs/api.md)")


class DecisionBody(ApiModel):
    reason: str | None = Field(default=None, min_length=1, max_length=500)


class RejectBody(ApiModel):
    reason: str = Field(min_length=1, max_length=500)


def _proposal(row: ApprovalProposal) -> ProposalView:
    return ProposalView.of(row)


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    reason: str | None

    @classmethod
    def of(cls, row: AuditRecord) -> AuditOut:
        return cls(
            id=row.id, at=row.at, actor=row.actor, action=row.action, target_type=row.target_type,
            target_id=row.target_id, details=dict(row.details), reason=row.reason,
        )  # fmt: skip


def _staff(principal: Principal, request: Request) -> Staff:
    return Staff(principal.subject, principal.roles, client_address(request))


@router.post(
    "/proposals",
    status_code=201,
    response_model=ProposalView,
    summary="Propose a staff action for a second member of staff to approve",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def create_proposal(
    body: ProposeBody, principal: Maker, request: Request, state: StateDep, _key: IdempotencyKeyDep
) -> ProposalView:
    with state.database.write() as session:
        view = propose(
            session,
            ProposeRequest(body.kind, body.target_id, body.reason, body.payload),
            _staff(principal, request),
            now=state.clock(),
        )
    return view


@router.get(
    "/proposals",
    response_model=Page[ProposalView],
    summary="Proposals, by id (optionally of one status)",
    responses=problem_responses(401, 403, 422),
)
def list_proposals(
    _principal: Reader,
    state: StateDep,
    page: Annotated[PageRequest, Depends(page_request)],
    status: Annotated[ProposalStatus | None, Query()] = None,
) -> Page[ProposalView]:
    statement = select(ApprovalProposal)
    if status is not None:
        statement = statement.where(ApprovalProposal.status == status)
    with state.database.read() as session:
        return paginate(
            session, statement, key=ApprovalProposal.id, page=page, to_item=_proposal,
            list_name=f"proposals:{status or 'all'}",
        )  # fmt: skip


@router.get(
    "/proposals/{proposal_id}",
    response_model=ProposalView,
    summary="One proposal",
    responses=problem_responses(401, 403, 404, 422),
)
def show_proposal(proposal_id: ProposalId, _principal: Reader, state: StateDep) -> ProposalView:
    with state.database.read() as session:
        row = session.get(ApprovalProposal, proposal_id)
        if row is None:
            raise NotFoundError("no such proposal", code="PROPOSAL_NOT_FOUND")
        return ProposalView.of(row)


@router.post(
    "/proposals/{proposal_id}/approve",
    response_model=ProposalView,
    summary="Approve a proposal (by another member of staff) and run it",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def approve_proposal(
    proposal_id: ProposalId,
    body: DecisionBody,
    principal: Maker,
    request: Request,
    state: StateDep,
    _key: IdempotencyKeyDep,
) -> ProposalView:
    with state.database.write() as session:
        view = approve(
            session, proposal_id, _staff(principal, request), now=state.clock(), reason=body.reason
        )
    return view


@router.post(
    "/proposals/{proposal_id}/reject",
    response_model=ProposalView,
    summary="Reject a proposal (a checker), or withdraw it (its proposer)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def reject_proposal(
    proposal_id: ProposalId,
    body: RejectBody,
    principal: Maker,
    request: Request,
    state: StateDep,
    _key: IdempotencyKeyDep,
) -> ProposalView:
    with state.database.write() as session:
        view = reject(session, proposal_id, _staff(principal, request), now=state.clock(), reason=body.reason)
    return view


@router.get(
    "/audit-log",
    response_model=Page[AuditOut],
    summary="The append-only audit log, oldest first (optionally of one target)",
    dependencies=[Depends(require_roles(StaffRole.FINANCE, StaffRole.RISK))],
    responses=problem_responses(401, 403, 422),
)
def list_audit_log(
    state: StateDep,
    page: Annotated[PageRequest, Depends(page_request)],
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditOut]:
    statement = select(AuditRecord)
    if target_type is not None:
        statement = statement.where(AuditRecord.target_type == target_type)
    if target_id is not None:
        statement = statement.where(AuditRecord.target_id == target_id)
    with state.database.read() as session:
        return paginate(
            session, statement, key=AuditRecord.id, page=page, to_item=AuditOut.of,
            list_name=f"audit:{target_type or ''}:{target_id or ''}",
        )  # fmt: skip
