"""Maker-checker in the back office (:mod:`lendcore.approvals`): on a contract page a member of staff
proposes a waiver; the approvals queue (``/office/approvals``) lists open proposals, where a second
member of staff with the kind's approver role approves (the use case runs) or rejects.

The page offers no approve button on one's own proposal, and the use case refuses a forced POST
(``SELF_APPROVAL``): the refusal is shown with its code and the HTTP status of the error table, and
nothing is written (the unit of work rolls back).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from lendcore.api.ratelimit import client_address
from lendcore.api.state import AppState, StateDep
from lendcore.approvals.forms import describe
from lendcore.approvals.proposals import (
    ProposalView,
    ProposeRequest,
    Staff,
    approve,
    list_proposals,
    propose,
    reject,
)
from lendcore.auth.principal import Principal
from lendcore.core.errors import LendcoreError
from lendcore.core.money import parse_amount
from lendcore.core.transactions import WaiverKind
from lendcore.error_table import spec_for
from lendcore.queries.contract_ledger import MAX_POSTINGS, contract_postings, dpd_history
from lendcore.queries.loans import loan_view
from lendcore.web.common import Csrf
from lendcore.web.office import is_staff
from lendcore.web.render import page
from lendcore.web.session import check_csrf, session_principal

router = APIRouter(prefix="/office", include_in_schema=False)
#: What a waiver may waive, in the form's order.
WAIVER_KINDS: Final = tuple(k.value for k in WaiverKind)
#: How many decided proposals the queue shows under the open ones.
RECENT_DECISIONS: Final = 20
Reason = Annotated[str, Form(max_length=500)]


def _staff(state: AppState, request: Request) -> Staff | None:
    principal: Principal | None = session_principal(state, request)
    if principal is None or not is_staff(state, request):
        return None
    return Staff(principal.subject, principal.roles, client_address(request))


def _to_login() -> RedirectResponse:
    return RedirectResponse("/office/login", status_code=303)


def _refused(error: LendcoreError) -> tuple[str, int]:
    """The message a page shows for a refusal (with its stable code) and the page's status."""
    return f"{error.message} ({error.code})", spec_for(error).http_status


def contract_page(
    state: AppState, request: Request, contract_id: str, *, status_code: int = 200, **context: Any
) -> Response:
    """The back office's contract page with its waiver form and the contract's proposals."""
    with state.database.read() as session:
        view = loan_view(session, contract_id)
        postings = contract_postings(session, contract_id)
        dpd = dpd_history(session, contract_id)
        proposals = [p for p in list_proposals(session, limit=200) if p.target_id == contract_id]
    return page(
        state, request, "office_contract.html", "contract_title", status_code=status_code,
        signed_in=True, v=view, waiver_kinds=WAIVER_KINDS, proposals=proposals, postings=postings,
        postings_cut=len(postings) >= MAX_POSTINGS, dpd_history=dpd, **context,
    )  # fmt: skip


@router.get("/contracts/{contract_id}")
def office_contract(contract_id: str, request: Request, state: StateDep) -> Response:
    if _staff(state, request) is None:
        return _to_login()
    return contract_page(state, request, contract_id)


@router.post("/contracts/{contract_id}/waive")
def propose_waiver(
    contract_id: str,
    request: Request,
    state: StateDep,
    csrf: Csrf,
    kind: Annotated[str, Form(max_length=16)],
    reason: Reason,
    amount: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Propose a waiver of ``kind`` (``amount`` yuan, empty: all of it); nothing is waived yet."""
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    check_csrf(state, request, csrf)
    try:
        fen = parse_amount(amount, allow_zero=False) if amount.strip() else None
        with state.database.write() as session:
            proposal = propose(
                session,
                ProposeRequest("waive", contract_id, reason, {"kind": kind, "amount": fen}),
                staff,
                now=state.clock(),
            )
    except LendcoreError as error:
        message, status = _refused(error)
        return contract_page(state, request, contract_id, status_code=status, error=message)
    return contract_page(state, request, contract_id, proposed=proposal.id)


def queue_page(
    state: AppState, request: Request, staff: Staff, *, status_code: int = 200, **context: Any
) -> Response:
    with state.database.read() as session:
        open_ = list_proposals(session, status="proposed", limit=200)
        decided = [p for p in list_proposals(session, limit=200) if p.status != "proposed"]
    return page(
        state, request, "office_approvals.html", "approvals_title", status_code=status_code,
        signed_in=True, me=staff.subject, proposals=[_row(p) for p in reversed(open_)],
        decided=[_row(p) for p in decided[:RECENT_DECISIONS]], **context,
    )  # fmt: skip


def _row(view: ProposalView) -> dict[str, Any]:
    amount = view.payload.get("amount")
    return {
        "id": view.id,
        "kind": view.kind,
        "target_type": view.target_type,
        "target_id": view.target_id,
        "what": view.payload.get("kind", ""),
        "amount": amount if isinstance(amount, int) else None,
        "details": describe(view.kind, view.payload),
        "reason": view.reason,
        "proposer": view.proposer,
        "created_at": view.created_at,
        "status": view.status,
        "decided_by": view.decided_by,
        "decision_reason": view.decision_reason,
    }


@router.get("/approvals")
def approvals_queue(request: Request, state: StateDep) -> Response:
    """Open proposals, oldest first, then the recently decided ones."""
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    return queue_page(state, request, staff)


@router.post("/approvals/{proposal_id}/approve")
def approve_proposal(
    proposal_id: str, request: Request, state: StateDep, csrf: Csrf, reason: Reason = ""
) -> Response:
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    check_csrf(state, request, csrf)
    try:
        with state.database.write() as session:
            approve(session, proposal_id, staff, now=state.clock(), reason=reason or None)
    except LendcoreError as error:
        message, status = _refused(error)
        return queue_page(state, request, staff, status_code=status, error=message)
    return queue_page(state, request, staff, decided_id=proposal_id)


@router.post("/approvals/{proposal_id}/reject")
def reject_proposal(
    proposal_id: str, request: Request, state: StateDep, csrf: Csrf, reason: Reason = ""
) -> Response:
    staff = _staff(state, request)
    if staff is None:
        return _to_login()
    check_csrf(state, request, csrf)
    try:
        with state.database.write() as session:
            reject(session, proposal_id, staff, now=state.clock(), reason=reason)
    except LendcoreError as error:
        message, status = _refused(error)
        return queue_page(state, request, staff, status_code=status, error=message)
    return queue_page(state, request, staff, decided_id=proposal_id)
