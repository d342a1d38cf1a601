"""Onboarding (开户): register a customer with encrypted PII, bind cards, record consents.

:func:`register_customer` first checks the consents given with the request: each names a published
text version (``CONSENT_VERSION_UNKNOWN``), and the ID number and bank cards, sensitive personal
information (PIPL Art. 28), are not even looked at without the separate consent to process them
(Art. 29, ``SENSITIVE_CONSENT_REQUIRED``). It then validates the whole request
(:func:`lendcore.core.identity.validate_onboarding`: every bad field at once, code
``ONBOARDING_INVALID``), then checks duplicates
by keyed hash (``DUPLICATE_ID_NUMBER``, ``DUPLICATE_PHONE``, ``DUPLICATE_CARD``), and only then
writes: the customer (name, ID number and phone encrypted with AES-GCM, ID and phone blind indexes),
the bank cards (number encrypted, blind index, BIN, bank, last 4; the first card is the default) and
the consents given with the request. A rejected request writes nothing.

Consents are rows in ``consents``; :func:`grant_consent` adds one (a :class:`ConsentGrantRequest`, giving a
:class:`ConsentGranted`), :func:`revoke_consent` sets ``revoked_at`` on the active grants of a kind (a
:class:`ConsentRevocation`, giving a :class:`ConsentRevoked`). :func:`consent_records` turns the rows into
:class:`lendcore.core.consent.ConsentRecord` for the pure consent checks.

:func:`customer_view` returns masked fields only (name ``张*``, ID ``110***********1234``, phone
``138****5678``, cards first 6 / last 4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendcore.core.consent import (
    SENSITIVE_ONBOARDING_FIELDS,
    ConsentKind,
    ConsentRecord,
    ConsentTexts,
    require_sensitive_consent,
)
from lendcore.core.errors import BusinessRuleError, ConflictError, NotFoundError, ValidationError
from lendcore.core.identity import OnboardingRequest, validate_onboarding
from lendcore.core.records import JsonRecord
from lendcore.origination.blind_index import check_new_person
from lendcore.origination.consent_texts import default_consent_texts
from lendcore.security.pii import PiiCipher, mask_card_number, mask_id_number, mask_name, mask_phone
from lendcore.store.audit import record_audit
from lendcore.store.models import BankCard, CreditLine, Customer
from lendcore.store.models_origination import Consent
from lendcore.store.types import utc_now

# Field names used for encryption (associated data) and blind indexes.
F_NAME = "name"
F_ID = "id_number"
F_PHONE = "phone"
F_CARD = "card_number"
F_DEVICE = "device"


@dataclass(frozen=True, slots=True)
class ConsentGrant:
    """A consent given with a request: kind, the version of the text shown, optional scope."""

    kind: ConsentKind
    text_version: str
    scope: str = ""

    @classmethod
    def parse(cls, text: str, texts: ConsentTexts | None = None) -> ConsentGrant:
        """``KIND`` or ``KIND:VERSION`` (or ``KIND:VERSION:SCOPE``); ``INVALID_CONSENT_KIND``.
        Without a version: the latest published text of the kind (the one shown today)."""
        kind_text, _, rest = text.partition(":")
        version, _, scope = rest.partition(":")
        kind = parse_consent_kind(kind_text)
        return cls(kind, version or (texts or default_consent_texts()).latest(kind).version, scope)


def parse_consent_kind(text: str) -> ConsentKind:
    try:
        return ConsentKind(text.strip())
    except ValueError:
        allowed = ", ".join(k.value for k in ConsentKind)
        raise ValidationError(
            f"unknown consent kind {text!r}; kinds: {allowed}", code="INVALID_CONSENT_KIND"
        ) from None


def register_customer(
    session: Session,
    request: OnboardingRequest,
    *,
    business_date: date,
    cipher: PiiCipher,
    consents: Iterable[ConsentGrant] = (),
    at: datetime | None = None,
    actor: str = "customer",
    consent_texts: ConsentTexts | None = None,
) -> Customer:
    """Validate, de-duplicate and store a new customer with cards and consents (see module doc)."""
    grants = tuple(consents)
    now = at or utc_now()
    _check_grants(grants, consent_texts)
    sensitive = [f for f in SENSITIVE_ONBOARDING_FIELDS if getattr(request, f)]
    require_sensitive_consent(
        (ConsentRecord(g.kind, g.text_version, now, g.scope) for g in grants), now, sensitive
    )
    valid = validate_onboarding(request, business_date=business_date)
    # duplicates by blind index under every key of the ring (a key rotation lets no one in twice)
    hashes = check_new_person(session, cipher, valid)
    id_hash, phone_hash, cards = hashes.id_number, hashes.phone, hashes.cards

    customer = Customer(
        name_ciphertext=cipher.encrypt(F_NAME, valid.name),
        id_number_ciphertext=cipher.encrypt(F_ID, valid.resident_id.number),
        phone_ciphertext=cipher.encrypt(F_PHONE, valid.phone),
        id_number_hash=id_hash,
        phone_hash=phone_hash,
        hash_key_id=hashes.key_id,
        birth_date=valid.resident_id.birth_date,
        status="active",
    )
    session.add(customer)
    try:
        session.flush()
    except IntegrityError:  # a concurrent registration of the same person won the race
        raise ConflictError(
            "a customer with this ID number or phone is already registered", code="DUPLICATE_ID_NUMBER"
        ) from None
    for i, (card_hash, card) in enumerate(cards):
        session.add(
            BankCard(
                customer_id=customer.id,
                card_number_ciphertext=cipher.encrypt(F_CARD, card.number),
                card_number_hash=card_hash,
                hash_key_id=hashes.key_id,
                bin=card.number[:6],
                bank_name=card.bank,
                last4=card.number[-4:],
                is_default=i == 0,
                status="active",
            )
        )
    for grant in grants:
        session.add(
            Consent(
                customer_id=customer.id,
                kind=grant.kind.value,
                text_version=grant.text_version,
                scope=grant.scope,
                granted_at=now,
            )
        )
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="customer.registered",
        target_type="customer",
        target_id=customer.id,
        details={"cards": len(cards), "consents": sorted(g.kind.value for g in grants)},
        at=now,
    )
    return customer


def _check_grants(grants: Iterable[ConsentGrant], texts: ConsentTexts | None) -> None:
    """Every grant names a published text version (``CONSENT_TEXT_VERSION_REQUIRED``,
    ``CONSENT_VERSION_UNKNOWN``)."""
    registry = texts or default_consent_texts()
    for grant in grants:
        if not grant.text_version:
            raise ValidationError("consent text version is required", code="CONSENT_TEXT_VERSION_REQUIRED")
        registry.published(grant.kind, grant.text_version)


def _customer(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
    return customer


@dataclass(frozen=True, slots=True)
class ConsentGrantRequest:
    """A new grant of ``kind`` under a published text version (``actor``: by default the customer)."""

    customer_id: str
    kind: ConsentKind
    text_version: str
    scope: str = ""
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentGranted(JsonRecord):
    consent_id: int
    customer_id: str
    kind: ConsentKind
    text_version: str
    scope: str
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentRevocation:
    """Revoke the active grants of ``kind`` (only those of ``scope`` when given)."""

    customer_id: str
    kind: ConsentKind
    scope: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentRevoked(JsonRecord):
    customer_id: str
    kind: ConsentKind
    scope: str | None
    revoked_at: datetime
    consent_ids: tuple[int, ...]  # the grants revoked, oldest first


def grant_consent(
    session: Session,
    request: ConsentGrantRequest,
    *,
    at: datetime,
    consent_texts: ConsentTexts | None = None,
) -> ConsentGranted:
    """Record a new grant (a newer text version is a new grant; the old one stays as history).
    The version must be a published text of ``kind`` (``CONSENT_VERSION_UNKNOWN``)."""
    customer_id, kind, text_version, scope = (
        request.customer_id,
        request.kind,
        request.text_version,
        request.scope,
    )
    _customer(session, customer_id)
    _check_grants((ConsentGrant(kind, text_version, scope),), consent_texts)
    row = Consent(
        customer_id=customer_id, kind=kind.value, text_version=text_version, scope=scope, granted_at=at
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor=request.actor or customer_id,
        action="consent.granted",
        target_type="customer",
        target_id=customer_id,
        details={"kind": kind.value, "text_version": text_version, "scope": scope},
        at=at,
    )
    return ConsentGranted(row.id, customer_id, kind, text_version, scope, at)


def revoke_consent(session: Session, request: ConsentRevocation, *, at: datetime) -> ConsentRevoked:
    """Revoke every active grant of ``kind`` (of ``scope`` if given); ``CONSENT_NOT_ACTIVE`` if none."""
    customer_id, kind, scope = request.customer_id, request.kind, request.scope
    _customer(session, customer_id)
    query = select(Consent).where(
        Consent.customer_id == customer_id,
        Consent.kind == kind.value,
        Consent.revoked_at.is_(None),
        Consent.granted_at <= at,
    )
    if scope is not None:
        query = query.where(Consent.scope == scope)
    rows = session.scalars(query.order_by(Consent.id)).all()
    if not rows:
        raise BusinessRuleError(f"no active {kind.value} consent to revoke", code="CONSENT_NOT_ACTIVE")
    for row in rows:
        row.revoked_at = at
    session.flush()
    record_audit(
        session,
        actor=request.actor or customer_id,
        action="consent.revoked",
        target_type="customer",
        target_id=customer_id,
        details={"kind": kind.value, "scope": scope, "grants": len(rows)},
        at=at,
    )
    return ConsentRevoked(customer_id, kind, scope, at, tuple(row.id for row in rows))


def consent_records(session: Session, customer_id: str) -> tuple[ConsentRecord, ...]:
    """The customer's consent rows as pure :class:`ConsentRecord` values (for ``has_consent``)."""
    rows = session.scalars(
        select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.id)
    ).all()
    return tuple(
        ConsentRecord(ConsentKind(r.kind), r.text_version, r.granted_at, r.scope, r.revoked_at) for r in rows
    )


def customer_view(session: Session, customer_id: str, cipher: PiiCipher) -> dict[str, Any]:
    """The customer as shown to staff or the customer: masked PII, cards, consents, lines."""
    customer = _customer(session, customer_id)

    def dec(field: str, blob: bytes | None) -> str | None:
        return None if blob is None else cipher.decrypt(field, blob)

    name = dec(F_NAME, customer.name_ciphertext)
    id_number = dec(F_ID, customer.id_number_ciphertext)
    phone = dec(F_PHONE, customer.phone_ciphertext)
    cards = session.scalars(
        select(BankCard).where(BankCard.customer_id == customer_id).order_by(BankCard.created_at, BankCard.id)
    ).all()
    consents = session.scalars(
        select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.id)
    ).all()
    lines = session.scalars(
        select(CreditLine).where(CreditLine.customer_id == customer_id).order_by(CreditLine.id)
    ).all()
    return {
        "id": customer.id,
        "name": None if name is None else mask_name(name),
        "id_number": None if id_number is None else mask_id_number(id_number),
        "phone": None if phone is None else mask_phone(phone),
        "status": customer.status,
        "cards": [
            {
                "id": c.id,
                "number": mask_card_number(cipher.decrypt(F_CARD, c.card_number_ciphertext)),
                "bank": c.bank_name,
                "is_default": c.is_default,
                "status": c.status,
            }
            for c in cards
        ],
        "consents": [
            {
                "kind": c.kind,
                "text_version": c.text_version,
                "scope": c.scope,
                "granted_at": c.granted_at.isoformat(),
                "revoked_at": None if c.revoked_at is None else c.revoked_at.isoformat(),
            }
            for c in consents
        ],
        "credit_lines": [
            {
                "id": line.id,
                "product_code": line.product_code,
                "credit_limit": line.credit_limit,
                "pricing_grade": line.pricing_grade,
                "status": line.status,
            }
            for line in lines
        ],
    }
