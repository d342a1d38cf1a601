"""Bank cards after onboarding: bind another debit card, list the bound ones, unbind one.

:func:`bind_card` checks, in this order, and writes nothing on a refusal:

1. the customer exists and is active (``CUSTOMER_NOT_FOUND``, ``CUSTOMER_NOT_ACTIVE``);
2. a card number is sensitive personal information (PIPL Art. 28-29): it is not even parsed without
   an active ``sensitive_personal_info`` consent at that instant (``SENSITIVE_CONSENT_REQUIRED``);
3. the number as onboarding checks it (:func:`lendcore.core.identity.parse_bank_card`: 15-19 digits
   ``INVALID_CARD_NUMBER``, Luhn ``CARD_LUHN_MISMATCH``, a known BIN ``CARD_BIN_UNKNOWN``, debit only
   ``CARD_NOT_DEBIT``) and the holder is the customer (``CARD_NAME_MISMATCH``, when a holder is given);
4. duplicates by blind index under every key of the ring: bound to another customer
   ``DUPLICATE_CARD``, already bound to this one ``CARD_ALREADY_BOUND``;
5. at most :data:`MAX_ACTIVE_CARDS` active cards (``CARD_LIMIT_REACHED``).

The number is stored encrypted (AES-GCM) with its blind index, BIN, bank and last 4 digits; every view
is masked (first 6, last 4). A card unbound earlier and bound again reuses its row (one row per
customer and card: the table's unique constraint), re-encrypted under today's keys. The first active
card, or one bound with ``make_default``, is the default card (the one a drawdown pays out to).

:func:`unbind_card` sets the card ``unbound`` (the row stays: payments name it). Refused when an active
autopay mandate debits the card (``CARD_HAS_ACTIVE_MANDATE``: revoke the mandate first) or when it is
the customer's last active card (``CARD_LAST_ACTIVE``: a drawdown needs a card to pay out to; bind the
new card first). Unbinding the default makes the oldest remaining card the default. Unbinding a card
already unbound changes nothing and answers the card as it is (a retried DELETE is harmless); another
customer's card is ``CARD_NOT_FOUND``, exactly as one that does not exist.

Both lock the customer's row first, so two changes to one customer's cards run one after the other
(the card limit and the one default hold under concurrency); both are audited (masked: bank, last 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendcore.core.consent import require_sensitive_consent
from lendcore.core.errors import BusinessRuleError, ConflictError, NotFoundError
from lendcore.core.identity import check_card_holder, parse_bank_card
from lendcore.core.records import JsonRecord
from lendcore.origination.onboarding import F_CARD, F_NAME, consent_records
from lendcore.security.pii import PiiCipher, mask_card_number
from lendcore.store.audit import record_audit
from lendcore.store.models import BankCard, Customer
from lendcore.store.models_autopay import AutopayMandate

#: How many active cards a customer may hold (the onboarding API's limit too).
MAX_ACTIVE_CARDS: Final = 5


@dataclass(frozen=True, slots=True)
class BindCardRequest:
    """Bind ``number`` (as typed) to the customer; ``holder_name`` None: the customer's own card."""

    customer_id: str
    number: str
    holder_name: str | None = None
    make_default: bool = False
    actor: str | None = None  # default: the customer


@dataclass(frozen=True, slots=True)
class CardView(JsonRecord):
    """A bound card as anyone sees it: never the number, only its mask."""

    id: str
    number: str  # masked: first 6, last 4
    bank: str
    last4: str
    is_default: bool
    status: str
    created_at: datetime

    @classmethod
    def of(cls, row: BankCard, cipher: PiiCipher) -> CardView:
        number = mask_card_number(cipher.decrypt(F_CARD, row.card_number_ciphertext))
        return cls(row.id, number, row.bank_name, row.last4, row.is_default, row.status, row.created_at)


def _lock_customer(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id, with_for_update=True) if customer_id else None
    if customer is None:
        raise NotFoundError(f"customer {customer_id} not found", code="CUSTOMER_NOT_FOUND")
    return customer


def _active_cards(session: Session, customer_id: str) -> list[BankCard]:
    statement = (
        select(BankCard)
        .where(BankCard.customer_id == customer_id, BankCard.status == "active")
        .order_by(BankCard.created_at, BankCard.id)
    )
    return list(session.scalars(statement))


def _make_default(session: Session, customer_id: str, card: BankCard) -> None:
    """``card`` becomes the one default (the old default is cleared first: a partial unique index)."""
    for other in session.scalars(
        select(BankCard).where(BankCard.customer_id == customer_id, BankCard.is_default.is_(True))
    ):
        if other.id != card.id:
            other.is_default = False
    session.flush()
    card.is_default = True


def bind_card(session: Session, request: BindCardRequest, *, cipher: PiiCipher, at: datetime) -> CardView:
    """Bind a debit card to an active customer (checks and their order: module docstring)."""
    customer = _lock_customer(session, request.customer_id)
    if customer.status != "active":
        raise BusinessRuleError("the customer is not active", code="CUSTOMER_NOT_ACTIVE")
    require_sensitive_consent(consent_records(session, customer.id), at, ["cards"])
    card = parse_bank_card(request.number, require_debit=True)
    if request.holder_name is not None and customer.name_ciphertext is not None:
        check_card_holder(request.holder_name, cipher.decrypt(F_NAME, customer.name_ciphertext))
    hashes = cipher.blind_indexes(F_CARD, card.number)
    rows = session.scalars(select(BankCard).where(BankCard.card_number_hash.in_(hashes))).all()
    if any(r.customer_id != customer.id for r in rows):
        raise ConflictError("this bank card is bound to another customer", code="DUPLICATE_CARD")
    own = rows[0] if rows else None
    if own is not None and own.status == "active":
        raise ConflictError("this bank card is already bound", code="CARD_ALREADY_BOUND", card_id=own.id)
    active = _active_cards(session, customer.id)
    if len(active) >= MAX_ACTIVE_CARDS:
        raise BusinessRuleError(
            f"a customer holds at most {MAX_ACTIVE_CARDS} active cards: unbind one first",
            code="CARD_LIMIT_REACHED",
            limit=MAX_ACTIVE_CARDS,
        )
    row = own or BankCard(customer_id=customer.id, is_default=False, created_at=at)
    row.card_number_ciphertext = cipher.encrypt(F_CARD, card.number)
    row.card_number_hash, row.hash_key_id = hashes[0], cipher.hash_key_id
    row.bin, row.bank_name, row.last4, row.status = card.number[:6], card.bank, card.number[-4:], "active"
    if own is None:
        session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent bind of the same card (the customer lock makes it rare)
        raise ConflictError("this bank card is already bound", code="CARD_ALREADY_BOUND") from None
    if request.make_default or not any(c.is_default for c in active):
        _make_default(session, customer.id, row)
    session.flush()
    _audit(session, row, request.actor or customer.id, "card.bound", at, rebound=own is not None)
    return CardView.of(row, cipher)


def _audit(session: Session, row: BankCard, actor: str, action: str, at: datetime, **extra: object) -> None:
    record_audit(
        session,
        actor=actor,
        action=action,
        target_type="customer",
        target_id=row.customer_id,
        details={"card_id": row.id, "bank": row.bank_name, "last4": row.last4, **extra},
        at=at,
    )


def unbind_card(
    session: Session,
    customer_id: str,
    card_id: str,
    *,
    cipher: PiiCipher,
    at: datetime,
    actor: str | None = None,
) -> CardView:
    """Unbind one of the customer's cards (refusals: module docstring)."""
    _lock_customer(session, customer_id)
    row = session.get(BankCard, card_id, with_for_update=True) if card_id else None
    if row is None or row.customer_id != customer_id:
        raise NotFoundError("no such card", code="CARD_NOT_FOUND")
    if row.status != "active":
        return CardView.of(row, cipher)
    mandate = session.scalar(
        select(AutopayMandate.id).where(
            AutopayMandate.bank_card_id == row.id, AutopayMandate.status == "active"
        )
    )
    if mandate is not None:
        raise BusinessRuleError(
            "an active autopay mandate debits this card: revoke the mandate first",
            code="CARD_HAS_ACTIVE_MANDATE",
            mandate_id=mandate,
        )
    others = [c for c in _active_cards(session, customer_id) if c.id != row.id]
    if not others:
        raise BusinessRuleError(
            "this is the customer's last active card: bind the new card first", code="CARD_LAST_ACTIVE"
        )
    was_default = row.is_default
    row.status, row.is_default = "unbound", False
    session.flush()
    if was_default:
        others[0].is_default = True
        session.flush()
    _audit(session, row, actor or customer_id, "card.unbound", at, was_default=was_default)
    return CardView.of(row, cipher)


def list_cards(session: Session, customer_id: str, *, cipher: PiiCipher) -> list[CardView]:
    """The customer's active cards, oldest first (masked)."""
    return [CardView.of(row, cipher) for row in _active_cards(session, customer_id)]
