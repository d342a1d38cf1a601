"""Customers as staff list them: always masked (name ``张*``, phone ``138****5678``), never the ID
number; one read model for the back office's list page and the API's ``GET /staff/customers``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendcore.core.identity import normalize_phone
from lendcore.core.records import JsonRecord
from lendcore.security.pii import PiiCipher, mask_name, mask_phone
from lendcore.store.models import Customer


@dataclass(frozen=True, slots=True)
class CustomerRow(JsonRecord):
    id: str
    name: str | None  # masked
    phone: str | None  # masked
    status: str
    created_at: datetime

    @classmethod
    def of(cls, row: Customer, cipher: PiiCipher) -> CustomerRow:
        name = None if row.name_ciphertext is None else mask_name(cipher.decrypt("name", row.name_ciphertext))
        phone = (
            None
            if row.phone_ciphertext is None
            else mask_phone(cipher.decrypt("phone", row.phone_ciphertext))
        )
        return cls(row.id, name, phone, row.status, row.created_at)


def recent_customers(session: Session, cipher: PiiCipher, *, limit: int) -> list[CustomerRow]:
    """The ``limit`` most recently registered customers, newest first."""
    statement = select(Customer).order_by(Customer.created_at.desc(), Customer.id.desc()).limit(limit)
    return [CustomerRow.of(row, cipher) for row in session.scalars(statement)]


def find_by_phone(session: Session, cipher: PiiCipher, phone: str) -> list[CustomerRow]:
    """The customer with this mobile number, found by its blind index under every key of the ring
    (the number itself is never compared in clear); ``INVALID_PHONE`` for a number that is not one."""
    hashes = cipher.blind_indexes("phone", normalize_phone(phone))
    statement = select(Customer).where(Customer.phone_hash.in_(hashes))
    return [CustomerRow.of(row, cipher) for row in session.scalars(statement)]
