"""What can be proposed: one row per kind (its target, who may propose, who may approve, its payload
check and the use case approval runs). Adding a kind is one entry in :data:`KINDS`.

=================  ===========  =================  ==============  ===============================
kind               target       proposed by        approved by     runs
=================  ===========  =================  ==============  ===============================
waive              contract     operator, finance  finance         servicing.waive.waive
write-off          contract     operator, finance  finance         servicing.writeoff.write_off
payment-reversal   payment      operator, finance  finance         servicing.reverse.reverse_payment
limit-override     credit-line  operator, risk     risk            servicing.lines.change_limit
line-freeze        credit-line  operator, risk     risk            servicing.lines.freeze_line
line-close         credit-line  operator, risk     risk            servicing.lines.close_line
lender-fault       customer     operator, finance  finance         servicing.faults.record_manual_fault
hardship-plan      contract     operator           risk, finance   servicing.hardship.make_offer
decision-override  decision     risk               risk            origination.decision_override
channel-suspense   suspense     operator, finance  finance         servicing.suspense_clearing
=================  ===========  =================  ==============  ===============================

``admin`` passes every role check (but is still never the approver of their own proposal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from lendcore.auth.principal import StaffRole
from lendcore.core.errors import NotFoundError, ValidationError
from lendcore.core.loan import WaiverKind
from lendcore.core.restructure import check_periods
from lendcore.origination.decision_override import (
    OverrideDecision,
    check_override_payload,
    override_decision,
)
from lendcore.servicing.common import check_amount
from lendcore.servicing.faults import record_manual_fault
from lendcore.servicing.hardship import MakeOfferRequest, make_offer, restructure_kind
from lendcore.servicing.lines import change_limit, check_line_limit, close_line, freeze_line
from lendcore.servicing.reverse import ReversePaymentRequest, reverse_payment
from lendcore.servicing.suspense_clearing import ACTIONS, ClearSuspense, clear_suspense
from lendcore.servicing.waive import WaiveRequest, waive
from lendcore.servicing.writeoff import WriteOffRequest, write_off
from lendcore.store.models import Base, Contract, CreditLine, Customer, Payment
from lendcore.store.models_origination import CreditDecision
from lendcore.store.models_payments import ChannelSuspense


@dataclass(frozen=True, slots=True)
class Execution:
    """What an approved proposal runs with: the approver acts, on the business date."""

    proposal_id: str
    target_id: str
    payload: Mapping[str, Any]
    reason: str
    actor: str
    business_date: date
    now: datetime

    @property
    def idempotency_key(self) -> str:
        return f"approval:{self.proposal_id}"


Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ProposalKind:
    name: str
    target_type: str
    target_model: type[Base]
    target_code: str  # the not-found code of the target
    proposers: frozenset[StaffRole]
    approvers: frozenset[StaffRole]
    check_payload: Callable[[Mapping[str, Any]], Payload]
    execute: Callable[[Session, Execution], Payload]


def _bad(message: str, field: str) -> ValidationError:
    return ValidationError(message, code="INVALID_PROPOSAL_PAYLOAD", field=field)


def _only(payload: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise _bad(f"unknown payload field(s): {', '.join(unknown)}", unknown[0])


def _no_payload(payload: Mapping[str, Any]) -> Payload:
    _only(payload, frozenset())
    return {}


def _waive_payload(payload: Mapping[str, Any]) -> Payload:
    _only(payload, frozenset({"kind", "amount"}))
    try:
        kind = WaiverKind(str(payload.get("kind")))
    except ValueError:
        raise _bad(f"kind must be one of {', '.join(k.value for k in WaiverKind)}", "kind") from None
    amount = payload.get("amount")
    if amount is not None:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise _bad("amount is an integer number of fen (or null: everything)", "amount")
        check_amount(amount)
    return {"kind": kind.value, "amount": amount}


def _limit_payload(payload: Mapping[str, Any]) -> Payload:
    _only(payload, frozenset({"new_limit"}))
    if "new_limit" not in payload:
        raise _bad("new_limit (fen) is required", "new_limit")
    return {"new_limit": check_line_limit(payload["new_limit"])}


def _day(payload: Mapping[str, Any], field: str) -> str | None:
    value = payload.get(field)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _bad(f"{field} is a date, YYYY-MM-DD", field) from None


def _fault_payload(payload: Mapping[str, Any]) -> Payload:
    _only(payload, frozenset({"starts_on", "ends_on", "contract_id"}))
    starts_on = _day(payload, "starts_on")
    if starts_on is None:
        raise _bad("starts_on (YYYY-MM-DD) is required", "starts_on")
    ends_on = _day(payload, "ends_on")
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError("a fault window cannot end before it starts", code="FAULT_WINDOW_INVALID")
    contract_id = payload.get("contract_id")
    if contract_id is not None and not isinstance(contract_id, str):
        raise _bad("contract_id is a contract id", "contract_id")
    return {"starts_on": starts_on, "ends_on": ends_on, "contract_id": contract_id}


def _run_fault(session: Session, run: Execution) -> Payload:
    ends_on = run.payload.get("ends_on")
    window = record_manual_fault(
        session,
        customer_id=run.target_id,
        starts_on=date.fromisoformat(run.payload["starts_on"]),
        ends_on=date.fromisoformat(ends_on) if ends_on else None,
        contract_id=run.payload.get("contract_id"),
        reason=run.reason,
        actor=run.actor,
        business_date=run.business_date,
    )
    return {
        "fault_id": window.fault_id,
        "customer_id": run.target_id,
        "contract_id": window.contract_id,
        "starts_on": window.starts_on.isoformat(),
        "ends_on": window.ends_on.isoformat() if window.ends_on else None,
    }


def _hardship_payload(payload: Mapping[str, Any]) -> Payload:
    _only(payload, frozenset({"kind", "periods"}))
    kind = restructure_kind(payload.get("kind"))
    periods = payload.get("periods")
    if not isinstance(periods, int) or isinstance(periods, bool):
        raise _bad("periods is a whole number of periods", "periods")
    return {"kind": kind.value, "periods": check_periods(periods)}


def _run_hardship(session: Session, run: Execution) -> Payload:
    # the approval makes the offer; only the customer's acceptance books the restructure
    request = MakeOfferRequest(
        run.target_id,
        run.payload["kind"],
        run.payload["periods"],
        run.proposal_id,
        run.actor,
        run.business_date,
    )
    result: Payload = make_offer(session, request).to_json()
    return result


def _run_waive(session: Session, run: Execution) -> Payload:
    request = WaiveRequest(
        contract_id=run.target_id,
        kind=WaiverKind(run.payload["kind"]),
        reason=run.reason,
        actor=run.actor,
        business_date=run.business_date,
        idempotency_key=run.idempotency_key,
        amount=run.payload.get("amount"),
    )
    result: Payload = waive(session, request).to_json()
    return result


def _run_write_off(session: Session, run: Execution) -> Payload:
    request = WriteOffRequest(run.target_id, run.reason, run.actor, run.business_date, run.idempotency_key)
    result: Payload = write_off(session, request).to_json()
    return result


def _run_reversal(session: Session, run: Execution) -> Payload:
    request = ReversePaymentRequest(
        run.target_id, run.reason, run.actor, run.business_date, run.idempotency_key
    )
    result: Payload = reverse_payment(session, request).to_json()
    return result


def _line_reason(run: Execution) -> dict[str, Any]:
    return {
        "reason_code": "MAKER_CHECKER",
        "business_date": run.business_date,
        "actor": run.actor,
        "details": {"proposal_id": run.proposal_id, "reason": run.reason},
    }


def _run_limit_override(session: Session, run: Execution) -> Payload:
    change = change_limit(session, run.target_id, new_limit=run.payload["new_limit"], **_line_reason(run))
    return {
        "credit_line_id": run.target_id,
        "new_limit": run.payload["new_limit"],
        "changed": change is not None,
    }


def _run_freeze(session: Session, run: Execution) -> Payload:
    freeze_line(session, run.target_id, **_line_reason(run))
    return {"credit_line_id": run.target_id, "status": "frozen"}


def _run_close(session: Session, run: Execution) -> Payload:
    close_line(session, run.target_id, **_line_reason(run))
    return {"credit_line_id": run.target_id, "status": "closed"}


def _run_decision_override(session: Session, run: Execution) -> Payload:
    request = OverrideDecision(
        run.target_id, run.payload, run.reason, run.actor, run.business_date, run.proposal_id
    )
    result: Payload = override_decision(session, request).to_json()
    return result


def _suspense_payload(payload: Mapping[str, Any]) -> Payload:
    _only(payload, frozenset({"action", "contract_id", "reference"}))
    action = payload.get("action")
    if action not in ACTIONS:
        raise _bad(f"action must be one of {', '.join(ACTIONS)}", "action")
    contract_id, reference = payload.get("contract_id"), payload.get("reference")
    for field, value in (("contract_id", contract_id), ("reference", reference)):
        if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > 64):
            raise _bad(f"{field} is 1-64 characters (or null)", field)
    if action == "return" and reference is None:
        raise _bad("a return needs the channel's return reference", "reference")
    if action == "return" and contract_id is not None:
        raise _bad("a return repays no contract", "contract_id")
    return {"action": action, "contract_id": contract_id, "reference": reference}


def _run_suspense(session: Session, run: Execution) -> Payload:
    request = ClearSuspense(
        run.target_id,
        run.payload["action"],
        run.reason,
        run.actor,
        run.business_date,
        contract_id=run.payload.get("contract_id"),
        reference=run.payload.get("reference"),
    )
    result: Payload = clear_suspense(session, request, now=run.now).to_json()
    return result


_SERVICING: Final = frozenset({StaffRole.OPERATOR, StaffRole.FINANCE})
_LINES: Final = frozenset({StaffRole.OPERATOR, StaffRole.RISK})
_FINANCE: Final = frozenset({StaffRole.FINANCE})
_RISK: Final = frozenset({StaffRole.RISK})
_OPERATOR: Final = frozenset({StaffRole.OPERATOR})
_RISK_FINANCE: Final = frozenset({StaffRole.RISK, StaffRole.FINANCE})

KINDS: Final[Mapping[str, ProposalKind]] = {
    kind.name: kind
    for kind in (
        ProposalKind(
            "waive",
            "contract",
            Contract,
            "CONTRACT_NOT_FOUND",
            _SERVICING,
            _FINANCE,
            _waive_payload,
            _run_waive,
        ),
        ProposalKind(
            "write-off",
            "contract",
            Contract,
            "CONTRACT_NOT_FOUND",
            _SERVICING,
            _FINANCE,
            _no_payload,
            _run_write_off,
        ),
        ProposalKind(
            "payment-reversal",
            "payment",
            Payment,
            "PAYMENT_NOT_FOUND",
            _SERVICING,
            _FINANCE,
            _no_payload,
            _run_reversal,
        ),
        ProposalKind(
            "limit-override",
            "credit-line",
            CreditLine,
            "LINE_NOT_FOUND",
            _LINES,
            _RISK,
            _limit_payload,
            _run_limit_override,
        ),
        ProposalKind(
            "line-freeze",
            "credit-line",
            CreditLine,
            "LINE_NOT_FOUND",
            _LINES,
            _RISK,
            _no_payload,
            _run_freeze,
        ),
        ProposalKind(
            "line-close", "credit-line", CreditLine, "LINE_NOT_FOUND", _LINES, _RISK, _no_payload, _run_close
        ),
        ProposalKind(
            "lender-fault",
            "customer",
            Customer,
            "CUSTOMER_NOT_FOUND",
            _SERVICING,
            _FINANCE,
            _fault_payload,
            _run_fault,
        ),
        ProposalKind(
            "hardship-plan",
            "contract",
            Contract,
            "CONTRACT_NOT_FOUND",
            _OPERATOR,
            _RISK_FINANCE,
            _hardship_payload,
            _run_hardship,
        ),
        ProposalKind(
            "decision-override",
            "decision",
            CreditDecision,
            "DECISION_NOT_FOUND",
            _RISK,
            _RISK,
            check_override_payload,
            _run_decision_override,
        ),
        ProposalKind(
            "channel-suspense",
            "suspense",
            ChannelSuspense,
            "SUSPENSE_NOT_FOUND",
            _SERVICING,
            _FINANCE,
            _suspense_payload,
            _run_suspense,
        ),
    )
}


def kind_of(name: str) -> ProposalKind:
    kind = KINDS.get(name)
    if kind is None:
        raise ValidationError(
            f"proposal kind must be one of {', '.join(KINDS)}", code="UNKNOWN_PROPOSAL_KIND", value=name
        )
    return kind


def check_target(session: Session, kind: ProposalKind, target_id: str) -> None:
    if not isinstance(target_id, str) or session.get(kind.target_model, target_id) is None:
        raise NotFoundError(f"no such {kind.target_type}", code=kind.target_code)
