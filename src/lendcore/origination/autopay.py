"""Autopay mandates (代扣): a customer's standing instruction to debit a bound card on due dates.

:func:`create_mandate` needs an active ``autopay_debit`` consent (委托扣款授权书,
:class:`~lendcore.core.consent.ConsentKind`) at the instant it is given (``AUTOPAY_CONSENT_REQUIRED``:
no consent, no mandate; the consent is recorded through :func:`~lendcore.origination.onboarding.grant_consent`
like every other), on an active card bound to that customer (``CARD_NOT_FOUND`` otherwise: another
customer's card is not found either). A customer has at most one active ``primary`` and one active
``fallback`` mandate, each on its own card (``MANDATE_EXISTS``). :func:`revoke_mandate` ends one
(``MANDATE_NOT_FOUND``, ``MANDATE_NOT_ACTIVE``); the row stays as history. Both are audited.
The autopay run (:mod:`lendcore.batch.autopay`) reads :func:`active_mandates`; it also asks the
consent again on the day, so a revoked consent stops autopay even if the mandate was left active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.consent import ConsentKind, has_consent
from lendcore.core.errors import BusinessRuleError, ConflictError, NotFoundError
from lendcore.origination.onboarding import consent_records
from lendcore.store.audit import record_audit
from lendcore.store.models import BankCard, Customer
from lendcore.store.models_autopay import AutopayMandate


class MandateRole(StrEnum):
    PRIMARY = "primary"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class MandateView:
    id: str
    customer_id: str
    bank_card_id: str
    role: MandateRole
    status: str
    consent_version: str

    @classmethod
    def of(cls, row: AutopayMandate) -> MandateView:
        return cls(
            row.id, row.customer_id, row.bank_card_id, MandateRole(row.role), row.status, row.consent_version
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "customer_id": self.customer_id, "bank_card_id": self.bank_card_id,
            "role": self.role.value, "status": self.status, "consent_version": self.consent_version,
        }  # fmt: skip


def _consent_version(session: Session, customer_id: str, at: datetime) -> str | None:
    """The text version of the customer's active ``autopay_debit`` consent at ``at`` (None: none)."""
    records = consent_records(session, customer_id)
    if not has_consent(records, ConsentKind.AUTOPAY_DEBIT, at):
        return None
    kind = ConsentKind.AUTOPAY_DEBIT
    active = [
        r
        for r in records
        if r.kind is kind and r.granted_at <= at and (r.revoked_at is None or r.revoked_at > at)
    ]
    return active[-1].text_version


def has_autopay_consent(session: Session, customer_id: str, at: datetime) -> bool:
    return _consent_version(session, customer_id, at) is not None


def create_mandate(
    session: Session, customer_id: str, card_id: str, role: MandateRole, *, actor: str, at: datetime
) -> MandateView:
    """Mandate autopay on ``card_id`` (checked first; nothing is written on a refusal)."""
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
    card = session.get(BankCard, card_id, with_for_update=True)  # unbinding locks it too
    if card is None or card.customer_id != customer_id or card.status != "active":
        raise NotFoundError(
            f"no active card {card_id} bound to customer {customer_id}", code="CARD_NOT_FOUND"
        )
    version = _consent_version(session, customer_id, at)
    if version is None:
        raise BusinessRuleError(
            "autopay needs the customer's autopay_debit consent (委托扣款授权) first",
            code="AUTOPAY_CONSENT_REQUIRED",
        )
    active = session.scalars(
        select(AutopayMandate)
        .where(AutopayMandate.customer_id == customer_id, AutopayMandate.status == "active")
        .with_for_update()
    ).all()
    if any(m.role == role.value or m.bank_card_id == card_id for m in active):
        raise ConflictError(
            f"the customer already has an active {role.value} mandate or one on this card",
            code="MANDATE_EXISTS",
        )
    row = AutopayMandate(
        customer_id=customer_id, bank_card_id=card_id, role=role.value, status="active",
        consent_version=version, created_by=actor, created_at=at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_audit(
        session, actor=actor, action="autopay.mandate", target_type="autopay_mandate", target_id=row.id,
        details={"customer_id": customer_id, "role": role.value, "card_last4": card.last4}, at=at,
    )  # fmt: skip
    return MandateView.of(row)


def revoke_mandate(session: Session, mandate_id: str, *, actor: str, at: datetime) -> MandateView:
    row = session.get(AutopayMandate, mandate_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"mandate {mandate_id} not found", code="MANDATE_NOT_FOUND")
    if row.status != "active":
        raise BusinessRuleError(f"mandate {mandate_id} is already {row.status}", code="MANDATE_NOT_ACTIVE")
    row.status, row.revoked_at, row.revoked_by = "revoked", at, actor
    session.flush()
    record_audit(
        session, actor=actor, action="autopay.revoke", target_type="autopay_mandate", target_id=row.id,
        details={"customer_id": row.customer_id, "role": row.role}, at=at,
    )  # fmt: skip
    return MandateView.of(row)


def active_mandates(session: Session, customer_id: str) -> dict[MandateRole, AutopayMandate]:
    rows = session.scalars(
        select(AutopayMandate).where(
            AutopayMandate.customer_id == customer_id, AutopayMandate.status == "active"
        )
    ).all()
    return {MandateRole(r.role): r for r in rows}
