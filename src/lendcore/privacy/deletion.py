"""A customer's deletion request (PIPL Art. 47): erase what the law allows, keep what it requires,
and restrict processing of what is kept to storage.

:func:`request_deletion` refuses, writing nothing, while anything is still open between the customer
and the lender (``ERASURE_BLOCKED_OPEN_CONTRACTS``): a contract pending, active or written off (the
debt still exists), a payment in flight, or unapplied money the lender still owes the customer. The
customer is told which, and asks again once they are settled.

Accepted, in one transaction:

* **erased now** (no longer needed for any purpose): the mobile number and its blind index (a number
  is recycled to someone else), the answers of every application (income, savings, debts, marital
  status, contacts given, device), the applications' phone, ID and device hashes, and the free-text
  notes of collection contacts;
* **processing stopped**: every active consent revoked, autopay mandates revoked, cards unbound,
  credit lines closed, the customer closed, and a ``processing_restrictions`` row that every
  processing path checks (:mod:`lendcore.servicing.restrictions`);
* **kept** (the law requires it, :mod:`lendcore.privacy.policy`): name, ID number and birth date
  (identity records), contracts, schedules, transactions, payments, the ledger and card numbers
  (transaction records), decisions (outcome and reasons, no answers), consents (the proof of what was
  agreed), bureau records (reported under 征信业管理条例) and the audit log — until
  ``keep_until``, when the retention job erases the identity (:mod:`lendcore.privacy.retention`).

A second request for the same customer returns the first one's result (nothing new written).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lendcore.core.errors import BusinessRuleError, NotFoundError, ValidationError
from lendcore.core.records import JsonRecord
from lendcore.privacy.policy import AML_RULE, DEFAULT_POLICY, RetentionPolicy
from lendcore.servicing.lines import OPEN_CONTRACT_STATUSES, close_line
from lendcore.store.audit import record_audit
from lendcore.store.engine import for_update
from lendcore.store.models import BankCard, Contract, CreditLine, Customer, Payment, UnappliedFunds
from lendcore.store.models_autopay import AutopayMandate
from lendcore.store.models_origination import Consent, CreditApplication, CreditDecision
from lendcore.store.models_post import CollectionContact
from lendcore.store.models_privacy import PrivacyRequest, ProcessingRestriction

ERASED: Final = (
    "phone number and its blind index",
    "credit application answers (income, savings, debts, marital status, contacts, device)",
    "application phone, ID number and device hashes",
    "collection contact notes",
)
KEPT: Final = (
    ("name, ID number, birth date", AML_RULE),
    ("contracts, schedules, transactions, payments, ledger, card numbers", AML_RULE),
    ("credit decisions (outcome, reasons; no answers)", AML_RULE),
    ("consents", "PIPL Art. 13/14: the proof of the lawful basis of past processing"),
    ("bureau records", "征信业管理条例 Art. 16: kept as reported"),
    ("audit log", "PIPL Art. 54/55: records of processing"),
)
IN_FLIGHT: Final = ("created", "processing")
ERASED_MARK: Final = {"erased": True}


@dataclass(frozen=True, slots=True)
class DeletionRequest(JsonRecord):
    customer_id: str
    business_date: date
    actor: str  # the customer (``cus_…``) or the staff member acting on their written request
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DeletionResult(JsonRecord):
    request_id: str
    customer_id: str
    restricted_on: date
    keep_until: date
    erased: tuple[str, ...]
    kept: tuple[str, ...]
    consents_revoked: int
    lines_closed: tuple[str, ...]


def open_matters(session: Session, customer_id: str) -> dict[str, Any]:
    contracts = session.scalars(
        select(Contract.id)
        .where(Contract.customer_id == customer_id, Contract.status.in_(OPEN_CONTRACT_STATUSES))
        .order_by(Contract.id)
    ).all()
    payments = session.scalars(
        select(Payment.id)
        .where(Payment.customer_id == customer_id, Payment.state.in_(IN_FLIGHT))
        .order_by(Payment.id)
    ).all()
    unapplied = session.scalar(
        select(UnappliedFunds.balance).where(UnappliedFunds.customer_id == customer_id)
    )
    matters: dict[str, Any] = {}
    if contracts:
        matters["contracts"] = list(contracts)
    if payments:
        matters["payments_in_flight"] = list(payments)
    if unapplied:
        matters["unapplied_funds"] = unapplied
    return matters


def _result_of(row: PrivacyRequest) -> DeletionResult:
    return DeletionResult.from_json(row.details["result"])


def request_deletion(
    session: Session, request: DeletionRequest, *, at: datetime, policy: RetentionPolicy = DEFAULT_POLICY
) -> DeletionResult:
    """Accept a deletion request (see the module docstring) or refuse it, writing nothing."""
    if not request.actor.strip():
        raise ValidationError("an actor is required", code="ACTOR_REQUIRED")
    customer = session.scalars(
        for_update(select(Customer).where(Customer.id == request.customer_id))
    ).one_or_none()
    if customer is None:
        raise NotFoundError(f"customer {request.customer_id} not found", code="CUSTOMER_NOT_FOUND")
    existing = session.get(ProcessingRestriction, customer.id)
    if existing is not None and existing.request_id is not None:
        first = session.get(PrivacyRequest, existing.request_id)
        assert first is not None  # foreign key
        return _result_of(first)
    matters = open_matters(session, customer.id)
    if matters:
        raise BusinessRuleError(
            "erasure waits until everything open is settled: "
            + "; ".join(
                f"{k.replace('_', ' ')}: {v if isinstance(v, int) else ', '.join(v)}"
                for k, v in matters.items()
            ),
            code="ERASURE_BLOCKED_OPEN_CONTRACTS",
            **matters,
        )
    on = request.business_date
    revoked = _stop_processing(session, customer, on=on, at=at, actor=request.actor)
    lines = _close_lines(session, customer.id, on=on, actor=request.actor)
    erase_now(session, customer)
    keep_until = policy.identity_kept_until(on)
    row = PrivacyRequest(
        customer_id=customer.id, kind="deletion", actor=request.actor, business_date=on, requested_at=at
    )
    session.add(row)
    session.flush()
    result = DeletionResult(
        row.id,
        customer.id,
        on,
        keep_until,
        ERASED,
        tuple(f"{what} ({rule})" for what, rule in KEPT),
        revoked,
        lines,
    )
    row.details = {"reason": request.reason, "result": result.to_json()}
    session.add(
        ProcessingRestriction(
            customer_id=customer.id,
            restricted_on=on,
            request_id=row.id,
            reason="deletion requested; records kept as the law requires",
            keep_until=keep_until,
        )
    )
    record_audit(
        session,
        actor=request.actor,
        action="privacy.deletion",
        target_type="customer",
        target_id=customer.id,
        details={"request_id": row.id, "keep_until": keep_until.isoformat(), "consents_revoked": revoked},
        reason=request.reason or None,
        at=at,
    )
    return result


def _stop_processing(session: Session, customer: Customer, *, on: date, at: datetime, actor: str) -> int:
    consents = session.scalars(
        select(Consent).where(Consent.customer_id == customer.id, Consent.revoked_at.is_(None))
    ).all()
    for consent in consents:
        consent.revoked_at = max(at, consent.granted_at)
    session.execute(
        update(AutopayMandate)
        .where(AutopayMandate.customer_id == customer.id, AutopayMandate.status == "active")
        .values(status="revoked", revoked_at=at, revoked_by=actor)
    )
    session.execute(
        update(BankCard).where(BankCard.customer_id == customer.id).values(is_default=False, status="unbound")
    )
    customer.status = "closed"
    session.flush()
    return len(consents)


def _close_lines(session: Session, customer_id: str, *, on: date, actor: str) -> tuple[str, ...]:
    ids = session.scalars(
        select(CreditLine.id)
        .where(CreditLine.customer_id == customer_id, CreditLine.status != "closed")
        .order_by(CreditLine.id)
    ).all()
    for line_id in ids:
        close_line(session, line_id, reason_code="PRIVACY_DELETION", business_date=on, actor=actor)
    return tuple(ids)


def erase_now(session: Session, customer: Customer) -> None:
    customer.phone_ciphertext = None
    customer.phone_hash = None
    session.execute(
        update(CreditApplication)
        .where(CreditApplication.customer_id == customer.id)
        .values(form=ERASED_MARK, phone_hash=None, id_number_hash=None, device_id_hash=None)
    )
    session.execute(
        update(CollectionContact).where(CollectionContact.debtor_id == customer.id).values(note=None)
    )
    scrub_decisions(session, select(CreditApplication.id).where(CreditApplication.customer_id == customer.id))
    session.flush()


def scrub_decisions(session: Session, application_ids: Any) -> None:
    """Keep a decision's outcome and reasons, drop the applicant's inputs it was made from."""
    for decision in session.scalars(
        select(CreditDecision).where(CreditDecision.application_id.in_(application_ids))
    ):
        if decision.record.get("inputs") != ERASED_MARK:
            decision.record = {**decision.record, "inputs": ERASED_MARK}
