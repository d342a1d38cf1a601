"""Clearing channel suspense: the only way money leaves account 2241.03
(:mod:`lendcore.payments.suspense`).

:func:`clear_suspense` runs when a second person approves a ``channel-suspense`` proposal
(:mod:`lendcore.approvals.kinds`), in that unit of work, audited (``channel_suspense.clear``). The item
is locked and must be open (``SUSPENSE_NOT_FOUND``, ``SUSPENSE_ALREADY_CLEARED``); then one of:

* ``apply``: the money is the payer's repayment. A payment of its own is written (inbound, already
  ``succeeded``, source ``operator``, key ``suspense:<item>``), value-dated when the payer paid (the
  item's value date: a customer whose success we held as failed is not late for our mistake), and
  settled like any repayment: by the original payment's allocation, or on ``contract_id`` when named
  (required when the statement row named no payment of ours). The contract must be the payer's
  (``SUSPENSE_OTHER_CUSTOMER``) and able to take money (``CONTRACT_NOT_OPEN``).
* ``return``: the channel gave the money back to the payer (退汇), ``reference`` its return reference.

Either posts Dr 2241.03 channel suspense, Cr 1002.01 cash (a repayment then books Dr 1002.01 as
always), closes the item and the issue that raised it. Refusals write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.allocation import CustomerMode
from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.ledger import Account
from lendcore.core.money import Fen
from lendcore.payments.records import record_event
from lendcore.payments.state import EventSource, PaymentDirection, PaymentState
from lendcore.payments.suspense import post_suspense_entry
from lendcore.servicing.credit import CREDIT_HOLDING_STATUSES
from lendcore.servicing.settlement import settle_payment
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models import Contract, Payment
from lendcore.store.models_payments import ChannelSuspense, PaymentIssue

Action = Literal["apply", "return"]
ACTIONS: Final[tuple[Action, ...]] = ("apply", "return")


@dataclass(frozen=True, slots=True)
class ClearSuspense:
    suspense_id: str
    action: Action
    reason: str
    actor: str
    business_date: date
    contract_id: str | None = None  # apply: the contract to repay (else the payment's allocation)
    reference: str | None = None  # return: the channel's return reference


@dataclass(frozen=True, slots=True)
class Cleared:
    suspense_id: str
    action: Action
    amount: Fen
    entry_id: str
    payment_id: str | None
    outcome: str | None  # what settling the repayment did (booked, credited …)

    def to_json(self) -> dict[str, Any]:
        return {
            "suspense_id": self.suspense_id,
            "action": self.action,
            "amount": self.amount,
            "entry_id": self.entry_id,
            "payment_id": self.payment_id,
            "outcome": self.outcome,
        }


def lock_suspense(session: Session, suspense_id: str) -> ChannelSuspense:
    stmt = for_update(select(ChannelSuspense).where(ChannelSuspense.id == suspense_id))
    item = session.scalars(stmt).one_or_none()
    if item is None:
        raise NotFoundError(f"no channel suspense {suspense_id}", code="SUSPENSE_NOT_FOUND", id=suspense_id)
    return item


def _payer_contract(session: Session, item: ChannelSuspense, contract_id: str | None) -> Contract | None:
    """The contract named for ``apply`` (checked), or ``None`` to use the payment's allocation."""
    if contract_id is None:
        if item.payment_id is None:
            raise ValidationError(
                "the statement row named no payment of ours: say which contract it repays",
                code="SUSPENSE_CONTRACT_REQUIRED",
                field="contract_id",
            )
        return None
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError(f"no contract {contract_id}", code="CONTRACT_NOT_FOUND", id=contract_id)
    if item.customer_id is not None and contract.customer_id != item.customer_id:
        raise BusinessRuleError(
            f"contract {contract_id} is not the payer's ({item.customer_id})", code="SUSPENSE_OTHER_CUSTOMER"
        )
    if contract.status not in CREDIT_HOLDING_STATUSES:
        raise BusinessRuleError(
            f"contract {contract_id} is {contract.status}: it cannot take money", code="CONTRACT_NOT_OPEN"
        )
    return contract


def _repayment(session: Session, item: ChannelSuspense, contract: Contract | None, now: datetime) -> Payment:
    original = session.get(Payment, item.payment_id) if item.payment_id else None
    contract_id: str | None
    if contract is not None:
        customer_id, contract_id = contract.customer_id, contract.id
        allocation: dict[str, Any] = {"mode": CustomerMode.BY_CONTRACT.value, "contract_ids": [contract.id]}
    else:
        assert original is not None  # _payer_contract requires a contract otherwise
        customer_id, contract_id = original.customer_id, original.contract_id
        allocation = {
            key: value for key, value in (original.allocation or {}).items() if key != "scheduled_id"
        }
    payment = Payment(
        direction=PaymentDirection.INBOUND.value,
        customer_id=customer_id,
        contract_id=contract_id,
        purpose="repayment",
        amount=item.amount,
        state=PaymentState.SUCCEEDED.value,
        channel=item.channel,
        idempotency_key=f"suspense:{item.id}",
        requested_at=now,
        settled_at=now,
        value_date=item.value_date,
        attempts=0,
        query_attempts=0,
        allocation={**allocation, "suspense_id": item.id},
    )
    session.add(payment)
    session.flush()
    details = {"suspense_id": item.id, "channel_reference": item.channel_reference}
    record_event(session, payment, source=EventSource.OPERATOR, kind="created", to_state="created", now=now)
    record_event(
        session,
        payment,
        source=EventSource.OPERATOR,
        kind="transition",
        from_state=PaymentState.CREATED.value,
        to_state=PaymentState.SUCCEEDED.value,
        now=now,
        details=details,
    )
    return payment


def _check(request: ClearSuspense) -> None:
    if request.action not in ACTIONS:
        raise ValidationError("action is apply or return", code="INVALID_PROPOSAL_PAYLOAD", field="action")
    if request.action == "return":
        reference = request.reference
        if reference is None or not reference.strip() or len(reference) > 64:
            raise ValidationError(
                "a return needs the channel's return reference (1-64 characters)",
                code="SUSPENSE_REFERENCE_REQUIRED",
                field="reference",
            )


def clear_suspense(session: Session, request: ClearSuspense, *, now: datetime) -> Cleared:
    """Clear one open item by ``request.action`` (module docstring), in the caller's transaction."""
    _check(request)
    item = lock_suspense(session, request.suspense_id)
    if item.status != "open":
        raise BusinessRuleError(
            f"channel suspense {item.id} is already {item.status}", code="SUSPENSE_ALREADY_CLEARED"
        )
    payment: Payment | None = None
    outcome: str | None = None
    if request.action == "apply":
        contract = _payer_contract(session, item, request.contract_id)
        payment = _repayment(session, item, contract, now)
    entry = post_suspense_entry(
        session,
        debit=Account.CHANNEL_SUSPENSE,
        credit=Account.CASH,
        amount=item.amount,
        on=request.business_date,
        description=f"channel suspense {item.id} {request.action}",
        customer_id=payment.customer_id if payment is not None else item.customer_id,
        payment_id=payment.id if payment is not None else None,
    )
    if payment is not None:
        outcome = settle_payment(session, payment.id, today=request.business_date, now=now).outcome
    item.status = "applied" if request.action == "apply" else "returned"
    item.cleared_at, item.cleared_by, item.clearing_reason = now, request.actor, request.reason
    item.clearing_reference = request.reference.strip() if request.reference else None
    item.applied_payment_id = payment.id if payment is not None else None
    item.clearing_entry_id = entry.id
    _close_issue(session, item, request, now)
    record_audit(
        session,
        actor=request.actor,
        action="channel_suspense.clear",
        target_type="channel_suspense",
        target_id=item.id,
        details={"action": request.action, "amount": item.amount, "payment_id": item.applied_payment_id},
        reason=request.reason,
        at=now,
    )
    session.flush()
    return Cleared(item.id, request.action, item.amount, entry.id, item.applied_payment_id, outcome)


def _close_issue(session: Session, item: ChannelSuspense, request: ClearSuspense, now: datetime) -> None:
    issue = session.scalars(for_update(select(PaymentIssue).where(PaymentIssue.id == item.issue_id))).one()
    if issue.status == "open":
        issue.status, issue.resolved_at, issue.resolved_by = "resolved", now, request.actor
        issue.resolution = f"channel suspense {item.id} {request.action}: {request.reason}"
