"""Customer sign-in by phone and one-time code (短信验证码).

* :func:`request_code`: a random 6-digit code for the phone, valid ``ttl`` (5 min), stored as an HMAC
  (never the code), keyed by the phone's blind index (never the number). One live code per phone: a
  new one replaces the old, at most one per ``resend_interval`` (``OTP_RESEND_TOO_SOON``, 429 with
  ``Retry-After``). The customer is looked up by the phone's blind index under **every** key of the
  ring (:meth:`PiiCipher.blind_indexes`), so a customer registered before a key rotation still signs
  in. An unknown (or closed) phone gets the same row, the same answer and the same throttle; only the
  sender is not called. Nothing tells a caller whether a phone has an account.
* :func:`verify_code`: every verification counts as an attempt; after ``max_attempts`` the code is dead;
  a code is used once. Wrong, expired, used-up or never-sent codes are all ``OTP_INVALID`` (401).

The sender is an :class:`OtpSender`; it is called inside the unit of work that stores the code, so a
real one should enqueue (a transactional outbox) rather than call an SMS gateway inline. The
:class:`DevelopmentOtpSink` logs the code and writes it to ``otp_outbox`` (:func:`outbox_messages`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lendcore.auth.errors import AuthenticationError, RateLimitedError
from lendcore.core.identity import normalize_phone
from lendcore.security.pii import PiiCipher, mask_phone
from lendcore.store.engine import for_update, unit_of_work
from lendcore.store.models import Customer
from lendcore.store.models_api import OtpCode, OtpOutboxMessage

log = logging.getLogger("lendcore.auth.otp")

F_PHONE = "phone"
CODE_DIGITS = 6


class OtpSender(Protocol):
    """Delivers a code to a phone (called in the unit of work that stores the code)."""

    def send(self, session: Session, *, phone: str, code: str, expires_at: datetime) -> None: ...


class DevelopmentOtpSink:
    """Development only: "sends" by logging the code and writing it to ``otp_outbox``."""

    def __init__(self, cipher: PiiCipher) -> None:
        self.cipher = cipher

    def send(self, session: Session, *, phone: str, code: str, expires_at: datetime) -> None:
        message = f"【lendcore】您的验证码是 {code}，5分钟内有效。Your lendcore code is {code}."
        session.add(
            OtpOutboxMessage(
                phone_hash=self.cipher.blind_index(F_PHONE, phone),
                phone_ciphertext=self.cipher.encrypt(F_PHONE, phone),
                message=message,
            )
        )
        session.flush()
        log.warning("development OTP sink: code %s for %s (not sent)", code, mask_phone(phone))


def outbox_messages(session: Session, cipher: PiiCipher, phone: str) -> Sequence[str]:
    """What the development sink wrote for ``phone``, oldest first."""
    hashes = cipher.blind_indexes(F_PHONE, normalize_phone(phone))
    return session.scalars(
        select(OtpOutboxMessage.message)
        .where(OtpOutboxMessage.phone_hash.in_(hashes))
        .order_by(OtpOutboxMessage.id)
    ).all()


@dataclass(frozen=True, slots=True)
class OtpPolicy:
    key: bytes  # what codes are hashed with
    ttl: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    resend_interval: timedelta = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class CodeSent:
    expires_in: int
    resend_in: int


def _code_hash(policy: OtpPolicy, phone_hash: str, code: str) -> str:
    return hmac.new(policy.key, f"{phone_hash}:{code}".encode(), hashlib.sha256).hexdigest()


def _customer_for(session: Session, cipher: PiiCipher, phone: str) -> Customer | None:
    customer = session.scalars(
        select(Customer).where(Customer.phone_hash.in_(cipher.blind_indexes(F_PHONE, phone))).limit(1)
    ).first()
    return customer if customer is not None and customer.status != "closed" else None


def _too_soon(sent_at: datetime, policy: OtpPolicy, now: datetime) -> RateLimitedError:
    wait = (sent_at + policy.resend_interval - now).total_seconds()
    return RateLimitedError(
        "a code was sent moments ago; wait before asking again",
        retry_after=math.ceil(max(wait, 1)),
        code="OTP_RESEND_TOO_SOON",
    )


def request_code(
    session: Session, *, cipher: PiiCipher, sender: OtpSender, policy: OtpPolicy, phone: str, now: datetime
) -> CodeSent:
    """Store a new code for ``phone`` and send it if the phone belongs to a customer (see module doc).
    ``INVALID_PHONE`` (422) for a number that is not a mainland mobile number."""
    number = normalize_phone(phone)
    phone_hash = cipher.blind_index(F_PHONE, number)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    values = {
        "code_hash": _code_hash(policy, phone_hash, code),
        "sent_at": now,
        "expires_at": now + policy.ttl,
        "attempts": 0,
        "consumed_at": None,
    }
    row = session.scalars(for_update(select(OtpCode).where(OtpCode.phone_hash == phone_hash))).first()
    if row is not None:
        if now < row.sent_at + policy.resend_interval:
            raise _too_soon(row.sent_at, policy, now)
        for name, value in values.items():
            setattr(row, name, value)
        session.flush()
    else:
        savepoint = session.begin_nested()
        try:
            session.add(OtpCode(phone_hash=phone_hash, **values))
            session.flush()
        except IntegrityError:  # a concurrent request for the same phone stored its code first
            savepoint.rollback()
            raise _too_soon(now, policy, now) from None
        savepoint.commit()
    customer = _customer_for(session, cipher, number)
    if customer is not None:
        sender.send(session, phone=number, code=code, expires_at=now + policy.ttl)
    return CodeSent(int(policy.ttl.total_seconds()), int(policy.resend_interval.total_seconds()))


def verify_code(
    factory: sessionmaker[Session],
    *,
    cipher: PiiCipher,
    policy: OtpPolicy,
    phone: str,
    code: str,
    now: datetime,
) -> str:
    """The id of the customer whose phone received ``code``; ``OTP_INVALID`` otherwise. The attempt is
    counted (committed) before a refusal is raised."""
    number = normalize_phone(phone)
    phone_hash = cipher.blind_index(F_PHONE, number)
    customer_id: str | None = None
    with unit_of_work(factory) as session:
        row = session.scalars(for_update(select(OtpCode).where(OtpCode.phone_hash == phone_hash))).first()
        if (
            row is not None
            and row.consumed_at is None
            and now < row.expires_at
            and row.attempts < policy.max_attempts
        ):
            row.attempts += 1
            if hmac.compare_digest(row.code_hash, _code_hash(policy, phone_hash, code)):
                row.consumed_at = now
                customer = _customer_for(session, cipher, number)
                customer_id = customer.id if customer is not None else None
            session.flush()
    if customer_id is None:
        raise AuthenticationError(
            "the code is wrong, expired or used up; ask for a new one", code="OTP_INVALID"
        )
    return customer_id
