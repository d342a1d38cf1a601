"""Origination tables: consents, applications, decisions, human reviews, blacklists, limit changes.

Same :class:`~lendcore.store.models.Base` (and naming convention) as the core schema; imported at the
bottom of :mod:`lendcore.store.models` so ``Base.metadata`` is complete. Migration ``0002_origination``.

* ``consents``: one row per grant; revoking sets ``revoked_at`` (a consent is never deleted).
* ``applications`` (``app_…``): the form as submitted (JSON, no PII: the person is the customer row),
  keyed hashes of the device / phone / ID for velocity and blacklist checks, the business date, and
  the idempotency key of the request that created it.
* ``decisions`` (``dec_…``): one per application; the columns queries need (outcome, grade, score,
  limit, rate, reason codes) plus the full replayable record (:func:`lendcore.risk.decision.to_record`),
  the score contributions and the champion/challenger result.
* ``review_requests`` (``rvw_…``): PIPL Art. 24 human review of a decision, with maker-checker on
  overrides (``proposed_by`` ≠ ``resolved_by``).
* ``blacklist_entries``: keyed hashes only (never the value), unique per kind.
* ``limit_changes``: every change of a line's limit or status, with its reason code and actor.
* ``drawdown_declines``: drawdown-time checks that declined (for the cooldown of the next check).
* ``blind_index_keys``: every blind-index key id stored hashes may use, with the key's fingerprint
  (migration ``0005_blind_index_keys``, which also added the ``hash_key_id`` columns: the key each
  row's hashes were made with).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import CODE, HASH, ID, KEY_ID, STATUS, Base, _one_of
from lendcore.store.types import BigIntPK, JSONDocument, utc_now

CONSENT_KINDS: Final = (
    "terms",
    "privacy",
    "credit_bureau_query",
    "funding_partner_sharing",
    "sensitive_personal_info",
    "autopay_debit",  # migration 0011_autopay_accounts
)
APPLICATION_STATUSES: Final = ("pending", "approved", "declined")
DECISION_OUTCOMES: Final = ("approved", "declined")
REVIEW_STATUSES: Final = ("queued", "proposed", "confirmed", "overridden")
BLACKLIST_KINDS: Final = ("id_number", "phone", "card_number", "device")
REASON = String(48)
ACTOR = String(64)


class Consent(Base):
    """One grant of one consent kind (with its text version and scope); ``revoked_at`` once revoked."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CONSENT_KINDS), name="kind"),
        CheckConstraint("revoked_at IS NULL OR revoked_at >= granted_at", name="revoked_after_granted"),
        Index(None, "customer_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(32))
    text_version: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(64), default="")
    granted_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class CreditApplication(Base):
    """A credit-line application (申请). ``form`` is the :class:`lendcore.risk.features.Application`
    as JSON (amounts in fen, no PII)."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("requested_amount > 0", name="requested_amount_positive"),
        CheckConstraint("term > 0", name="term_positive"),
        CheckConstraint(_one_of("status", APPLICATION_STATUSES), name="status"),
        Index(None, "customer_id", "applied_on"),
        Index(None, "id_number_hash", "applied_on"),
        Index(None, "phone_hash", "applied_on"),
        Index(None, "device_id_hash", "applied_on"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("app"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    product_code: Mapped[str] = mapped_column(CODE)
    requested_amount: Mapped[int] = mapped_column(BigInteger)
    term: Mapped[int] = mapped_column(Integer)
    device_id_hash: Mapped[str | None] = mapped_column(HASH)
    phone_hash: Mapped[str | None] = mapped_column(HASH)
    id_number_hash: Mapped[str | None] = mapped_column(HASH)
    hash_key_id: Mapped[str | None] = mapped_column(KEY_ID)  # key of the phone and ID hashes
    device_hash_key_id: Mapped[str | None] = mapped_column(KEY_ID)
    form: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(STATUS, default="pending")
    applied_on: Mapped[date] = mapped_column(Date)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class CreditDecision(Base):
    """The automated decision on one application, with everything needed to explain and replay it."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", DECISION_OUTCOMES), name="outcome"),
        CheckConstraint("credit_limit IS NULL OR credit_limit >= 0", name="credit_limit_non_negative"),
        CheckConstraint("daily_rate_ppm IS NULL OR daily_rate_ppm >= 0", name="daily_rate_non_negative"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("dec"))
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), unique=True)
    outcome: Mapped[str] = mapped_column(STATUS)
    grade: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[int | None] = mapped_column(Integer)
    credit_limit: Mapped[int | None] = mapped_column(BigInteger)
    daily_rate_ppm: Mapped[int | None] = mapped_column(BigInteger)
    reason_codes: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    retry_on: Mapped[date | None] = mapped_column(Date)
    model_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    strategy_id: Mapped[str] = mapped_column(String(64))
    strategy_version: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contributions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    challenger: Mapped[dict[str, Any] | None] = mapped_column()
    credit_line_id: Mapped[str | None] = mapped_column(ForeignKey("credit_lines.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utc_now)
    business_date: Mapped[date] = mapped_column(Date, index=True)


class ReviewRequest(Base):
    """A request for human review of an automated decision (PIPL Art. 24)."""

    __tablename__ = "review_requests"
    __table_args__ = (
        CheckConstraint(_one_of("status", REVIEW_STATUSES), name="status"),
        CheckConstraint("proposed_limit IS NULL OR proposed_limit > 0", name="proposed_limit_positive"),
        Index(None, "status", "requested_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("rvw"))
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)
    requested_by: Mapped[str] = mapped_column(ACTOR)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(STATUS, default="queued")
    proposed_by: Mapped[str | None] = mapped_column(ACTOR)
    proposed_at: Mapped[datetime | None] = mapped_column()
    proposed_limit: Mapped[int | None] = mapped_column(BigInteger)
    proposed_grade: Mapped[str | None] = mapped_column(String(8))
    resolved_by: Mapped[str | None] = mapped_column(ACTOR)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolution_note: Mapped[str | None] = mapped_column(Text)
    credit_line_id: Mapped[str | None] = mapped_column(ForeignKey("credit_lines.id"))


class BlacklistEntry(Base):
    """A blacklisted ID number, phone, card or device, by keyed hash only."""

    __tablename__ = "blacklist_entries"
    __table_args__ = (
        UniqueConstraint("kind", "value_hash"),
        CheckConstraint(_one_of("kind", BLACKLIST_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    value_hash: Mapped[str] = mapped_column(HASH)
    hash_key_id: Mapped[str | None] = mapped_column(KEY_ID)
    reason: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(ACTOR)
    added_at: Mapped[datetime] = mapped_column(default=utc_now)


class LimitChange(Base):
    """One change of a credit line's limit and/or status, with its reason."""

    __tablename__ = "limit_changes"
    __table_args__ = (
        CheckConstraint("old_limit >= 0 AND new_limit >= 0", name="limits_non_negative"),
        Index(None, "credit_line_id", "business_date"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    credit_line_id: Mapped[str] = mapped_column(ForeignKey("credit_lines.id"))
    old_limit: Mapped[int] = mapped_column(BigInteger)
    new_limit: Mapped[int] = mapped_column(BigInteger)
    old_status: Mapped[str] = mapped_column(STATUS)
    new_status: Mapped[str] = mapped_column(STATUS)
    reason_code: Mapped[str] = mapped_column(REASON)
    business_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(ACTOR)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class DrawdownDecline(Base):
    """A drawdown-time check that declined: the next check's cooldown starts from it."""

    __tablename__ = "drawdown_declines"
    __table_args__ = (Index(None, "credit_line_id", "business_date"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    credit_line_id: Mapped[str] = mapped_column(ForeignKey("credit_lines.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    business_date: Mapped[date] = mapped_column(Date)
    reason_codes: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    retry_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class BlindIndexKey(Base):
    """A blind-index key id that stored hashes may use, and the fingerprint of its key.

    Registered before the first hash is written with it; ``fingerprint`` is None only for ``h1`` on a
    database that had hashes before key ids existed, until the first start with a key ring verifies
    it. ``lendcore pii reindex`` removes the ids no stored hash uses any more."""

    __tablename__ = "blind_index_keys"

    key_id: Mapped[str] = mapped_column(KEY_ID, primary_key=True)
    fingerprint: Mapped[str | None] = mapped_column(HASH)
    registered_at: Mapped[datetime] = mapped_column(default=utc_now)
