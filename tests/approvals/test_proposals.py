"""Maker-checker: one member of staff proposes, another with the kind's approver role approves, and
the approval runs the use case; both steps are audited with who, what, when, why and from where."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendcore.approvals.proposals import PROPOSAL_TTL, ProposeRequest, Staff, approve, propose, reject
from lendcore.auth.principal import StaffRole
from lendcore.batch.close import run_daily_close
from lendcore.core.errors import LendcoreError
from lendcore.store.audit import audit_trail
from lendcore.store.engine import unit_of_work
from lendcore.store.models import AuditRecord, Contract, CreditLine
from lendcore.store.models_approvals import ApprovalProposal
from tests.servicing.support import assert_invariants, do_draw, open_line

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
OPERATOR = Staff("stf_operator", frozenset({StaffRole.OPERATOR}), "10.0.0.1")
OPERATOR_2 = Staff("stf_operator2", frozenset({StaffRole.OPERATOR}), "10.0.0.2")
FINANCE = Staff("stf_finance", frozenset({StaffRole.FINANCE}), "10.0.0.3")
RISK = Staff("stf_risk", frozenset({StaffRole.RISK}), "10.0.0.4")
VIEWER = Staff("stf_viewer", frozenset({StaffRole.VIEWER}), "10.0.0.5")
ADMIN = Staff("stf_admin", frozenset({StaffRole.ADMIN}), "10.0.0.6")


def _propose(
    factory: sessionmaker[Session],
    kind: str,
    target: str,
    staff: Staff = OPERATOR,
    now: datetime = NOW,
    payload: dict[str, Any] | None = None,
) -> str:
    request = ProposeRequest(kind, target, "customer complaint #12", payload or {})
    with unit_of_work(factory) as session:
        return propose(session, request, staff, now=now).id


def _code(excinfo: pytest.ExceptionInfo[LendcoreError]) -> str:
    return excinfo.value.code


def _counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with unit_of_work(factory, read_only=True) as session:
        proposals = session.scalar(select(func.count()).select_from(ApprovalProposal)) or 0
        audits = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
        return proposals, audits


def test_freeze_line_proposed_by_operator_runs_when_risk_approves(
    session_factory: sessionmaker[Session],
) -> None:
    _, line_id = open_line(session_factory)
    proposal_id = _propose(session_factory, "line-freeze", line_id)
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and line.status == "active"  # nothing runs on a proposal
    with unit_of_work(session_factory) as session:
        view = approve(
            session, proposal_id, RISK, now=NOW + timedelta(hours=1), reason="confirmed fraud signal"
        )
    assert (view.status, view.decided_by, view.decision_reason) == (
        "executed",
        "stf_risk",
        "confirmed fraud signal",
    )
    assert view.result == {"credit_line_id": line_id, "status": "frozen"}
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and line.status == "frozen"
        trail = [
            (a.action, a.actor, a.reason, a.details["client_ip"])
            for a in audit_trail(session, "proposal", proposal_id)
        ]
        assert trail == [
            ("approval.propose", "stf_operator", "customer complaint #12", "10.0.0.1"),
            ("approval.approve", "stf_risk", "confirmed fraud signal", "10.0.0.4"),
        ]
        line_audit = [a.actor for a in audit_trail(session, "credit_line", line_id)]
        assert "stf_risk" in line_audit  # the line use case audits the approver as its actor


def test_limit_override_changes_the_limit(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory, limit=5_000_000)
    proposal_id = _propose(session_factory, "limit-override", line_id, payload={"new_limit": 2_000_000})
    with unit_of_work(session_factory) as session:
        approve(session, proposal_id, RISK, now=NOW)
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and line.credit_limit == 2_000_000


def test_waive_penalty_approved_by_finance(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    contract_id = do_draw(session_factory, line_id, 1_000_000, 1, method="bullet")["contract_id"]
    run_daily_close(session_factory, date(2026, 4, 11))
    later = datetime(2026, 4, 12, 3, 0, tzinfo=UTC)
    proposal_id = _propose(
        session_factory, "waive", contract_id, now=later, payload={"kind": "penalty", "amount": 1_000}
    )
    with unit_of_work(session_factory) as session:
        view = approve(session, proposal_id, FINANCE, now=later)
    assert view.result is not None and view.result["amount"] == 1_000
    with unit_of_work(session_factory, read_only=True) as session:
        contract = session.get(Contract, contract_id)
        # the waiver is dated on the open business date (04-12): 11 days × 450 accrued, 1,000 waived
        assert contract is not None and contract.penalty_receivable == 11 * 450 - 1_000
    assert_invariants(session_factory)


def test_self_approval_is_refused_and_nothing_is_written(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    proposal_id = _propose(session_factory, "line-freeze", line_id, staff=ADMIN)
    before = _counts(session_factory)
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        approve(session, proposal_id, ADMIN, now=NOW)
    assert _code(excinfo) == "SELF_APPROVAL"
    assert _counts(session_factory) == before
    with unit_of_work(session_factory, read_only=True) as session:
        row = session.get(ApprovalProposal, proposal_id)
        assert row is not None and row.status == "proposed"


def test_approving_twice_is_a_clear_conflict(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    proposal_id = _propose(session_factory, "line-freeze", line_id)
    with unit_of_work(session_factory) as session:
        approve(session, proposal_id, RISK, now=NOW)
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        approve(session, proposal_id, RISK, now=NOW)
    assert _code(excinfo) == "PROPOSAL_ALREADY_DECIDED"
    assert excinfo.value.details == {"status": "executed"}


@pytest.mark.parametrize(
    ("staff", "kind", "code"),
    [
        (VIEWER, "line-freeze", "PERMISSION_DENIED"),  # a viewer proposes nothing
        (RISK, "waive", "PERMISSION_DENIED"),  # waivers are servicing's
        (OPERATOR, "no-such-kind", "UNKNOWN_PROPOSAL_KIND"),
    ],
)
def test_who_may_propose(session_factory: sessionmaker[Session], staff: Staff, kind: str, code: str) -> None:
    _, line_id = open_line(session_factory)
    before = _counts(session_factory)
    with pytest.raises(LendcoreError) as excinfo:
        _propose(session_factory, kind, line_id, staff=staff)
    assert _code(excinfo) == code
    assert _counts(session_factory) == before


@pytest.mark.parametrize("checker", [OPERATOR_2, FINANCE, VIEWER])
def test_only_the_kinds_approver_role_may_approve(
    session_factory: sessionmaker[Session], checker: Staff
) -> None:
    _, line_id = open_line(session_factory)
    proposal_id = _propose(session_factory, "line-freeze", line_id)  # approved by risk only
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        approve(session, proposal_id, checker, now=NOW)
    assert _code(excinfo) == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("kind", "payload", "code"),
    [
        ("waive", {"kind": "everything"}, "INVALID_PROPOSAL_PAYLOAD"),
        ("waive", {"kind": "penalty", "amount": 1.5}, "INVALID_PROPOSAL_PAYLOAD"),
        ("waive", {"kind": "penalty", "amount": True}, "INVALID_PROPOSAL_PAYLOAD"),
        ("waive", {"kind": "penalty", "amount": -1}, "AMOUNT_NOT_POSITIVE"),
        ("waive", {"kind": "penalty", "extra": 1}, "INVALID_PROPOSAL_PAYLOAD"),
        ("line-freeze", {"anything": 1}, "INVALID_PROPOSAL_PAYLOAD"),
        ("limit-override", {}, "INVALID_PROPOSAL_PAYLOAD"),
        ("limit-override", {"new_limit": "1000"}, "INVALID_LIMIT"),
    ],
)
def test_bad_payload_is_refused(
    session_factory: sessionmaker[Session], kind: str, payload: dict[str, Any], code: str
) -> None:
    _, line_id = open_line(session_factory)
    with pytest.raises(LendcoreError) as excinfo:
        _propose(session_factory, kind, line_id, payload=payload)
    assert _code(excinfo) == code


def test_target_must_exist(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(LendcoreError) as excinfo:
        _propose(session_factory, "write-off", "ln_01JF0000000000000000000000")
    assert _code(excinfo) == "CONTRACT_NOT_FOUND"
    with pytest.raises(LendcoreError) as excinfo:
        _propose(session_factory, "line-close", "cl_01JF0000000000000000000000")
    assert _code(excinfo) == "LINE_NOT_FOUND"


def test_reason_required(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        propose(session, ProposeRequest("line-freeze", line_id, "  ", {}), OPERATOR, now=NOW)
    assert _code(excinfo) == "REASON_REQUIRED"


def test_reject_then_approve_is_refused(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    proposal_id = _propose(session_factory, "line-close", line_id)
    with unit_of_work(session_factory) as session:
        view = reject(session, proposal_id, RISK, now=NOW, reason="customer still has a dispute open")
    assert view.status == "rejected"
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        approve(session, proposal_id, RISK, now=NOW)
    assert _code(excinfo) == "PROPOSAL_ALREADY_DECIDED"
    with unit_of_work(session_factory, read_only=True) as session:
        line = session.get(CreditLine, line_id)
        assert line is not None and line.status == "active"


def test_expired_proposal_cannot_be_approved(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    proposal_id = _propose(session_factory, "line-freeze", line_id)
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        approve(session, proposal_id, RISK, now=NOW + PROPOSAL_TTL)
    assert _code(excinfo) == "PROPOSAL_EXPIRED"


def test_unknown_proposal(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        approve(session, "apv_01JF0000000000000000000000", RISK, now=NOW)
    assert _code(excinfo) == "PROPOSAL_NOT_FOUND"


def test_a_refused_use_case_leaves_the_proposal_open(session_factory: sessionmaker[Session]) -> None:
    _, line_id = open_line(session_factory)
    contract_id = do_draw(session_factory, line_id, 1_000_000, 1, method="bullet")["contract_id"]
    proposal_id = _propose(session_factory, "write-off", contract_id)  # not overdue: not eligible
    before = _counts(session_factory)
    with pytest.raises(LendcoreError) as excinfo, unit_of_work(session_factory) as session:
        approve(session, proposal_id, FINANCE, now=NOW)
    assert _code(excinfo) == "WRITE_OFF_NOT_ELIGIBLE"
    assert _counts(session_factory) == before
