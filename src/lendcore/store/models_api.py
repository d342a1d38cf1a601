"""HTTP API tables: staff users, one-time codes, refresh tokens, stored responses, the OTP outbox.

Same :class:`~lendcore.store.models.Base` (and naming convention) as the core schema; imported at the
bottom of :mod:`lendcore.store.models` so ``Base.metadata`` is complete. Migration ``0006_api_auth``.

* ``staff_users`` (``stf_…``): username (lower case, unique), Argon2id hash, roles (JSON list),
  status. Created by ``lendcore admin create-user``.
* ``otp_codes``: one live one-time code per phone, keyed by the phone's blind index under the active
  key (never the number, never the code: an HMAC of it). A new code replaces the old one (the
  resend throttle is a conditional update of this row), so the table holds one row per phone that
  ever asked. Rows exist for unknown phones too: asking for a code answers alike either way.
* ``otp_outbox``: what the development OTP sender "sent" (phone encrypted, its blind index, the
  message): the inbox tests and a developer read. A production sender delivers instead.
* ``refresh_tokens``: opaque refresh tokens by SHA-256 hash, grouped in families (one login = one
  family); single use (``used_at``), revocable (``revoked_at``).
* ``api_idempotency``: the first response to a money-moving request, by (principal, method and
  route, ``Idempotency-Key``), with a fingerprint of the request; ``state`` is ``in_progress`` until the
  response is stored (``completed``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lendcore.store.ids import new_id
from lendcore.store.models import HASH, ID, STATUS, Base, _one_of
from lendcore.store.types import BigIntPK, JSONDocument, utc_now

STAFF_STATUSES: Final = ("active", "disabled")
SUBJECT_KINDS: Final = ("customer", "staff")
IDEMPOTENCY_STATES: Final = ("in_progress", "completed")


class StaffUser(Base):
    """A member of staff who signs in with a username and password; ``roles`` is a JSON list."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(_one_of("status", STAFF_STATUSES), name="status"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("stf"))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(STATUS, default="active")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    last_login_at: Mapped[datetime | None] = mapped_column()


class OtpCode(Base):
    """The live one-time code of one phone (by blind index): an HMAC of the code, its expiry and how
    many verifications it has had; ``consumed_at`` once used."""

    __tablename__ = "otp_codes"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_non_negative"),)

    phone_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    code_hash: Mapped[str] = mapped_column(HASH)
    sent_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column()


class OtpOutboxMessage(Base):
    """A message the development OTP sender wrote instead of sending it."""

    __tablename__ = "otp_outbox"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    phone_hash: Mapped[str] = mapped_column(HASH, index=True)
    phone_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class RefreshToken(Base):
    """One refresh token (by SHA-256 of its value) of one sign-in ``family``."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (CheckConstraint(_one_of("subject_kind", SUBJECT_KINDS), name="subject_kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(HASH, unique=True)
    family_id: Mapped[str] = mapped_column(String(40), index=True)
    subject_kind: Mapped[str] = mapped_column(STATUS)
    subject_id: Mapped[str] = mapped_column(ID)
    issued_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class ApiIdempotencyRecord(Base):
    """The stored first response to a request with an ``Idempotency-Key``."""

    __tablename__ = "api_idempotency"
    __table_args__ = (
        UniqueConstraint("principal", "route", "key"),
        CheckConstraint(_one_of("state", IDEMPOTENCY_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(80))
    route: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(HASH)
    state: Mapped[str] = mapped_column(STATUS, default="in_progress")
    status_code: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[list[list[str]] | None] = mapped_column(JSONDocument)  # [[name, value], …]
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column()
