"""A customer's data as one machine-readable JSON document (PIPL Art. 45: access and portability).

:func:`export_customer` gathers everything lendcore holds about one customer: the profile **decrypted**
(it is for the customer themself: name, ID number, phone, card numbers), consents, applications with
their answers and decisions with the reasons and the explanation, credit lines and their changes,
contracts with their current schedule and every transaction, payments, unapplied funds, bureau
records and disputes, collection contacts, and the privacy requests and restriction. Keyed hashes and
ciphertexts are internal and not exported.

It is the one place lendcore shows personal information unmasked, so every export appends an audit
record (``privacy.export``, the fields unmasked, who asked and through which channel) and a
``privacy_requests`` row, in the same transaction: an export without its audit record cannot exist.
The API serves it to the signed-in customer only (``GET /api/v1/me/export``); staff export for a
customer on request through the CLI (``lendcore privacy export``), audited with the staff id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.errors import NotFoundError, ValidationError
from lendcore.origination.explain import explain_decision
from lendcore.origination.onboarding import F_CARD, F_ID, F_NAME, F_PHONE
from lendcore.security.pii import PiiCipher
from lendcore.store.audit import record_audit
from lendcore.store.models import (
    BankCard,
    Base,
    Contract,
    CreditLine,
    Customer,
    LoanTransaction,
    Payment,
    ScheduleRow,
    UnappliedFunds,
)
from lendcore.store.models_origination import Consent, CreditApplication, CreditDecision, LimitChange
from lendcore.store.models_post import BureauDispute, BureauRecord, CollectionContact
from lendcore.store.models_privacy import PrivacyRequest, ProcessingRestriction

FORMAT: Final = "lendcore.customer-export"
VERSION: Final = 1
UNMASKED: Final = ("name", "id_number", "phone", "card_number")
#: Internal columns never exported: ciphertexts (exported decrypted instead), keyed hashes, key ids,
#: optimistic-locking versions, the contract's internal state snapshot.
_INTERNAL: Final = frozenset(
    {
        "name_ciphertext",
        "id_number_ciphertext",
        "phone_ciphertext",
        "card_number_ciphertext",
        "id_number_hash",
        "phone_hash",
        "card_number_hash",
        "device_id_hash",
        "hash_key_id",
        "device_hash_key_id",
        "version",
        "state",
        "last_replayed_seq",
    }
)


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _row(obj: Base, **extra: Any) -> dict[str, Any]:
    out = {
        c.key: jsonable(getattr(obj, c.key)) for c in obj.__mapper__.column_attrs if c.key not in _INTERNAL
    }
    out.update(extra)
    return out


def _rows(objs: Iterable[Base]) -> list[dict[str, Any]]:
    return [_row(o) for o in objs]


def _decrypt(cipher: PiiCipher, field: str, blob: bytes | None) -> str | None:
    return None if blob is None else cipher.decrypt(field, blob)


def _profile(session: Session, customer: Customer, cipher: PiiCipher) -> dict[str, Any]:
    cards = session.scalars(select(BankCard).where(BankCard.customer_id == customer.id).order_by(BankCard.id))
    return _row(
        customer,
        name=_decrypt(cipher, F_NAME, customer.name_ciphertext),
        id_number=_decrypt(cipher, F_ID, customer.id_number_ciphertext),
        phone=_decrypt(cipher, F_PHONE, customer.phone_ciphertext),
        cards=[_row(c, number=cipher.decrypt(F_CARD, c.card_number_ciphertext)) for c in cards],
    )


def _applications(session: Session, customer_id: str) -> list[dict[str, Any]]:
    out = []
    apps = session.scalars(
        select(CreditApplication)
        .where(CreditApplication.customer_id == customer_id)
        .order_by(CreditApplication.id)
    )
    for app in apps:
        decision = session.scalar(select(CreditDecision).where(CreditDecision.application_id == app.id))
        explained = None
        if decision is not None and "context" in (decision.record.get("inputs") or {}):
            explained = explain_decision(session, decision.id)
        shown = None if decision is None else _row(decision, explanation=explained)
        out.append(_row(app, decision=shown))
    return out


def _contracts(session: Session, customer_id: str) -> list[dict[str, Any]]:
    out = []
    for c in session.scalars(
        select(Contract).where(Contract.customer_id == customer_id).order_by(Contract.id)
    ):
        schedule = session.scalars(
            select(ScheduleRow)
            .where(ScheduleRow.contract_id == c.id, ScheduleRow.version == c.schedule_version)
            .order_by(ScheduleRow.period)
        )
        txns = session.scalars(
            select(LoanTransaction).where(LoanTransaction.contract_id == c.id).order_by(LoanTransaction.seq)
        )
        records = session.scalars(
            select(BureauRecord).where(BureauRecord.contract_id == c.id).order_by(BureauRecord.id)
        )
        disputes = session.scalars(
            select(BureauDispute).where(BureauDispute.contract_id == c.id).order_by(BureauDispute.id)
        )
        out.append(
            _row(
                c,
                schedule=_rows(schedule),
                transactions=_rows(txns),
                bureau_records=_rows(records),
                bureau_disputes=_rows(disputes),
            )
        )
    return out


def customer_export(session: Session, customer_id: str, cipher: PiiCipher) -> dict[str, Any]:
    """The document (writes nothing: :func:`export_customer` is the audited use case)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
    lines = session.scalars(
        select(CreditLine).where(CreditLine.customer_id == customer_id).order_by(CreditLine.id)
    ).all()
    changes = session.scalars(
        select(LimitChange)
        .where(LimitChange.credit_line_id.in_([x.id for x in lines]))
        .order_by(LimitChange.id)
    )
    unapplied = session.get(UnappliedFunds, customer_id)
    restriction = session.get(ProcessingRestriction, customer_id)

    def of(model: type[Base], column: Any, order: Any) -> list[dict[str, Any]]:
        return _rows(session.scalars(select(model).where(column == customer_id).order_by(order)))

    return {
        "format": FORMAT,
        "version": VERSION,
        "customer": _profile(session, customer, cipher),
        "consents": of(Consent, Consent.customer_id, Consent.id),
        "applications": _applications(session, customer_id),
        "credit_lines": _rows(lines),
        "limit_changes": _rows(changes),
        "contracts": _contracts(session, customer_id),
        "payments": of(Payment, Payment.customer_id, Payment.id),
        "unapplied_funds": 0 if unapplied is None else unapplied.balance,
        "collection_contacts": of(CollectionContact, CollectionContact.debtor_id, CollectionContact.id),
        "privacy_requests": of(PrivacyRequest, PrivacyRequest.customer_id, PrivacyRequest.id),
        "processing_restriction": None if restriction is None else _row(restriction),
    }


def export_customer(
    session: Session, customer_id: str, cipher: PiiCipher, *, actor: str, channel: str, on: date, at: datetime
) -> dict[str, Any]:
    """The customer's document, audited as an access to unmasked personal information."""
    if not actor.strip():
        raise ValidationError("an actor is required", code="ACTOR_REQUIRED")
    document = customer_export(session, customer_id, cipher)
    request = PrivacyRequest(
        customer_id=customer_id,
        kind="export",
        actor=actor,
        business_date=on,
        requested_at=at,
        details={"channel": channel, "unmasked": list(UNMASKED)},
    )
    session.add(request)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="privacy.export",
        target_type="customer",
        target_id=customer_id,
        details={"request_id": request.id, "channel": channel, "unmasked": list(UNMASKED)},
        at=at,
    )
    return {
        **document,
        "generated_at": at.isoformat(),
        "business_date": on.isoformat(),
        "request_id": request.id,
    }
